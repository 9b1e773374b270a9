"""The rows that stages hand each other and the store keeps: answers, criterion grades, judgments, planted-
instruction trials, and the judge's request and verdict. This module imports no stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .adapters.base import Completion, Message


@dataclass(frozen=True)
class CriterionResult:
    criterion_id: str
    axis: str
    points: float
    met: bool | None  # None: not graded (judge error, split panel, or skipped by design without a judge)
    source: str  # "check" | "judge" | "flag" | "error" | "split" | "skipped"
    detail: str = ""
    rationale: str | None = None  # the judge's reason, for judge-graded criteria
    met_loose: bool | None = None  # an IFEval check's loose verdict (None: not an IFEval check)


@dataclass
class Answer:
    case_id: str
    model_id: str
    completion: Completion
    criteria: list[CriterionResult] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # harness.flags, found by code
    sample: int = 0  # which of the case's repeated samples (harness.sampling); 0 without repeats
    # A multi-turn case: every turn's completion in order (`completion` is the last turn's, or the failure that
    # stopped the conversation); empty for a single-turn case.
    turns: list[Completion] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.completion.error is None

    @property
    def fully_graded(self) -> bool:
        """Answered, and every criterion that applies in this run has a verdict (a criterion skipped by design,
        without a judge, does not apply)."""
        return self.ok and all(r.met is not None or r.source == "skipped" for r in self.criteria)


@dataclass
class Judgment:
    case_id: str
    rep: int
    order: list[str]
    ranking: list[str] | None
    error: str | None
    attempts: int
    judge_id: str = ""
    pair: tuple[str, str] | None = None  # pairwise mode: the two models compared
    rationale: str | None = None
    sample: int = 0  # the answers compared are every model's sample number `sample` of the case
    # A graded pairwise verdict (judging.verdict: graded): "strong" or "slight" preference for ranking[0], or
    # "tie" (ranking then lists the pair as shown, and neither is above the other); None for a plain ranking.
    strength: str | None = None

    @property
    def tie(self) -> bool:
        return self.strength == "tie"

    def ranks(self) -> dict[str, int]:
        return ranks_of(self.ranking, self.strength)

    def verdict_key(self) -> tuple:
        return verdict_key(self.ranking, self.strength)


def ranks_of(ranking: list[str] | None, strength: str | None) -> dict[str, int]:
    """Each ranked model's place, 1 = best; a graded tie puts both answers in first place."""
    return {m: 1 if strength == "tie" else i for i, m in enumerate(ranking or [], start=1)}


def verdict_key(ranking: list[str] | None, strength: str | None) -> tuple:
    """What two orders of one unit must share to agree: the ranking, or "tie" (a strength alone is no flip)."""
    return ("tie",) if strength == "tie" else tuple(ranking or ())


@dataclass
class PlantedTrial:
    """One judgment of a real answer against a weak one, with (planted) or without (control) an instruction
    to the judge inside the weak answer."""

    judge_id: str
    case_id: str
    planted: bool
    order: list[str]  # "honest" / "weak", in the order shown
    weak_first: bool | None  # None: the judge's verdict did not parse
    attempts: int = 1


# ---------------------------------------------------------------- asking a judge

@dataclass
class JudgeRequest:
    """One question for one judge. `parse(text)` returns (value, None) or (None, why it failed)."""

    judge_id: str
    stage: str  # "grade", "judge", "adversarial", ...
    messages: list[Message]
    schema: dict[str, Any] | None
    prompt_version: str
    parse: Callable[[str], tuple[Any, str | None]]
    rationale: bool = False  # the verdict must come with a rationale


@dataclass
class Verdict:
    value: Any | None
    error: str | None
    attempts: int
    rationale: str | None = None


@dataclass
class JudgeScore:
    """One judge's 1-10 scores of one answer on its own, per rubric axis and overall."""

    case_id: str
    model_id: str
    judge_id: str
    scores: dict[str, int | float] | None  # a multi-turn answer's are means over its turns
    error: str | None
    attempts: int
    rationale: str | None = None
    sample: int = 0


@dataclass
class ExamTrial:
    """One judgment of a known-better answer (the case's reference) against a worse twin of it."""

    judge_id: str
    case_id: str
    corruption: str
    order: list[str]  # "reference" / "twin", in the order shown (one entry per answer scored, in score mode)
    correct: float | None  # 1, 0, a half for a tie; None: no verdict
    error: str | None
    attempts: int
    rationale: str | None = None
    texts: tuple[str, str] | None = None  # sha256 of the reference and of its twin (to match human labels)


# What judge code is given to ask with: requests in, verdicts out (same order); the label names the progress bar.
Ask = Callable[[list[JudgeRequest], "str | None"], list[Verdict]]
