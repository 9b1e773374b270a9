"""How a run's cases were chosen from its suite's (harness.run_options), as results.json records it."""

from __future__ import annotations

from pydantic import Field

from .types import StrictModel


class CaseSelection(StrictModel):
    tags: list[str] = Field([], description="--tags: cases with any of these tags")
    case_ids: list[str] = Field([], description="--case: only these cases")
    limit: int | None = Field(None, description="--limit: a stratified sample of this many cases")
    seed: int | None = Field(None, description="the sample's seed (--seed-cases, else the suite's judging seed)")
    stratified_by: str = Field("first tag", description="the groups the sample is spread over in proportion")
    cases: int = Field(description="cases chosen")
    of: int = Field(description="cases in the suite")
    groups: dict[str, int] = Field({}, description="chosen cases per group")
    ids: list[str] = Field([], description="the chosen cases, in the suite's order")
