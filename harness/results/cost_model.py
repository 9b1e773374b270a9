"""The results' types for what a run's calls cost, per model and per role (harness.results.costs computes them)."""

from __future__ import annotations

from pydantic import Field

from .types import Figure, StrictModel

ROLES = {"answer": "contestant", "grade": "grading", "judge": "ranking", "score": "scoring", "exam": "exam",
         "adversarial": "planted"}  # the store's stage -> the role a model played in it

COST_NOTE = ("spent: what this run's own calls cost (a resumed run counts the calls its earlier commands made); "
             "total: every call of the run, a call answered from the cache at what it cost when it was made - what "
             "the run would cost with an empty cache. Null where no price is known.")


class RoleCost(StrictModel):
    calls: int = Field(0, description="calls made by this run in this role")
    cached: int = Field(0, description="calls answered from the cache")
    unpriced: int = Field(0, description="calls with no known cost (no prices for the model when it was called)")
    input_tokens: int | None = None
    output_tokens: int | None = None
    spent_usd: Figure = Field(None, description="cost of the calls this run made")
    total_usd: Figure = Field(None, description="cost of every call, cached ones at what they cost when made")


class ModelCost(StrictModel):
    id: str
    roles: dict[str, RoleCost] = Field({}, description="contestant, grading, ranking, scoring, exam, planted")
    spent_usd: Figure = None
    total_usd: Figure = None


class Cost(StrictModel):
    """Every call of the run, judge and grader included, per model and role."""

    spent_usd: Figure = Field(None, description="what the run's own calls cost, where a price is known")
    total_usd: Figure = Field(None, description="what every call of the run cost when it was made")
    models: list[ModelCost] = []
    note: str = COST_NOTE
