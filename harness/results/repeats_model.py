"""The results' types for repeated samples of each case (`bench run --repeat N`): harness.results.repeats computes
them."""

from __future__ import annotations

from pydantic import Field

from .types import Figure, StrictModel


class Repeats(StrictModel):
    """How consistent a model's samples of the same case are. The model's score, axes and intervals already take
    the case as the unit (a case scores the mean of its samples; intervals resample cases)."""

    samples: int = Field(description="samples of each case")
    consistency: Figure = Field(None, description="share of (case, criterion) whose graded samples all meet the "
                                                  "criterion or all miss it")
    units: int = Field(0, description="(case, criterion) units with at least 2 graded samples")
    consistent_units: int = 0
    by_criterion: dict[str, Figure] = Field({}, description="the consistency of each criterion over the cases")
    within_variance: Figure = Field(None, description="variance of a case's sample scores around the case's mean "
                                                      "(one-way random-effects ANOVA, MS within)")
    between_variance: Figure = Field(None, description="variance of the cases' true scores (ANOVA estimate, "
                                                       "floored at 0)")
    share_within: Figure = Field(None, description="within / (within + between): how much of the spread is the "
                                                   "sampling of the same case")
    pass_hat_k: dict[str, Figure] | None = Field(None, description="check-only suites: k -> the chance that k "
                                                                   "samples of a case all pass (score 1), averaged "
                                                                   "over cases; k = 1 is the pass rate")
    pass_hat_k_reason: str | None = Field(None, description="why pass_hat_k is null, when it is")
