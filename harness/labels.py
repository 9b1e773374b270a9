"""Human labels: what a person decided about answers, one JSON object per line (the report's case browser
downloads them; docs/suites.md, "Human labels", gives the format).

Two kinds of row, told apart by their keys:
    {"case_id": "c1", "a": "model-x", "b": "model-y", "preferred": "a" | "b" | "tie", "reason": "..."}
    {"case_id": "c1", "model": "model-x", "criterion": "no-diagnosis", "met": true | false, "reason": "..."}
`reason` is optional. The reader is strict: an unknown key, a missing one or a wrong value is a ConfigError
naming the file, the line and the key; nothing is guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, ValidationError, field_validator

from .errors import ConfigError, from_validation
from .yamlfile import read_jsonl


def _named(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class _Label(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    case_id: StrictStr
    reason: StrictStr | None = None


class PairwiseLabel(_Label):
    """Which of two models' answers to one case a person preferred."""

    a: StrictStr
    b: StrictStr
    preferred: Literal["a", "b", "tie"]

    names_given = field_validator("case_id", "a", "b")(_named)


class CriterionLabel(_Label):
    """Whether one model's answer to one case meets one rubric criterion, as a person read it."""

    model: StrictStr
    criterion: StrictStr
    met: StrictBool

    names_given = field_validator("case_id", "model", "criterion")(_named)


Label = PairwiseLabel | CriterionLabel
_PAIRWISE_KEYS = {"a", "b", "preferred"}
_CRITERION_KEYS = {"model", "criterion", "met"}


def parse_label(row: dict, path: str, line: int) -> Label:
    """One row as a label; the kind is decided by its keys (a row with keys of both kinds is an error)."""
    keys = set(row)
    pairwise, criterion = keys & _PAIRWISE_KEYS, keys & _CRITERION_KEYS
    if pairwise and criterion:
        raise ConfigError(f"mixes a pairwise label ({', '.join(sorted(pairwise))}) with a criterion label "
                          f"({', '.join(sorted(criterion))})", path=path, line=line, key=sorted(criterion)[0])
    if not pairwise and not criterion:
        raise ConfigError("neither a pairwise label (a, b, preferred) nor a criterion label (model, criterion, "
                          "met)", path=path, line=line)
    kind = PairwiseLabel if pairwise else CriterionLabel
    try:
        label = kind.model_validate(row)
    except ValidationError as exc:
        raise from_validation(exc, path, line=line) from None
    if isinstance(label, PairwiseLabel) and label.a == label.b:
        raise ConfigError(f"the same model as a ('{label.a}'): a pair needs two models", path=path, line=line,
                          key="b")
    return label


def read_labels(path: Path) -> list[Label]:
    """Every label in a labels file, in file order. Blank lines are skipped; the same judgement given twice
    (same case, models and criterion) is an error, since which one counts would be a guess."""
    path = Path(path)
    labels: list[Label] = []
    seen: dict[tuple, int] = {}
    for line, row in read_jsonl(path, "labels file"):
        label = parse_label(row, str(path), line)
        key = _identity(label)
        if key in seen:
            what = "pair" if isinstance(label, PairwiseLabel) else "criterion"
            raise ConfigError(f"labels this {what} of case '{label.case_id}' again (first on line {seen[key]})",
                              path=str(path), line=line, key="case_id")
        seen[key] = line
        labels.append(label)
    return labels


def _identity(label: Label) -> tuple:
    if isinstance(label, PairwiseLabel):
        return ("pair", label.case_id, *sorted((label.a, label.b)))
    return ("criterion", label.case_id, label.model, label.criterion)
