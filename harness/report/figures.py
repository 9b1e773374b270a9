"""The report's pictures, fed from a Results: which plots a run has data for, and their inputs.

Every picture is optional. A run without the data for one (no judge, no prices, one model, no quantization
levels) gets no picture at all, not an empty frame; `report_figures` returns only plots that drew marks.
Each model keeps one colour in every picture (the leaderboard order picks the colours).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from markupsafe import Markup

from ..results.model import Audit, AuditCheck, ModelResult, Results
from . import plots
from .formatting import is_number
from .plots import (AxisScore, ExamCorruption, GateMargin, JudgeBias, LossSeries, ModelPoint, PairedDifference,
                    PairWinRate, QuantLevel, Rating)
from .view import ranked_models

# Up to this many models the forest plot shows every pair; beyond it, each model against the reference one
# (the judge's baseline, else the suite's first model) and the pairs the gates name.
ALL_PAIRS_UP_TO = 4


def _low(ci) -> float | None:
    return ci[0] if isinstance(ci, (list, tuple)) and len(ci) == 2 else None


def _high(ci) -> float | None:
    return ci[1] if isinstance(ci, (list, tuple)) and len(ci) == 2 else None


def gate_margins(results: Results) -> list[GateMargin]:
    """The non-inferiority margins of the run's gates, as lines at -margin on the forest plot."""
    margins: dict[float, str] = {}
    for gate in results.spec.gates if results.spec else []:
        if isinstance(gate, dict) and gate.get("type") == "not_worse" and is_number(gate.get("margin")):
            margins.setdefault(-float(gate["margin"]), str(gate.get("name") or "non-inferiority margin"))
    return [GateMargin(value, label) for value, label in margins.items()]


def forest_pairs(results: Results, order: list[str]) -> list[tuple[str, str]]:
    """Which (first, second) pairs the forest plot shows: the gates' (candidate, baseline) pairs, then every
    pair with the higher-ranked model first (few models) or each model against the reference model."""
    pairs: list[tuple[str, str]] = []
    for gate in results.spec.gates if results.spec else []:
        if isinstance(gate, dict) and gate.get("candidate") and gate.get("baseline"):
            pairs.append((str(gate["candidate"]), str(gate["baseline"])))
    if len(order) <= ALL_PAIRS_UP_TO:
        pairs += [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
    else:
        reference = results.judge.baseline or (results.models[0].id if results.models else None)
        pairs += [(m, reference) for m in order if m != reference]
    seen: set[frozenset] = set()
    unique = []
    for pair in pairs:
        if pair[0] != pair[1] and frozenset(pair) not in seen:
            seen.add(frozenset(pair))
            unique.append(pair)
    return unique


def paired_differences(results: Results, order: list[str]) -> list[PairedDifference]:
    """Forest rows from the significance table (score and each axis; the win test is on another scale)."""
    rows_by_pair: dict[frozenset, list] = {}
    for row in results.significance or []:
        if row.metric == "score" or row.metric.startswith("axis:"):
            rows_by_pair.setdefault(frozenset((row.a, row.b)), []).append(row)
    out = []
    for first, second in forest_pairs(results, order):
        for row in rows_by_pair.get(frozenset((first, second)), []):
            metric = row.metric.removeprefix("axis:")
            if row.a == first:
                out.append(PairedDifference(first, second, metric, row.diff, _low(row.ci), _high(row.ci)))
            else:  # the same comparison seen from the other side
                diff = -row.diff if is_number(row.diff) else None
                low = -_high(row.ci) if _high(row.ci) is not None else None
                high = -_low(row.ci) if _low(row.ci) is not None else None
                out.append(PairedDifference(first, second, metric, diff, low, high))
    return out


def cases_attempted(model: ModelResult, results: Results) -> int | None:
    """Cases the model was asked: the recorded figure, else counted from the cases the results hold."""
    if model.cases:
        return model.cases
    counted = sum(1 for case in results.cases if model.id in case.answers)
    return counted or None


def model_points(results: Results, order: list[str]) -> list[ModelPoint]:
    points = []
    for model_id in order:
        model = results.model(model_id)
        cases = cases_attempted(model, results)
        cost = model.cost_usd / cases * 1000 if is_number(model.cost_usd) and cases else None
        points.append(ModelPoint(model.id, model.score, _low(model.score_ci), _high(model.score_ci),
                                 model.latency.tokens_per_s, cost))
    return points


def axis_scores(results: Results, order: list[str]) -> list[AxisScore]:
    scores = []
    for model_id in order:
        for axis, figure in results.model(model_id).axes.items():
            scores.append(AxisScore(model_id, axis, figure.score, _low(figure.ci), _high(figure.ci)))
    return scores


def win_rates(results: Results) -> list[PairWinRate]:
    rates = []
    for row in results.pairwise:
        rates.append(PairWinRate(row.a, row.b, row.win_rate, _low(row.ci), _high(row.ci), row.n))
        mirror = 1 - row.win_rate if is_number(row.win_rate) else None
        rates.append(PairWinRate(row.b, row.a, mirror, 1 - row.ci[1] if row.ci else None,
                                 1 - row.ci[0] if row.ci else None, row.n))
    return rates


def rating_points(results: Results) -> list[Rating]:
    if results.ratings is None:
        return []
    return [Rating(r.id, r.rating, _low(r.ci), _high(r.ci)) for r in results.ratings.models]


def _check(audit: Audit, name: str) -> AuditCheck | None:
    """The pooled check of that name (a panel's audit also lists its members' checks, each with its judge)."""
    named = [c for c in audit.checks if c.name == name]
    return next((c for c in named if c.judge is None), named[0] if len(named) == 1 else None)


def judge_bias(results: Results) -> JudgeBias | None:
    """Position preference and flips: from the audit's checks (interval, chance level, limit) when it has them,
    else from its plain rates and thresholds."""
    judge, audit = results.judge, results.judge.audit
    if audit is None:
        return None
    position, flips = _check(audit, "position"), _check(audit, "flips")
    chance = position.chance if position is not None else None
    if is_number(chance) and chance > 0:
        positions = round(1 / chance)
    elif judge.mode == "pairwise":
        positions = 2
    else:
        positions = len(results.models)
    return JudgeBias(
        positions=positions,
        first_position_rate=position.value if position else audit.first_position_rate,
        flip_rate=flips.value if flips else audit.flip_rate,
        first_position_low=_low(position.ci) if position else None,
        first_position_high=_high(position.ci) if position else None,
        flip_low=_low(flips.ci) if flips else None, flip_high=_high(flips.ci) if flips else None,
        max_first_position_rate=position.limit if position and position.limit is not None
        else audit.thresholds.get("max_first_position_rate"),
        max_flip_rate=flips.limit if flips and flips.limit is not None else audit.thresholds.get("max_flip_rate"),
        judge=judge.id)


def exam_corruptions(results: Results) -> tuple[list[ExamCorruption], float | None]:
    """The judge's exam per kind of corrupted answer (`judge.exam.by_corruption`) and the accuracy it must
    reach; ([], None) when the run has no exam."""
    exam = results.judge.exam
    if exam is None or not exam.judgments:
        return [], None
    return [ExamCorruption(name, f.accuracy, _low(f.ci), _high(f.ci), f.n) for name, f in exam.by_corruption.items()], \
        exam.min_accuracy


def quantization_levels(results: Results, order: list[str]) -> list[QuantLevel]:
    """A quantization ladder: two or more models of one family whose weights file has a size (a pipeline's
    exports). Models of different families are different models, not rungs of one ladder; with several
    families, the one with the most sized models (the first of them on a tie)."""
    families: dict[str, list[QuantLevel]] = {}
    for model in (results.model(i) for i in order):
        if is_number(model.size_mib) and model.family:
            families.setdefault(model.family, []).append(QuantLevel(
                model.id, model.size_mib, model.score, _low(model.score_ci), _high(model.score_ci),
                model.latency.tokens_per_s))
    ladders = sorted(families.values(), key=len, reverse=True)
    return ladders[0] if ladders and len(ladders[0]) >= 2 else []


def report_figures(results: Results, training_manifests: Sequence[Path] = ()) -> dict[str, dict]:
    """{kind: {"svg": Markup, "caption": str, "marks": int}} for every picture the run has data for. Kinds:
    forest, speed, cost, axes, winrate, ratings, judge, quantization, loss."""
    order = [m.id for m, _rank in ranked_models(results.models)]
    colours = plots.model_colours(order)
    drawn = []
    differences = paired_differences(results, order)
    if any(is_number(d.difference) for d in differences):
        drawn.append(plots.forest_plot(differences, gate_margins(results), colours))
    points = model_points(results, order)
    if any(is_number(p.score) and is_number(p.tokens_per_s) for p in points):
        drawn.append(plots.quality_speed_plot(points, colours))
    if any(is_number(p.score) and is_number(p.cost_per_1k_cases) for p in points):
        drawn.append(plots.quality_cost_plot(points, colours))
    scores = axis_scores(results, order)
    if any(is_number(s.score) for s in scores):
        drawn.append(plots.axis_scores_plot(scores, colours))
    rates = win_rates(results)
    if any(is_number(r.win_rate) for r in rates):
        drawn.append(plots.win_rate_matrix_plot(rates, order))
    ratings = rating_points(results)
    if any(is_number(r.rating) for r in ratings):
        drawn.append(plots.ratings_plot(ratings, colours))
    bias = judge_bias(results)
    exam, threshold = exam_corruptions(results)
    if (bias and (is_number(bias.first_position_rate) or is_number(bias.flip_rate))) or exam:
        drawn.append(plots.judge_audit_plot(bias, exam, threshold))
    levels = quantization_levels(results, order)
    if levels:
        drawn.append(plots.quantization_ladder_plot(levels))
    series: list[LossSeries] = []
    for manifest in training_manifests:
        series += plots.loss_series_from_manifest(manifest)
    if series:
        drawn.append(plots.loss_curves_plot(series, colours=colours))
    return {p.kind: {"svg": Markup(p.svg), "caption": p.caption, "marks": p.marks} for p in drawn if p.marks > 0}
