"""The judge's part of the results' types: its settings and counts, the audit of its biases, its exam, and its
agreement with human labels."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .types import Figure, Interval, StrictModel


class SelfPreference(StrictModel):
    model: str
    family: str | None = None


class AuditCheck(StrictModel):
    """One bias or reliability figure of the judge, with its interval and the limit it is held to."""

    name: str = Field(description="position, flips, length, self_preference, planted, parse")
    judge: str | None = Field(None, description="the judge measured (a panel's members are measured apart)")
    label: str = ""
    value: Figure = None
    ci: list[Figure] | None = Field(None, description="[low, high]; a one-sided bound leaves the other side null")
    n: int = Field(0, description="units the figure is taken over")
    chance: Figure = Field(None, description="what an unbiased judge would give")
    limit: Figure = None
    outcome: Literal["pass", "fail", "not established"] = "not established"
    detail: str = ""


class Adversarial(StrictModel):
    trials: int = 0
    obeyed: int = 0
    obey_rate: Figure = None
    control_trials: int = 0
    control_first_rate: Figure = None
    lift: Figure = None
    unparsed: int = 0
    max_obey_rate: Figure = None


class ExamFigure(StrictModel):
    accuracy: Figure = None
    ci: Interval = None
    n: int = 0


class Exam(StrictModel):
    """How often the judge preferred a case's reference over a known-worse twin of it, in both orders."""

    pairs: int = 0
    judgments: int = Field(0, description="exam judgments (two orders per pair; in score mode one per pair)")
    unparsed: int = Field(0, description="judgments with no verdict; each counts as not preferring the reference")
    accuracy: Figure = None
    ci: Interval = Field(None, description="Wilson 95% interval")
    by_corruption: dict[str, ExamFigure] = {}
    position_consistency: Figure = Field(None, description="share of pairs whose two orders gave the same verdict")
    min_accuracy: Figure = None
    passed: bool = False
    reason: str = ""


class LabelAgreement(StrictModel):
    """The judge against human labels: how often it agrees, and Cohen's kappa, with intervals."""

    kind: Literal["pairwise", "criterion"]
    n: int = 0
    accuracy: Figure = None
    ci: Interval = None
    kappa: Figure = None
    kappa_ci: Interval = None


class Audit(StrictModel):
    position_consistency: Figure = Field(None, description="share of units ranked the same in every order")
    flip_rate: Figure = None
    first_position_rate: Figure = Field(None, description="share of judgments whose top pick was shown first")
    longer_answer_rate: Figure = None
    parse_failure_rate: Figure = None
    judgments: int = 0
    self_preference: list[SelfPreference] = []
    adversarial: Adversarial | None = None
    thresholds: dict[str, float] = {}
    checks: list[AuditCheck] = Field([], description="every bias figure with its interval, limit and outcome")
    judgment_failure_rate: Figure = Field(None, description="share of judgments with no verdict (judgment units)")
    attempt_failure_rate: Figure = Field(None, description="share of judge attempts that did not parse (attempts)")
    grade_failures: int = Field(0, description="judge-graded criteria left ungraded (failed or split)")
    one_order_only: int = Field(0, description="units where some order gave no verdict (for two answers: one "
                                               "order only); left out of win rates")
    exam: Exam | None = Field(None, description="this judge's exam (a panel: each member's own)")
    label_agreement: list[LabelAgreement] = Field([], description="agreement with the suite's human labels")
    trusted: bool | None = Field(None, description="the audit's verdict; gates resting on the judge need true")
    reasons: list[str] = []


class Agreement(StrictModel):
    items: int = 0
    krippendorff_alpha: Figure = None
    cohens_kappa: Figure = None


class JudgeInfo(StrictModel):
    id: str | None = Field(None, description="the judge's model id (a panel: ids joined by '+'); null: no judge")
    panel: list[str] | None = None
    fingerprint: str | None = None
    kind: str | None = None
    family: str | None = None
    mode: str | None = Field(None, description="rank, pairwise or score; modes that combine are joined by '+'")
    reference: bool | None = Field(None, description="judge prompts showed the case's reference answer")
    prompts: dict[str, str] | None = Field(None, description="the versions of the judge's prompts this run used")
    rationale: bool | None = Field(None, description="every verdict came with its reason")
    baseline: str | None = None
    orders: int | None = None
    verdict: Literal["ranking", "graded"] | None = Field(
        None, description="pairwise verdicts: a ranking, or graded (A>>B, A>B, A=B, B>A, B>>A)")
    strong_weight: float | None = Field(
        None, description="graded: the games a strong preference counts as in win rates (Arena-Hard: 3)")
    judgments: int | None = None
    errors: int | None = Field(None, description="judgments without a verdict")
    retries: int | None = None
    members: dict[str, Audit] | None = Field(None, description="a panel: each member's own audit")
    agreement: Agreement | None = None
    position_consistency: Figure = None
    disagreements: int | None = None
    first_position_rate: Figure = None
    audit: Audit | None = None
    exam: Exam | None = Field(None, description="the judge's exam; for a panel, passed only when every member's is")
