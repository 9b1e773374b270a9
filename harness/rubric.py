"""Rubrics (rubrics/<name>.yaml): weighted criteria over axes, graded by a deterministic check or by the judge.

A criterion is *met* when the behaviour it describes is present; negative points mark behaviour to avoid.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .checks import CheckSpec
from .errors import from_validation
from .yamlfile import load_yaml


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Criterion(Strict):
    id: str
    text: str
    points: float = Field(allow_inf_nan=False)
    axis: str
    check: CheckSpec | None = None  # graded by code (harness.checks); without one, by the judge
    applies_to: list[str] | None = None  # case tags; None means every case
    turn: int | None = Field(None, ge=1)  # multi-turn cases: the turn whose answer is graded (None: the last)

    @field_validator("points")
    @classmethod
    def _nonzero(cls, v):
        if v == 0:
            raise ValueError("points must be non-zero (negative points mark behaviour to avoid)")
        return v

    def applies(self, tags: list[str]) -> bool:
        return self.applies_to is None or bool(set(self.applies_to) & set(tags))


class Rubric(Strict):
    name: str
    version: int | str
    description: str = ""
    axes: list[str]
    criteria: list[Criterion]

    @model_validator(mode="after")
    def _consistent(self):
        seen = set()
        for i, c in enumerate(self.criteria):
            if c.id in seen:
                raise ValueError(f"criteria.{i}.id: duplicate criterion id '{c.id}'")
            seen.add(c.id)
            if c.axis not in self.axes:
                raise ValueError(f"criteria.{i}.axis: '{c.axis}' is not one of the axes {self.axes}")
        return self


def load_rubric(path: Path) -> Rubric:
    data, lines = load_yaml(path)
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, str(path), lines=lines) from None


def find_rubric(name: str, suite_path: Path) -> Path | None:
    for base in (suite_path.parent.parent / "rubrics", suite_path.parent, Path.cwd() / "rubrics"):
        for candidate in (base / name, base / f"{name}.yaml", base / f"{name}.yml"):
            if candidate.is_file():
                return candidate
    return None


def applicable_criteria(rubric_criteria: list[Criterion], case_criteria: list[Criterion],
                        tags: list[str]) -> list[Criterion]:
    return [c for c in [*rubric_criteria, *case_criteria] if c.applies(tags)]
