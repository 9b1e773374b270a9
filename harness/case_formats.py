"""The suite's `case_format`: how a cases file becomes `Case`s.

    bench         bench's own JSONL (harness.cases)
    healthbench   HealthBench rows: each example's rubric becomes its criteria (harness.cases)
    ifeval        IFEval `input_data.jsonl`: one user message; each instruction a criterion graded by its
                  IFEval check, the criterion id the instruction id, the case id the row's `key`
    mtbench       MT-bench `question.jsonl`: two user turns asked live, the category as a tag, the per-turn
                  reference answers from the suite's `references` file
    arena-hard    Arena-Hard-Auto v2.0 `question.jsonl`: the prompt, category and subcategory as tags
    alpaca-eval   AlpacaEval's evaluation set: the instruction, with the set's output as the reference

The public formats are read by harness.formats, which checks every key it uses; a bad row stops the suite with
one line naming the file, the row and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .cases import Case, load_cases, load_healthbench, validate_row
from .errors import ConfigError
from .formats import read_alpaca_eval, read_arena_hard, read_ifeval, read_mtbench
from .rubric import Rubric

IFEVAL_AXIS = "instruction_following"


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def load_ifeval(path: Path) -> list[Case]:
    """Each instruction is worth one point: a case's score is the share of its instructions followed (strict)."""
    cases = []
    for prompt in read_ifeval(path):
        criteria = [{"id": ins.criterion_id, "text": _instruction_text(ins.instruction_id, ins.kwargs), "points": 1,
                     "axis": IFEVAL_AXIS, "check": ins.spec.model_dump()} for ins in prompt.instructions]
        cases.append(validate_row(Case, {"id": prompt.case_id, "messages": _user(prompt.prompt),
                                         "criteria": criteria, "meta": {"format": "ifeval"}}, path, prompt.line))
    return cases


def _instruction_text(instruction_id: str, kwargs: dict[str, Any]) -> str:
    """What the instruction asks, for people reading the report: its id and its arguments."""
    if not kwargs:
        return instruction_id
    return f"{instruction_id} ({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def load_mtbench(path: Path, references: Path | None = None) -> list[Case]:
    cases = []
    for q in read_mtbench(path, references):
        refs = list(q.references) if q.references is not None else None
        meta: dict[str, Any] = {"format": "mtbench", "category": q.category}
        if q.reference_notes is not None:
            meta["reference_notes"] = list(q.reference_notes)
        cases.append(validate_row(Case, {
            "id": q.case_id, "messages": _user(q.turns[0]), "turns": list(q.turns[1:]), "tags": [q.category],
            "reference": refs[0] if refs else None, "turn_references": refs, "meta": meta}, path, q.line))
    return cases


def load_arena_hard(path: Path) -> list[Case]:
    return [validate_row(Case, {"id": q.case_id, "messages": _user(q.prompt), "tags": [q.category, q.subcategory],
                                "meta": {"format": "arena-hard", "category": q.category,
                                         "subcategory": q.subcategory}}, path, q.line)
            for q in read_arena_hard(path)]


def load_alpaca_eval(path: Path) -> list[Case]:
    """The set's `output` is the reference the win rate is measured against; the case id is derived from the
    instruction (AlpacaEval rows have none), the same way answer files are matched to it."""
    return [validate_row(Case, {"id": row.case_id, "messages": _user(row.instruction),
                                "tags": [row.dataset] if row.dataset else [], "reference": row.reference,
                                "meta": {"format": "alpaca-eval", "generator": row.generator,
                                         "dataset": row.dataset}}, path, row.line)
            for row in read_alpaca_eval(path)]


CASE_READERS: dict[str, Callable[..., list[Case]]] = {
    "bench": load_cases, "healthbench": load_healthbench, "ifeval": load_ifeval, "mtbench": load_mtbench,
    "arena-hard": load_arena_hard, "alpaca-eval": load_alpaca_eval,
}
CASE_FORMATS = tuple(CASE_READERS)
# Suite keys that only some formats read; any other format given one is an error, not a silent no-op.
FORMAT_KEYS = {"references": ("mtbench",)}


def read_suite_cases(case_format: str, cases_path: Path, *, references: Path | None, suite_path: Path,
                     lines: dict[tuple, int]) -> list[Case]:
    """The suite's cases in its format; `references` (a path beside the suite) only where the format reads it."""
    if not cases_path.is_file():
        problem = "is a folder, not a cases file" if cases_path.is_dir() else "not found"
        raise ConfigError(f"{cases_path} {problem}", path=str(suite_path), line=lines.get(("cases",)), key="cases")
    if references is not None and case_format not in FORMAT_KEYS["references"]:
        raise ConfigError(f"'references' is read only by case_format {', '.join(FORMAT_KEYS['references'])} (this "
                          f"suite's is {case_format})", path=str(suite_path), line=lines.get(("references",)),
                          key="references")
    if references is not None:
        if not references.is_file():
            raise ConfigError(f"references file not found: {references}", path=str(suite_path),
                              line=lines.get(("references",)), key="references")
        return CASE_READERS[case_format](cases_path, references)
    return CASE_READERS[case_format](cases_path)


def check_criterion_turns(cases: list[Case], rubric: Rubric | None, cases_path: Path) -> None:
    """A rubric criterion that names a turn must name one that every case it applies to has."""
    for criterion in rubric.criteria if rubric else []:
        if criterion.turn is None:
            continue
        for case in cases:
            if criterion.applies(case.tags) and criterion.turn > case.n_turns:
                raise ConfigError(f"case '{case.id}' has {case.n_turns} turn(s), and rubric criterion "
                                  f"'{criterion.id}' grades turn {criterion.turn} (limit it with applies_to)",
                                  path=str(cases_path))
