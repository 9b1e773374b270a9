"""The report's pictures, as inline SVG with a one-line caption each.

Every plot function takes plain records (see `inputs`) and returns a `Plot`: an <svg> element with no
external reference, ready to be placed in the page, its caption, and the number of marks drawn. Missing
figures are left out of the picture and named in the caption. matplotlib is imported only when a plot
is drawn. Pass the same `model_colours(...)` mapping to every plot so a model keeps its colour.
"""

from __future__ import annotations

from ._common import model_colours, short_names
from ._svg import Plot
from .comparisons import axis_scores_plot, forest_plot, ratings_plot, win_rate_matrix_plot
from .inputs import (AxisScore, ExamCorruption, GateMargin, JudgeBias, LossSeries, ModelPoint, PairedDifference,
                     PairWinRate, QuantLevel, Rating)
from .judge import judge_audit_plot
from .pareto import pareto_front
from .tradeoffs import quality_cost_plot, quality_speed_plot, quantization_ladder_plot
from .training import loss_curves_plot, loss_series_from_manifest

__all__ = [
    "Plot", "model_colours", "short_names", "pareto_front",
    "forest_plot", "axis_scores_plot", "win_rate_matrix_plot", "ratings_plot",
    "quality_speed_plot", "quality_cost_plot", "quantization_ladder_plot",
    "judge_audit_plot", "loss_curves_plot", "loss_series_from_manifest",
    "AxisScore", "ExamCorruption", "GateMargin", "JudgeBias", "LossSeries", "ModelPoint", "PairedDifference",
    "PairWinRate", "QuantLevel", "Rating",
]
