"""Answer files: answers generated elsewhere, keyed by (case id, turn), for a model that answers from a file.

Three formats are read as they are:
- bench's own JSONL: `{"case_id": ..., "turn": 1, "text": ..., "ttft_s", "latency_s", "output_tokens",
  "input_tokens", "model"}` (the last five optional; `turn` defaults to 1);
- Arena-Hard-Auto `model_answer/<model>.jsonl` rows: `uid`, `model`, `messages` whose assistant `content`
  is an object with `answer`, and `metadata.token_len`;
- AlpacaEval output lists: a JSON list (or JSONL) of `instruction`, `output`, `generator`;
- FastChat `model_answer` rows, as MT-bench writes them (and Arena-Hard before v2.0): `question_id`,
  `model_id`, `choices[0].turns`, one answer per turn (a string, or an object with `content`).

A row that cannot be read, or a second answer for the same (case id, turn), does not stop the reader:
it becomes a problem, and the caller decides (the case then counts as missing, never as answered).
Which cases are missing and which answers are for unknown cases is for the caller to say, with
`match_answers`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError
from .formats import alpaca_case_id, iter_json_rows, validation_problem

AnswerFormat = Literal["bench", "arena-hard", "alpaca-eval", "fastchat"]


@dataclass(frozen=True)
class AnswerRecord:
    case_id: str
    turn: int  # 1-based
    text: str
    model: str | None = None  # the name the file gives (Arena-Hard `model`, AlpacaEval `generator`)
    ttft_s: float | None = None  # None: not measured by bench and not given in the file
    latency_s: float | None = None
    output_tokens: int | None = None  # Arena-Hard: `metadata.token_len`, counted by its own tokenizer
    input_tokens: int | None = None
    line: int = 0


@dataclass(frozen=True)
class AnswerProblem:
    path: str
    line: int | None
    key: str | None
    message: str
    kind: Literal["malformed", "duplicate", "mixed_models"] = "malformed"

    def error(self) -> ConfigError:
        return ConfigError(self.message, path=self.path, line=self.line, key=self.key)

    def __str__(self) -> str:
        return str(self.error())


@dataclass
class AnswerFile:
    path: str
    format: AnswerFormat
    sha256: str  # of the file's bytes: what a model answering from this file is
    answers: dict[tuple[str, int], AnswerRecord] = field(default_factory=dict)
    problems: list[AnswerProblem] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # names the rows give, in order of appearance


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _BenchAnswer(_Strict):
    case_id: str | int
    turn: int = Field(1, ge=1)
    text: str
    ttft_s: float | None = Field(None, ge=0)
    latency_s: float | None = Field(None, ge=0)
    output_tokens: int | None = Field(None, ge=0)
    input_tokens: int | None = Field(None, ge=0)
    model: str | None = Field(None, min_length=1)  # a file holding the answers of several models


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # public formats carry bookkeeping keys


class _ArenaMessage(_Loose):
    role: str
    content: str | dict[str, Any]  # v2.0 assistant content: {"answer": ...}


class _ArenaMetadata(_Loose):
    token_len: int | None = Field(None, ge=0)


class _ArenaAnswer(_Loose):
    uid: str = Field(min_length=1)
    model: str = Field(min_length=1)
    messages: list[_ArenaMessage] = Field(min_length=1)
    metadata: _ArenaMetadata | None = None


class _AlpacaOutput(_Loose):
    instruction: str = Field(min_length=1)
    output: str
    generator: str | None = None


class _FastChatChoice(_Loose):
    turns: list[Any] = Field(min_length=1)  # a string, or {"content": ..., "token_len": ...}; see _fastchat_turn


class _FastChatAnswer(_Loose):
    question_id: int | str
    model_id: str | None = None
    choices: list[_FastChatChoice] = Field(min_length=1)


def _detect_format(row: dict) -> AnswerFormat | None:
    if "case_id" in row:
        return "bench"
    if "uid" in row and "messages" in row:
        return "arena-hard"
    if "instruction" in row and "output" in row:
        return "alpaca-eval"
    if "question_id" in row and "choices" in row:
        return "fastchat"
    return None


def _records(fmt: AnswerFormat, row: dict, lineno: int) -> list[AnswerRecord]:
    """The answers of one row; raises ValidationError or ValueError (with a key) on a malformed row."""
    if fmt == "bench":
        r = _BenchAnswer.model_validate(row)
        return [AnswerRecord(str(r.case_id), r.turn, r.text, r.model, r.ttft_s, r.latency_s, r.output_tokens,
                             r.input_tokens, lineno)]
    if fmt == "arena-hard":
        r = _ArenaAnswer.model_validate(row)
        replies = [(i, m) for i, m in enumerate(r.messages) if m.role == "assistant"]
        if not replies:
            raise _KeyedProblem("messages", "no assistant message")
        # token_len counts the answer of a one-turn conversation; with several turns it is not per turn.
        tokens = r.metadata.token_len if r.metadata and len(replies) == 1 else None
        return [AnswerRecord(r.uid, turn, _arena_text(i, m), r.model, output_tokens=tokens, line=lineno)
                for turn, (i, m) in enumerate(replies, start=1)]
    if fmt == "fastchat":
        r = _FastChatAnswer.model_validate(row)
        records = []
        for turn, value in enumerate(r.choices[0].turns, start=1):
            text, tokens = _fastchat_turn(turn, value)
            records.append(AnswerRecord(str(r.question_id), turn, text, r.model_id, output_tokens=tokens, line=lineno))
        return records
    r = _AlpacaOutput.model_validate(row)
    return [AnswerRecord(alpaca_case_id(r.instruction), 1, r.output, r.generator, line=lineno)]


def _fastchat_turn(turn: int, value: Any) -> tuple[str, int | None]:
    """(text, token count) of one FastChat turn: a string, or an object with `content` (and `token_len`)."""
    key = f"choices.0.turns.{turn - 1}"
    if isinstance(value, str):
        return value, None
    if not isinstance(value, dict) or not isinstance(value.get("content"), str):
        raise _KeyedProblem(key, "expected a string or an object with a string 'content'")
    tokens = value.get("token_len")
    if tokens is not None and (not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0):
        raise _KeyedProblem(f"{key}.token_len", "expected a whole number of tokens")
    return value["content"], tokens


def _arena_text(index: int, message: _ArenaMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    answer = message.content.get("answer")
    if not isinstance(answer, str):
        raise _KeyedProblem(f"messages.{index}.content.answer",
                            "missing required field" if answer is None else "expected a string")
    return answer


class _KeyedProblem(ValueError):
    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key, self.message = key, message


def read_answers(path: Path, format: AnswerFormat | Literal["auto"] = "auto", model: str | None = None) -> AnswerFile:
    """Every answer in the file, keyed by (case id, turn), and the problems found on the way.

    `model` keeps only the rows of that model (the name a row gives: Arena-Hard `model`, AlpacaEval
    `generator`, FastChat `model_id`, bench `model`); `models` still lists every name in the file.
    Raises ConfigError only when the file as a whole cannot be used: missing, not JSON lines or a
    JSON list, no answer row at all (of `model`, when given), or (with `format="auto"`) a first row of
    no known format.
    """
    path = Path(path)
    where = str(path)
    fmt: AnswerFormat | None = None if format == "auto" else format
    result: AnswerFile | None = None
    first_line: dict[tuple[str, int], int] = {}
    problems: list[AnswerProblem] = []
    named: list[str] = []  # every model name the rows give
    for lineno, row in iter_json_rows(path, "answers file"):
        if isinstance(row, ConfigError):
            problems.append(AnswerProblem(where, lineno, None, row.detail))
            continue
        if not isinstance(row, dict):
            problems.append(AnswerProblem(where, lineno, None, "expected a JSON object"))
            continue
        if fmt is None:
            fmt = _detect_format(row)
            if fmt is None:
                raise ConfigError("cannot tell the answer format: expected case_id and text (bench), uid and "
                                  "messages (Arena-Hard), instruction and output (AlpacaEval) or question_id "
                                  "and choices (FastChat, MT-bench)",
                                  path=where, line=lineno)
        try:
            records = _records(fmt, row, lineno)
        except ValidationError as exc:
            key, message = validation_problem(exc)
            problems.append(AnswerProblem(where, lineno, key, message))
            continue
        except _KeyedProblem as exc:
            problems.append(AnswerProblem(where, lineno, exc.key, exc.message))
            continue
        names = [r.model for r in records if r.model]
        if names and names[0] not in named:
            named.append(names[0])
        if model is not None and (not names or names[0] != model):
            continue
        if result is None:
            result = AnswerFile(where, fmt, _sha256(path))
        for record in records:
            key = (record.case_id, record.turn)
            if key in result.answers:
                problems.append(AnswerProblem(
                    where, lineno, None, f"a second answer for case {record.case_id} turn {record.turn} "
                    f"(first on line {first_line[key]}); the first is kept", "duplicate"))
                continue
            result.answers[key], first_line[key] = record, lineno
            if record.model and record.model not in result.models:
                result.models.append(record.model)
    if result is None:
        if problems:
            raise problems[0].error()
        if model is not None:
            raise ConfigError(f"no answers of model '{model}' in the file (models named: "
                              f"{', '.join(named) or 'none'})", path=where)
        raise ConfigError("no answers in the file", path=where)
    result.models = named
    if len(result.models) > 1 and model is None:
        problems.append(AnswerProblem(where, None, None, f"answers of {len(result.models)} models in one file: "
                                      f"{', '.join(result.models)}", "mixed_models"))
    result.problems = problems
    return result


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def match_answers(answers: AnswerFile, expected: Iterable[tuple[str, int]]) -> tuple[list[tuple[str, int]],
                                                                                    list[tuple[str, int]]]:
    """(missing, unknown): expected (case id, turn) pairs the file has no answer for, in the order given,
    and answers in the file for pairs that were not expected, in file order."""
    expected = list(expected)
    wanted = set(expected)
    missing = [key for key in expected if key not in answers.answers]
    unknown = [key for key in answers.answers if key not in wanted]
    return missing, unknown


def answer_summary(answers: AnswerFile) -> dict[str, Any]:
    """Counts for a log line or a report: rows read, problems by kind, models named."""
    kinds: dict[str, int] = {}
    for problem in answers.problems:
        kinds[problem.kind] = kinds.get(problem.kind, 0) + 1
    return {"format": answers.format, "answers": len(answers.answers), "problems": kinds, "models": answers.models}
