"""What the report shows, worked out from a Results: ordering, lookups and derived flags.

The template receives plain JSON-ready data (every field of the Results present, null where a figure is
missing) plus what is derived here, so it only lays things out; a section whose data is absent is left out.
"""

from __future__ import annotations

from typing import Any

from ..records import verdict_key
from ..results.model import Audit, CaseResult, JudgmentRow, ModelResult, PairwiseRow, Ratings, Results
from .formatting import is_number


def ranked_models(models: list[ModelResult]) -> list[tuple[ModelResult, int | None]]:
    """Models best score first, each with its rank. Equal scores share a rank (1, 1, 3); a model without a
    score comes last, unranked. Ties keep the order of the results."""
    indexed = sorted(enumerate(models), key=lambda pair: (not is_number(pair[1].score), -(pair[1].score or 0),
                                                          pair[0]))
    ranked, previous_score, previous_rank = [], None, 0
    for position, (_, model) in enumerate(indexed, start=1):
        if not is_number(model.score):
            rank = None
        elif model.score == previous_score:
            rank = previous_rank
        else:
            rank = position
        previous_score, previous_rank = model.score, rank
        ranked.append((model, rank))
    return ranked


def axis_names(models: list[ModelResult], field: str = "axes") -> list[str]:
    """Every axis (or theme, with field="themes") any model has, in the order first met."""
    names: list[str] = []
    for model in models:
        for axis in getattr(model, field) or {}:
            if axis not in names:
                names.append(axis)
    return names


def _mirror(row: PairwiseRow) -> PairwiseRow:
    """The same comparison seen from the other side: b's win rate over a."""
    return row.model_copy(update={
        "a": row.b, "b": row.a, "wins": row.losses, "losses": row.wins,
        "win_rate": 1 - row.win_rate if is_number(row.win_rate) else None,
        "ci": [1 - row.ci[1], 1 - row.ci[0]] if row.ci else None})


def _tone(win_rate: Any) -> str:
    """A colour class for a matrix cell: how far the row's win rate lies from even."""
    if not is_number(win_rate):
        return "none"
    if win_rate >= 0.65:
        return "win2"
    if win_rate > 0.55:
        return "win1"
    if win_rate <= 0.35:
        return "loss2"
    if win_rate < 0.45:
        return "loss1"
    return "even"


def win_matrix(model_ids: list[str], pairwise: list[PairwiseRow]) -> list[dict]:
    """Rows of {model, cells}; each cell is {column, pair}, where pair says how often the row model beats
    the column model (None on the diagonal or where the two were not compared). The results hold each pair
    once; the other side is its mirror image."""
    given = {(row.a, row.b): row for row in pairwise}
    cells = dict(given)
    for (a, b), row in given.items():
        cells.setdefault((b, a), _mirror(row))
    ids = list(model_ids)
    for a, b in given:
        for model_id in (a, b):
            if model_id not in ids:
                ids.append(model_id)
    rows = []
    for row_id in ids:
        row_cells = []
        for column_id in ids:
            pair = None if row_id == column_id else cells.get((row_id, column_id))
            shown = None
            if pair is not None:
                shown = {**pair.model_dump(mode="json"), "tone": _tone(pair.win_rate),
                         "significant": is_number(pair.p_adjusted) and pair.p_adjusted < 0.05}
            row_cells.append({"column": column_id, "pair": shown})
        rows.append({"model": row_id, "cells": row_cells})
    return rows


# The audit's rate figures, each checked against `max_<name>` or `min_<name>` in its thresholds.
AUDIT_RATES = [
    ("position_consistency", "Position consistency (same ranking in every order)"),
    ("flip_rate", "Flip rate (orders disagree)"),
    ("first_position_rate", "First-position rate"),
    ("longer_answer_rate", "Longer-answer rate"),
    ("parse_failure_rate", "Parse-failure rate"),
]


def audit_rows(audit: Audit) -> list[dict]:
    """The audit's rates with the limit each must respect and whether it breaks it."""
    rows = []
    for key, label in AUDIT_RATES:
        value, limit, bound = getattr(audit, key), None, None
        if is_number(audit.thresholds.get(f"max_{key}")):
            limit, bound = audit.thresholds[f"max_{key}"], "max"
        elif is_number(audit.thresholds.get(f"min_{key}")):
            limit, bound = audit.thresholds[f"min_{key}"], "min"
        breaks = is_number(value) and limit is not None and (value > limit if bound == "max" else value < limit)
        rows.append({"key": key, "label": label, "value": value, "limit": limit, "bound": bound, "breaks": breaks})
    return rows


def orders_disagree(judgments: list[JudgmentRow]) -> bool:
    """True when one judge ranked the same answers differently in two orders (within one pair, in pairwise
    mode); different judges of a panel disagreeing is not an order effect."""
    by_unit: dict[Any, set] = {}
    for j in judgments:
        if j.ranking and not j.error:
            by_unit.setdefault((j.judge, tuple(j.pair or ())), set()).add(verdict_key(j.ranking, j.strength))
    return any(len(rankings) > 1 for rankings in by_unit.values())


def case_views(cases: list[CaseResult], model_order: list[str]) -> list[dict]:
    """Cases with answers in leaderboard order (answers from other models after them)."""
    views = []
    for case in cases:
        ordered = [m for m in model_order if m in case.answers] + [m for m in case.answers if m not in model_order]
        answers = [{**case.answers[m].model_dump(mode="json"), "model": m} for m in ordered]
        views.append({
            **case.model_dump(mode="json", exclude={"answers"}),
            "answers": answers,
            "by_model": {answer["model"]: answer for answer in answers},
            "orders_disagree": orders_disagree(case.judgments),
        })
    return views


def coverage(model: ModelResult, results: Results) -> dict | None:
    """Cases asked, answered and fully graded, shown beside the model's score. The recorded figures when the
    results have them; for older results, counted from the cases they hold (graded then stays unknown)."""
    if model.cases:
        return {"cases": model.cases, "answered": model.answered, "graded": model.graded}
    answers = [case.answers[model.id] for case in results.cases if model.id in case.answers]
    if not answers:
        return None
    graded = [a.graded for a in answers]
    return {"cases": len(answers), "answered": sum(1 for a in answers if not a.error),
            "graded": None if None in graded else sum(graded)}


def _ratings_view(ratings: Ratings | None) -> tuple[dict | None, dict, dict]:
    """The ratings (highest first), and each model's plain and style-controlled rating by id."""
    if ratings is None:
        return None, {}, {}
    ordered = sorted(ratings.models, key=lambda r: (not is_number(r.rating), -(r.rating or 0)))
    shown = {**ratings.model_dump(mode="json"), "models": [r.model_dump(mode="json") for r in ordered]}
    plain = {r.id: r.model_dump(mode="json") for r in ratings.models}
    styled = {r.id: r.model_dump(mode="json") for r in ratings.style_control.models} if ratings.style_control else {}
    return shown, plain, styled


def build_view(results: Results, *, case_details: bool = True) -> dict:
    """Everything the report template needs, with every optional part present (possibly None/empty).
    `case_details=False` leaves out the per-case views (a run too large to lay every case out as HTML)."""
    ratings, rating_of, style_of = _ratings_view(results.ratings)
    ranked = ranked_models(results.models)
    leaderboard = [{**model.model_dump(mode="json"), "rank": rank, "rating": rating_of.get(model.id),
                    "coverage": coverage(model, results)}
                   for model, rank in ranked]
    model_order = [model.id for model, _ in ranked]
    judge = results.judge.model_dump(mode="json")
    judge["audit_rows"] = audit_rows(results.judge.audit) if results.judge.audit else []
    return {
        "run_id": results.run_id,
        "created_at": results.created_at,
        "wall_time_s": results.wall_time_s,
        "stages": results.stages.model_dump(mode="json") if results.stages else None,
        "schema_version": results.schema_version,
        "suite": results.suite.model_dump(mode="json"),
        "judge": judge,
        "generation": results.generation.model_dump(mode="json"),
        "cost": results.cost.model_dump(mode="json") if results.cost else None,
        "leaderboard": leaderboard,
        "axes": axis_names([m for m, _ in ranked]),
        "themes": axis_names([m for m, _ in ranked], "themes"),
        "has_ratings": bool(rating_of),
        "ratings": ratings,
        "style_ratings": style_of,
        "matrix": win_matrix(model_order, results.pairwise),
        "pairwise": [row.model_dump(mode="json") for row in results.pairwise],
        "significance": [row.model_dump(mode="json") for row in results.significance or []],
        "power": results.power.model_dump(mode="json") if results.power else None,
        "gates": [gate.model_dump(mode="json") for gate in results.gates or []],
        "ifeval": [{"id": mid, **results.ifeval[mid].model_dump(mode="json")} for mid in model_order
                   if mid in (results.ifeval or {})],
        "fidelity": results.fidelity.model_dump(mode="json") if results.fidelity is not None else None,
        "judge_scores": [{"id": m.id, **m.judge_scores.model_dump(mode="json")} for m in results.models
                         if m.judge_scores is not None],
        "cases": case_views(results.cases, model_order) if case_details else [],
        "case_count": len(results.cases),
        "flag_names": sorted({flag for model in results.models for flag in model.flags}),
    }
