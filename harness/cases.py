"""Cases: bench's own JSONL format and HealthBench rows, read strictly (file, line and key in every error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError, from_validation
from .rubric import Criterion, Strict
from .yamlfile import read_jsonl


class ChatMessage(Strict):
    role: Literal["system", "user", "assistant", "developer"]
    content: str


class Case(Strict):
    id: str
    messages: list[ChatMessage] = Field(min_length=1)
    # Later user turns, asked live: each is sent after the model's own answer to the turn before (MT-bench).
    turns: list[str] = []
    tags: list[str] = []
    reference: str | None = None  # of a multi-turn case: the first turn's reference
    turn_references: list[str | None] | None = None  # a reference per turn, the first turn's first
    criteria: list[Criterion] = []  # extra, case-specific criteria
    meta: dict[str, Any] = {}

    @model_validator(mode="after")
    def _ends_with_user(self):
        if self.messages[-1].role != "user":
            raise ValueError("messages: the last message must come from the user")
        for i, turn in enumerate(self.turns):
            if not turn.strip():
                raise ValueError(f"turns.{i}: a user turn must not be empty")
        if self.turn_references is not None and len(self.turn_references) != self.n_turns:
            raise ValueError(f"turn_references: {len(self.turn_references)} references for {self.n_turns} turns")
        for i, criterion in enumerate(self.criteria):
            if criterion.turn is not None and criterion.turn > self.n_turns:
                raise ValueError(f"criteria.{i}.turn: turn {criterion.turn} of a case with {self.n_turns}")
        return self

    @property
    def n_turns(self) -> int:
        """User turns the model answers: the conversation's last message, then each later turn."""
        return 1 + len(self.turns)

    def chat(self) -> list[dict[str, str]]:
        return [m.model_dump() for m in self.messages]


def validate_row(model: type[BaseModel], row: dict, path: Path, lineno: int):
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        raise from_validation(exc, str(path), line=lineno) from None


def load_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for lineno, row in read_jsonl(path):
        case = validate_row(Case, row, path, lineno)
        if case.id in seen:
            raise ConfigError(f"duplicate case id '{case.id}' (first on line {seen[case.id]})",
                              path=str(path), line=lineno, key="id")
        seen[case.id] = lineno
        cases.append(case)
    if not cases:
        raise ConfigError("no cases", path=str(path))
    return cases


class _HBCriterion(BaseModel):
    model_config = ConfigDict(extra="ignore")
    criterion: str
    points: float = Field(allow_inf_nan=False)
    tags: list[str] = []


class _HBMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "developer"]
    content: str


class _HBExample(BaseModel):
    model_config = ConfigDict(extra="ignore")  # HealthBench rows carry more fields than grading needs
    prompt_id: str
    prompt: list[_HBMessage] = Field(min_length=1)
    rubrics: list[_HBCriterion] = Field(min_length=1)
    example_tags: list[str] = []
    ideal_completions_data: dict[str, Any] | None = None


def load_healthbench(path: Path) -> list[Case]:
    """HealthBench JSONL rows -> cases whose criteria are the example's rubric (axis from the `axis:*` tag,
    theme from the `theme:*` example tag)."""
    cases: list[Case] = []
    for lineno, raw in read_jsonl(path):
        row = validate_row(_HBExample, raw, path, lineno)
        criteria = []
        for i, rub in enumerate(row.rubrics):
            axes = [t.split(":", 1)[1] for t in rub.tags if t.startswith("axis:")]
            if rub.points == 0:
                continue  # a zero-point criterion cannot change a score
            criteria.append(Criterion(id=f"c{i:02d}", text=rub.criterion, points=rub.points,
                                      axis=axes[0] if axes else "overall"))
        themes = [t.split(":", 1)[1] for t in row.example_tags if t.startswith("theme:")]
        ideal = (row.ideal_completions_data or {}).get("ideal_completion")
        cases.append(validate_row(Case, {
            "id": row.prompt_id, "messages": [m.model_dump() for m in row.prompt], "tags": row.example_tags,
            "reference": ideal, "criteria": [c.model_dump() for c in criteria],
            "meta": {"theme": themes[0] if themes else None}}, path, lineno))
    if not cases:
        raise ConfigError("no cases", path=str(path))
    return cases


CASE_READERS = {"bench": load_cases, "healthbench": load_healthbench}
