"""Results: the typed, versioned form of results.json, the machine contract CI and `bench gate` read.

Built from the store and a run id alone (harness.results.build). Every interval is 95% and written as
[low, high]; a figure that cannot be computed is null, never a guess. docs/results.md is generated from this
model (`python -m harness.results.schema`), and a test keeps the two in step.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from ..errors import ConfigError, from_validation
from .fidelity import FidelitySection
from .judge_model import (Adversarial, Agreement, Audit, AuditCheck, Exam, ExamFigure, JudgeInfo,  # noqa: F401
                          LabelAgreement, SelfPreference)
from .cost_model import Cost
from .repeats_model import Repeats
from .parts import AxisFigure, CaseTurn, CheckScores, IFEvalAccuracy, JudgeScores, TurnRow  # noqa: F401
from .selection import CaseSelection
from .types import Figure, Interval, StrictModel

SCHEMA_VERSION = 2



class Latency(StrictModel):
    ttft_p50_s: Figure = Field(None, description="median time to the first streamed token, seconds")
    ttft_p95_s: Figure = None
    latency_p50_s: Figure = Field(None, description="median time of the whole request, failed calls counted at "
                                                    "their elapsed time, seconds")
    latency_p95_s: Figure = None
    latency_p50_upper_s: Figure = Field(None, description="one-sided 95% upper confidence bound of the median "
                                                          "latency (order statistics)")
    latency_p95_upper_s: Figure = Field(None, description="one-sided 95% upper confidence bound of the p95 latency "
                                                          "(order statistics); null when too few calls (under 59)")
    ttft_p50_upper_s: Figure = None
    ttft_p95_upper_s: Figure = None
    tokens_per_s_lower: Figure = Field(None, description="one-sided 95% lower confidence bound of the median "
                                                         "decode rate")
    tokens_per_s: Figure = Field(None, description="median decode rate after the first token")
    output_tokens_mean: Figure = None
    calls: int = Field(0, description="answer calls the percentiles are taken over")
    failed: int = Field(0, description="of which failed; counted at their elapsed time")
    ttft_lower_bound: bool = Field(False, description="true when failed calls (which never gave a first token) "
                                                      "are counted at their elapsed time: the TTFT figures are "
                                                      "then lower bounds")
    measured: bool = Field(True, description="false: not measured by bench (answers from a file; its own figures)")


class StageErrors(StrictModel):
    answer: int = Field(0, description="answers that failed")
    grade: int = Field(0, description="criteria the grader could not grade (failed or split votes)")
    judge: int = Field(0, description="judgments of this model's answers with no verdict")


class Coverage(StrictModel):
    """Shares of the cases attempted; null when no case was attempted."""

    answered: Figure = Field(None, description="answered / cases")
    graded: Figure = Field(None, description="fully graded / cases")


class ModelResult(StrictModel):
    id: str
    kind: str | None = None
    fingerprint: str | None = Field(None, description="names exactly what answered (file hash, endpoint + model)")
    family: str | None = None
    size_mib: Figure = Field(None, description="size of the weights file, where the kind knows it")
    n: int = Field(0, description="cases the score is taken over (see missing)")
    cases: int = Field(0, description="cases attempted")
    answered: int = Field(0, description="cases with an answer (no error), in every sample")
    graded: int = Field(0, description="answered cases whose every applicable criterion was graded, in every sample")
    coverage: Coverage = Coverage()
    samples: int = Field(1, description="samples of each case (--repeat); a case scores the mean of its samples")
    repeats: Repeats | None = Field(None, description="with 2 or more samples: how consistent they are")
    errors: int = Field(0, description="answers that failed (every sample counted)")
    errors_by_stage: StageErrors = StageErrors()
    flags: dict[str, int] = Field({}, description="answers flagged by code: empty, truncated, repetition, "
                                                  "prompt_echo, wrong_language")
    score: Figure = Field(None, description="mean per-case rubric score, clipped to [0, 1]")
    score_ci: Interval = None
    score_se: Figure = Field(None, description="bootstrap standard error of the score")
    axes: dict[str, AxisFigure] = Field({}, description="the score per rubric axis")
    themes: dict[str, AxisFigure] | None = Field(None, description="the score per case theme (HealthBench)")
    win_rate: Figure = Field(None, description="mean pairwise win rate from the judge's rankings")
    win_rate_ci: Interval = None
    mean_rank: Figure = None
    latency: Latency = Latency()
    cost_usd: Figure = Field(None, description="summed cost of the answers (cached ones at what they cost), "
                                               "where prices are known; every call's cost is in Results.cost")
    judge_scores: JudgeScores | None = Field(None, description="score mode: the judge's 1-10 scores, mean over "
                                                               "cases with a bootstrap interval")
    checks: CheckScores | None = Field(None, description="the check-only score (no judge-graded criterion in it)")
    retries: int = Field(0, description="retries the answer calls needed (a cached answer carries those of the "
                                        "call that made it)")
    unknown_answers: int | None = Field(None, description="answers from a file for cases the suite does not have")


class PairwiseRow(StrictModel):
    a: str
    b: str
    n: int | None = None
    wins: int | None = None
    losses: int | None = None
    ties: int | None = None
    win_rate: Figure = Field(None, description="how often a beats b (ties and split orders count half)")
    ci: Interval = None
    p_value: Figure = None
    p_adjusted: Figure = Field(None, description="Holm-adjusted over all pairs")
    test: str | None = None
    verdicts: dict[Literal["a>>b", "a>b", "a=b", "b>a", "b>>a"], int] | None = Field(
        None, description="graded verdicts: how many judgments (each order, in the cases compared) said each")


class SignificanceRow(StrictModel):
    a: str
    b: str
    metric: str = Field(description="'score', 'axis:<name>' or 'wins'")
    n: int | None = Field(None, description="cases both models answered and that were fully graded (scores) or "
                                            "judged in every order (wins)")
    diff: Figure = Field(None, description="mean paired difference a - b")
    ci: Interval = None
    p_value: Figure = None
    p_adjusted: Figure = None
    test: str | None = None


class PowerRow(StrictModel):
    a: str
    b: str
    metric: str
    n: int = 0
    sd: Figure = Field(None, description="standard deviation of the paired differences")
    min_detectable: Figure = Field(None, description="smallest difference a two-sided test at 0.05 detects with "
                                                     "80% power, t distribution")


class Power(StrictModel):
    pairs: list[PowerRow] = Field([], description="the design figure of every pair and metric")
    n_cases: int | None = None
    alpha: Figure = None
    power: Figure = None
    min_detectable_score_diff: Figure = None
    min_detectable_win_rate_diff: Figure = None
    warnings: list[str] = []


class Rating(StrictModel):
    id: str
    rating: Figure = None
    ci: Interval = None


class StyleControl(StrictModel):
    coefficients: dict[str, Figure] = {}
    models: list[Rating] = []


class LengthControlled(StrictModel):
    id: str
    baseline: str
    win_rate: Figure = None
    ci: Interval = None
    reason: str | None = Field(None, description="why the figure is null, when it is")


class Ratings(StrictModel):
    method: str = "bradley-terry"
    scale: str | None = None
    models: list[Rating] = []
    style_control: StyleControl | None = None
    length_controlled: list[LengthControlled] | None = None
    length_controlled_method: str = Field(
        "a simplified AlpacaEval-style adjustment: a logistic fit of the outcome on the normalized length "
        "difference, read at zero difference; null where the length difference hardly changes sign",
        description="what the length-controlled win rate is")


class StageCount(StrictModel):
    calls: int = 0
    cached: int = 0


class StageTimes(StrictModel):
    """Seconds each stage of the command that finished the run took; null: the stage did not run (no judge,
    no planted trials) or its time is not known yet (the report's own, inside the report)."""

    setup_s: Figure = Field(None, description="reading the files, loading the models' fingerprints, opening the run")
    answers_s: Figure = Field(None, description="every model answering every case (cached calls included)")
    grading_s: Figure = Field(None, description="deterministic checks and judge-graded criteria")
    judging_s: Figure = Field(None, description="the judge's rankings or pairwise verdicts")
    scoring_s: Figure = Field(None, description="the judge's 1-10 scores (score mode)")
    adversarial_s: Figure = Field(None, description="planted-instruction trials of the judge")
    exam_s: Figure = Field(None, description="the judge's exam on corrupted references")
    fidelity_s: Figure = Field(None, description="token probabilities of each model against its fidelity reference")
    statistics_s: Figure = Field(None, description="the results computed from the store")
    report_s: Figure = Field(None, description="results.json, summary.md, index.html and the runs index")

    @classmethod
    def from_seconds(cls, times: dict[str, float] | None) -> "StageTimes | None":
        if not times:
            return None
        return cls.model_validate({f"{stage}_s": round(seconds, 3) for stage, seconds in times.items()
                                   if f"{stage}_s" in cls.model_fields})


class Generation(StrictModel):
    calls: int = Field(0, description="model calls made by this run")
    cached: int = Field(0, description="calls answered from the cache")
    failed: int = Field(0, description="calls that failed (each attempt counted)")
    by_stage: dict[str, StageCount] = {}


class CriterionRow(StrictModel):
    id: str
    axis: str | None = None
    points: Figure = None
    met: bool | None = Field(None, description="null: could not be graded")
    source: str | None = Field(None, description="check, judge, flag, error, split or skipped")
    detail: str | None = None
    rationale: str | None = Field(None, description="the judge's reason (judge-graded criteria)")
    met_loose: bool | None = Field(None, description="an IFEval check's loose verdict (null: not an IFEval check)")


class ScoreRow(StrictModel):
    judge: str
    scores: dict[str, int | float] | None = Field(None, description="1-10 per axis and overall; a multi-turn "
                                                  "answer's are means over its turns, each turn's overall under "
                                                  "`turn N`")
    rationale: str | None = None
    error: str | None = None


class AnswerRow(StrictModel):
    text: str = ""
    error: str | None = None
    flags: list[str] = Field([], description="what code found wrong with the answer (see ModelResult.flags)")
    graded: bool | None = Field(None, description="every applicable criterion graded")
    ttft_s: Figure = None
    latency_s: Figure = None
    output_tokens: int | None = None
    tokens_per_s: Figure = None
    finish_reason: str | None = None
    score: Figure = None
    axes: dict[str, Figure] = {}
    criteria: list[CriterionRow] = []
    judge_scores: list[ScoreRow] = Field([], description="score mode: each judge's 1-10 scores of this answer")
    turns: list[TurnRow] = Field([], description="a multi-turn case: every turn (text is the last turn's)")


class JudgmentRow(StrictModel):
    rep: int
    order: list[str]
    ranking: list[str] | None = None
    error: str | None = None
    attempts: int = 1
    judge: str | None = None
    pair: list[str] | None = None
    rationale: str | None = None
    sample: int = Field(0, description="the sample of the case whose answers were compared")
    strength: Literal["strong", "slight", "tie"] | None = Field(
        None, description="a graded pairwise verdict: a strong or slight preference for ranking[0], or a tie "
                          "(ranking then lists the pair as shown); null for a plain ranking")


class CaseResult(StrictModel):
    id: str
    tags: list[str] = []
    messages: list[dict[str, str]] = []
    reference: str | None = None
    turns: list[CaseTurn] = Field([], description="the later user turns of a multi-turn case")
    answers: dict[str, AnswerRow] = Field({}, description="each model's answer (its first sample)")
    samples: dict[str, list[AnswerRow]] | None = Field(None, description="with repeats: each model's samples "
                                                                         "after the first")
    judgments: list[JudgmentRow] = []


class GateVerdict(StrictModel):
    name: str
    type: str
    figure: Figure = None
    threshold: Figure = None
    op: str | None = None
    verdict: Literal["pass", "fail", "error"]
    reason: str | None = None
    warning: str | None = Field(None, description="the suite is underpowered for what the gate asks (a design "
                                                  "figure; it does not change the verdict)")
    required: bool = Field(True, description="a required gate decides the exit code; an advisory one is reported")
    rests_on: list[str] = Field([], description="what the figure comes from: checks, judge, fidelity, measurements")


class SuiteInfo(StrictModel):
    name: str
    version: int | str | None = None
    cases: int | None = Field(None, description="cases in this run")
    rubric: str | None = None
    rubric_version: int | str | None = None
    path: str | None = Field(None, description="the suite file, relative to the working directory when inside it")
    hash: str | None = Field(None, description="sha256 of the suite's settings as the run read them")


class Scoring(StrictModel):
    missing: Literal["zero", "exclude"] = Field("zero", description="what an unanswered case counts as in a "
                                                                    "model's own score")
    flagged: dict[str, str] = Field({}, description="flag -> what a flagged answer scores ('zero' or 'keep')")


class RunSpec(StrictModel):
    """What the run was asked, as it read it: later edits of the suite file do not change this run."""

    scoring: Scoring = Scoring()
    system_prompt: str | None = None
    judge_guidance: str | None = None
    generation: dict[str, Any] = Field({}, description="the contestants' generation settings as used: the suite's, "
                                                       "with generation_overrides applied")
    generation_overrides: dict[str, Any] = Field({}, description="the generation settings given on the command line "
                                                                 "(--temperature, --max-tokens, --seed)")
    judge_generation: dict[str, Any] = {}
    judging: dict[str, Any] = {}
    exam: dict[str, Any] = {}
    selection: CaseSelection | None = Field(None, description="how the run's cases were chosen from the suite's; "
                                                              "null: all of them")
    no_cache: bool = Field(False, description="the run answered afresh (--no-cache): nothing cached before it was used")
    rubric: dict[str, Any] | None = Field(None, description="the rubric, whole")
    gates: list[dict[str, Any]] = Field([], description="the gates recorded at run time, parsed")
    labels: list[dict[str, Any]] = Field([], description="the suite's human labels, as read when the run started")


class Comparison(StrictModel):
    models: list[str] = []
    shared_cases: int | None = Field(None, description="cases every model answered and that were fully graded: "
                                                       "the cases every comparison between models uses")
    cases: int | None = None


class Results(StrictModel):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    created_at: str | None = None
    wall_time_s: Figure = Field(None, description="the whole command that finished the run: loading, stages, "
                                                  "statistics and report (null inside the report it times)")
    stages: StageTimes | None = Field(None, description="seconds per stage of that command")
    suite: SuiteInfo
    spec: RunSpec | None = None
    comparison: Comparison | None = None
    judge: JudgeInfo = JudgeInfo()
    models: list[ModelResult]
    pairwise: list[PairwiseRow] = []
    significance: list[SignificanceRow] | None = None
    power: Power | None = None
    ratings: Ratings | None = None
    ifeval: dict[str, IFEvalAccuracy] | None = Field(None, description="IFEval suites: the accuracies per model")
    generation: Generation = Generation()
    cost: Cost | None = Field(None, description="what every call cost, per model and role")
    gates: list[GateVerdict] | None = None
    fidelity: FidelitySection | None = Field(None, description="KL divergence, top-1 agreement and perplexity "
                                                               "against a reference, when the run asked for them")
    cases: list[CaseResult] = []

    @field_validator("judge", mode="before")
    @classmethod
    def _no_judge(cls, value):
        return {} if value is None else value  # "judge": null reads as a run without a judge

    def model(self, model_id: str) -> ModelResult | None:
        return next((m for m in self.models if m.id == model_id), None)

    def to_json(self) -> str:
        """results.json text: pretty, UTF-8 kept, NaN never written (a missing figure is null)."""
        return self.model_dump_json(indent=2) + "\n"


def as_results(data: Any, source: str = "results") -> Results:
    """A Results from a Results, a dict or results.json text; a bad one is a ConfigError naming the key."""
    if isinstance(data, Results):
        return data
    try:
        if isinstance(data, (str, bytes)):
            return Results.model_validate_json(data)
        return Results.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "json_invalid":
            raise ConfigError(f"invalid JSON: {err['msg']}", path=source) from None
        raise from_validation(exc, source) from None
