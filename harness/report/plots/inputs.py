"""What each plot takes: small frozen records of plain figures, independent of how results are stored.

A figure that could not be computed is None (NaN and infinities are treated the same way): the plot
leaves it out and names it in the caption, never draws it at zero. Intervals are optional; a point
without one is drawn without bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PairedDifference:
    """One forest-plot row: `first` minus `second` on `metric` ("score" or an axis), over shared cases."""

    first: str
    second: str
    metric: str
    difference: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class GateMargin:
    """A gate's threshold on a difference (for example a non-inferiority margin of -0.05)."""

    value: float
    label: str


@dataclass(frozen=True)
class ModelPoint:
    """One model in the quality/speed and quality/cost plots."""

    model: str
    score: float | None
    score_low: float | None = None
    score_high: float | None = None
    tokens_per_s: float | None = None  # decode throughput
    cost_per_1k_cases: float | None = None  # USD; None when the model has no price


@dataclass(frozen=True)
class AxisScore:
    """One model's score on one rubric axis."""

    model: str
    axis: str
    score: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class PairWinRate:
    """How often the `row` model beat the `column` model, over the cases both were judged on."""

    row: str
    column: str
    win_rate: float | None
    low: float | None = None
    high: float | None = None
    n: int | None = None  # cases compared


@dataclass(frozen=True)
class Rating:
    """A model's Bradley-Terry rating with its interval."""

    model: str
    rating: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class JudgeBias:
    """The judge's position preference and flips, from its own verdicts.

    `positions` is how many answers one judgment shows (k), so a judge without position preference picks
    the first one at the chance rate 1/k. The limits are the audit's thresholds, drawn when given.
    """

    positions: int
    first_position_rate: float | None
    flip_rate: float | None
    first_position_low: float | None = None
    first_position_high: float | None = None
    flip_low: float | None = None
    flip_high: float | None = None
    max_first_position_rate: float | None = None
    max_flip_rate: float | None = None
    judge: str | None = None


@dataclass(frozen=True)
class ExamCorruption:
    """The judge's exam result on one kind of corrupted answer: share of corruptions it caught."""

    corruption: str
    accuracy: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0


@dataclass(frozen=True)
class QuantLevel:
    """One rung of a quantization ladder (an exported GGUF file, or the float source)."""

    label: str
    size_mib: float | None
    score: float | None = None
    score_low: float | None = None
    score_high: float | None = None
    tokens_per_s: float | None = None
    mean_kl: float | None = None  # fidelity against the float model; None when not measured


@dataclass(frozen=True)
class LossSeries:
    """One run's loss per optimizer step, on the training data or on held-out data."""

    run: str
    split: Literal["train", "held-out"]
    points: tuple[tuple[float, float | None], ...]
