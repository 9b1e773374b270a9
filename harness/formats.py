"""Readers for public evaluation formats: IFEval, MT-bench, Arena-Hard v2.0, AlpacaEval (answer files: `answer_files.py`).

Each reader takes a path and returns plain rows. A bad row raises `ConfigError` naming the file, the
line and the key. These are other projects' formats: keys a reader does not use are ignored (the
public files carry bookkeeping such as `answer_id` or `tstamp`), but every key it uses is checked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .checks import IFEVAL_INSTRUCTION_IDS, parse_check, unknown_check_message
from .errors import ConfigError


# ---------------------------------------------------------------- reading rows

def iter_json_rows(path: Path, what: str) -> Iterator[tuple[int, Any]]:
    """(line, value) for each row of a JSONL file, or each element of a file holding one JSON list.

    A line that is not JSON yields a `ConfigError` as its value, so that a caller collecting
    problems can go on; `read_json_rows` raises it instead.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the first row
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(path)) from None
    if text.lstrip().startswith("["):
        yield from _json_list_rows(text, path)
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            yield lineno, ConfigError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=str(path), line=lineno)


def _json_list_rows(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    # Decoded element by element so that each row keeps the line it starts on.
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    while True:
        position = _skip_space(text, position)
        if position < len(text) and text[position] == "]":
            if text[position + 1:].strip():
                raise ConfigError("text after the closing ']'", path=str(path), line=_line_of(text, position + 1))
            return
        lineno = _line_of(text, position)
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc.msg}", path=str(path), line=exc.lineno) from None
        yield lineno, value
        position = _skip_space(text, position)
        if position < len(text) and text[position] == ",":
            position += 1
        elif position >= len(text) or text[position] != "]":
            raise ConfigError("invalid JSON: expected ',' or ']' after a list element", path=str(path),
                              line=_line_of(text, min(position, len(text))))


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def read_json_rows(path: Path, what: str) -> Iterator[tuple[int, dict]]:
    """Like `iter_json_rows`, raising on bad JSON or a row that is not an object."""
    for lineno, row in iter_json_rows(path, what):
        if isinstance(row, ConfigError):
            raise row
        if not isinstance(row, dict):
            raise ConfigError("expected a JSON object", path=str(path), line=lineno)
        yield lineno, row


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def validation_problem(exc: ValidationError, prefix: str = "") -> tuple[str | None, str]:
    """(dotted key, one-line message) of the first error, in the words config errors use."""
    err = exc.errors(include_url=False)[0]
    key = ".".join(str(p) for p in err["loc"]) or None
    if prefix:
        key = f"{prefix}.{key}" if key else prefix
    messages = {"extra_forbidden": "unknown key", "missing": "missing required field"}
    return key, messages.get(err["type"], err["msg"].removeprefix("Value error, "))


def validate_row(model: type[BaseModel], row: dict, path: Path, lineno: int):
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        key, message = validation_problem(exc)
        raise ConfigError(message, path=str(path), line=lineno, key=key) from None


def _no_rows(path: Path, what: str) -> ConfigError:
    return ConfigError(f"no {what} in the file", path=str(path))


# ---------------------------------------------------------------- IFEval

@dataclass(frozen=True)
class IFEvalInstruction:
    instruction_id: str  # e.g. "punctuation:no_comma"
    criterion_id: str  # unique in its prompt: the instruction id, "#2", "#3" added to a repeated one
    kwargs: dict[str, Any]
    spec: Any  # the validated check spec, for harness.checks.run


@dataclass(frozen=True)
class IFEvalPrompt:
    case_id: str  # the row's `key`
    prompt: str
    instructions: tuple[IFEvalInstruction, ...]
    line: int


class _IFEvalRow(_Row):
    key: int | str
    prompt: str = Field(min_length=1)
    instruction_id_list: list[str] = Field(min_length=1)
    kwargs: list[dict[str, Any]]


def read_ifeval(path: Path) -> list[IFEvalPrompt]:
    """IFEval `input_data.jsonl`: `key`, `prompt`, `instruction_id_list`, `kwargs` (one dict per instruction).

    A kwarg whose value is null is left out: exports of the data set that fill every kwarg of every
    instruction (the Hugging Face copy) then read the same as the original file.
    """
    path = Path(path)
    prompts: list[IFEvalPrompt] = []
    seen: dict[str, int] = {}
    for lineno, raw in read_json_rows(path, "IFEval file"):
        row = validate_row(_IFEvalRow, raw, path, lineno)
        case_id = str(row.key)
        if case_id in seen:
            raise ConfigError(f"duplicate key {case_id} (first on line {seen[case_id]})", path=str(path),
                              line=lineno, key="key")
        seen[case_id] = lineno
        if len(row.kwargs) != len(row.instruction_id_list):
            raise ConfigError(f"{len(row.kwargs)} kwargs for {len(row.instruction_id_list)} instructions",
                              path=str(path), line=lineno, key="kwargs")
        instructions = []
        repeats: dict[str, int] = {}
        for i, (instruction_id, kwargs) in enumerate(zip(row.instruction_id_list, row.kwargs)):
            if instruction_id not in IFEVAL_INSTRUCTION_IDS:
                raise ConfigError(unknown_check_message(instruction_id).replace("check type", "instruction id"),
                                  path=str(path), line=lineno, key=f"instruction_id_list.{i}")
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            if "type" in kwargs:
                raise ConfigError("unknown key", path=str(path), line=lineno, key=f"kwargs.{i}.type")
            try:
                spec = parse_check({"type": instruction_id, **kwargs})
            except ValidationError as exc:
                key, message = validation_problem(exc, prefix=f"kwargs.{i}")
                raise ConfigError(message, path=str(path), line=lineno, key=key) from None
            repeats[instruction_id] = repeats.get(instruction_id, 0) + 1
            n = repeats[instruction_id]
            criterion_id = instruction_id if n == 1 else f"{instruction_id}#{n}"
            instructions.append(IFEvalInstruction(instruction_id, criterion_id, kwargs, spec))
        prompts.append(IFEvalPrompt(case_id, row.prompt, tuple(instructions), lineno))
    if not prompts:
        raise _no_rows(path, "prompts")
    return prompts


# ---------------------------------------------------------------- MT-bench

@dataclass(frozen=True)
class MTBenchQuestion:
    case_id: str  # str(question_id)
    question_id: int
    category: str
    turns: tuple[str, ...]  # the user turns, asked in order
    references: tuple[str | None, ...] | None  # per turn, from the reference answers file; None: no file
    reference_notes: tuple[str | None, ...] | None  # per turn, the question row's own `reference` hints
    line: int


class _MTBenchRow(_Row):
    question_id: int
    category: str = Field(min_length=1)
    turns: list[str] = Field(min_length=1)
    reference: list[str] | None = None

    @field_validator("turns")
    @classmethod
    def _no_empty_turn(cls, turns: list[str]) -> list[str]:
        for i, turn in enumerate(turns):
            if not turn.strip():
                raise ValueError(f"turn {i + 1} is empty")
        return turns


class _Choice(_Row):
    turns: list[str] = Field(min_length=1)


class _MTBenchReferenceRow(_Row):
    question_id: int
    choices: list[_Choice] = Field(min_length=1)


def _per_turn(values: list[str], n_turns: int) -> tuple[str | None, ...]:
    # An empty string in the public files means "no reference for this turn".
    padded = list(values) + [""] * (n_turns - len(values))
    return tuple(v if v.strip() else None for v in padded)


def read_mtbench(questions: Path, references: Path | None = None) -> list[MTBenchQuestion]:
    """MT-bench `question.jsonl` (+ optionally a reference answers file such as `reference_answer/gpt-4.jsonl`).

    Every reference row must belong to a question of the file; its `choices[0].turns` are the per-turn
    reference answers.
    """
    questions = Path(questions)
    rows: dict[int, tuple[int, _MTBenchRow]] = {}
    for lineno, raw in read_json_rows(questions, "MT-bench questions file"):
        row = validate_row(_MTBenchRow, raw, questions, lineno)
        if row.question_id in rows:
            raise ConfigError(f"duplicate question_id {row.question_id} (first on line {rows[row.question_id][0]})",
                              path=str(questions), line=lineno, key="question_id")
        if row.reference is not None and len(row.reference) > len(row.turns):
            raise ConfigError(f"{len(row.reference)} references for {len(row.turns)} turns", path=str(questions),
                              line=lineno, key="reference")
        rows[row.question_id] = (lineno, row)
    if not rows:
        raise _no_rows(questions, "questions")
    answers = _read_mtbench_references(Path(references), rows) if references is not None else None
    return [MTBenchQuestion(
        case_id=str(qid), question_id=qid, category=row.category, turns=tuple(row.turns),
        references=None if answers is None else _per_turn(answers.get(qid, []), len(row.turns)),
        reference_notes=None if row.reference is None else _per_turn(row.reference, len(row.turns)),
        line=lineno) for qid, (lineno, row) in rows.items()]


def _read_mtbench_references(path: Path, questions: dict[int, tuple[int, _MTBenchRow]]) -> dict[int, list[str]]:
    answers: dict[int, list[str]] = {}
    lines: dict[int, int] = {}
    for lineno, raw in read_json_rows(path, "MT-bench reference file"):
        row = validate_row(_MTBenchReferenceRow, raw, path, lineno)
        qid = row.question_id
        if qid not in questions:
            raise ConfigError(f"question_id {qid} is not in the questions file", path=str(path), line=lineno,
                              key="question_id")
        if qid in answers:
            raise ConfigError(f"duplicate question_id {qid} (first on line {lines[qid]})", path=str(path),
                              line=lineno, key="question_id")
        turns = row.choices[0].turns
        n_turns = len(questions[qid][1].turns)
        if len(turns) > n_turns:
            raise ConfigError(f"{len(turns)} reference turns for a question of {n_turns}", path=str(path),
                              line=lineno, key="choices.0.turns")
        answers[qid], lines[qid] = turns, lineno
    return answers


# ---------------------------------------------------------------- Arena-Hard v2.0

@dataclass(frozen=True)
class ArenaHardQuestion:
    case_id: str  # the row's `uid`
    category: str
    subcategory: str
    prompt: str
    line: int


class _ArenaHardRow(_Row):
    uid: str = Field(min_length=1)
    category: str = Field(min_length=1)
    subcategory: str = Field(min_length=1)
    prompt: str = Field(min_length=1)


def read_arena_hard(path: Path) -> list[ArenaHardQuestion]:
    """Arena-Hard-Auto v2.0 `question.jsonl`: `uid`, `category`, `subcategory`, `prompt`."""
    path = Path(path)
    questions: list[ArenaHardQuestion] = []
    seen: dict[str, int] = {}
    for lineno, raw in read_json_rows(path, "Arena-Hard questions file"):
        row = validate_row(_ArenaHardRow, raw, path, lineno)
        if row.uid in seen:
            raise ConfigError(f"duplicate uid {row.uid} (first on line {seen[row.uid]})", path=str(path),
                              line=lineno, key="uid")
        seen[row.uid] = lineno
        questions.append(ArenaHardQuestion(row.uid, row.category, row.subcategory, row.prompt, lineno))
    if not questions:
        raise _no_rows(path, "questions")
    return questions


# ---------------------------------------------------------------- AlpacaEval

def alpaca_case_id(instruction: str) -> str:
    """AlpacaEval rows have no id; outputs are matched to the evaluation set by their instruction text."""
    return "ae-" + hashlib.sha256(instruction.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class AlpacaEvalInstruction:
    case_id: str  # alpaca_case_id(instruction)
    instruction: str
    reference: str  # the row's `output`: the baseline answer the win rate is measured against
    generator: str | None  # who wrote the reference
    dataset: str | None
    line: int


class _AlpacaEvalRow(_Row):
    instruction: str = Field(min_length=1)
    output: str
    generator: str | None = None
    dataset: str | None = None


def read_alpaca_eval(path: Path) -> list[AlpacaEvalInstruction]:
    """AlpacaEval's evaluation set: a JSON list (or JSONL) of `instruction`, `output`, `generator`, `dataset`."""
    path = Path(path)
    rows: list[AlpacaEvalInstruction] = []
    seen: dict[str, int] = {}
    for lineno, raw in read_json_rows(path, "AlpacaEval file"):
        row = validate_row(_AlpacaEvalRow, raw, path, lineno)
        case_id = alpaca_case_id(row.instruction)
        if case_id in seen:
            raise ConfigError(f"duplicate instruction (first on line {seen[case_id]})", path=str(path),
                              line=lineno, key="instruction")
        seen[case_id] = lineno
        rows.append(AlpacaEvalInstruction(case_id, row.instruction, row.output, row.generator, row.dataset, lineno))
    if not rows:
        raise _no_rows(path, "instructions")
    return rows
