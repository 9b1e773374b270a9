"""What the report shows, worked out from a results dict: ordering, lookups and derived flags.

Pure functions over plain dicts, so the templates only lay things out. Optional fields of results.json
(the verdict fields and older runs' gaps) come out as `None` or empty, and the template leaves out a
section whose data is absent.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .formatting import is_number


def check_results(results: Any) -> None:
    """Raise ConfigError when `results` lacks what every report needs (a suite, a run id, models)."""
    if not isinstance(results, dict):
        raise ConfigError("results must be a JSON object")
    missing = [key for key in ("run_id", "suite", "models") if key not in results]
    if missing:
        raise ConfigError(f"results lacks the field(s): {', '.join(missing)}")
    if not isinstance(results["suite"], dict) or "name" not in results["suite"]:
        raise ConfigError("results.suite must be an object with a 'name'")
    models = results["models"]
    if not isinstance(models, list) or not all(isinstance(m, dict) and "id" in m for m in models):
        raise ConfigError("results.models must be a list of objects, each with an 'id'")


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def ranked_models(models: list[dict]) -> list[dict]:
    """Models best score first, each with `rank`. Equal scores share a rank (1, 1, 3); a model without
    a score comes last, unranked. Ties keep the order of results.json."""
    indexed = list(enumerate(models))
    indexed.sort(key=lambda pair: (not is_number(pair[1].get("score")), -(pair[1].get("score") or 0), pair[0]))
    ranked, previous_score, previous_rank = [], None, 0
    for position, (_, model) in enumerate(indexed, start=1):
        score = model.get("score")
        if not is_number(score):
            rank = None
        elif score == previous_score:
            rank = previous_rank
        else:
            rank = position
        previous_score, previous_rank = score, rank
        ranked.append({**model, "rank": rank})
    return ranked


def ratings_by_model(ratings: dict | None) -> dict[str, dict]:
    entries = _list(_dict(ratings).get("models"))
    return {entry["id"]: entry for entry in entries if isinstance(entry, dict) and "id" in entry}


def sorted_by_rating(entries: list) -> list[dict]:
    """Highest rating first; entries without a rating last."""
    entries = [entry for entry in entries if isinstance(entry, dict)]
    return sorted(entries, key=lambda entry: (not is_number(entry.get("rating")), -(entry.get("rating") or 0)))


def axis_names(models: list[dict], field: str = "axes") -> list[str]:
    """Every axis (or theme, with field="themes") any model has, in the order first met."""
    names: list[str] = []
    for model in models:
        for axis in _dict(model.get(field)):
            if axis not in names:
                names.append(axis)
    return names


def _mirror(row: dict) -> dict:
    """The same comparison seen from the other side: b's win rate over a."""
    win_rate, ci = row.get("win_rate"), row.get("ci")
    mirrored_ci = None
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(is_number(x) for x in ci):
        mirrored_ci = [1 - ci[1], 1 - ci[0]]
    return {**row, "a": row.get("b"), "b": row.get("a"), "wins": row.get("losses"), "losses": row.get("wins"),
            "win_rate": 1 - win_rate if is_number(win_rate) else None, "ci": mirrored_ci}


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


def win_matrix(model_ids: list[str], pairwise: list[dict]) -> list[dict]:
    """Rows of {model, cells}; each cell is {column, pair}, where pair says how often the row model beats
    the column model (None on the diagonal or where the two were not compared). results.json holds each
    pair once; the other side is its mirror image."""
    given = {(row.get("a"), row.get("b")): row for row in pairwise if isinstance(row, dict)}
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
            if pair is not None:
                p_adjusted = pair.get("p_adjusted")
                pair = {**pair, "tone": _tone(pair.get("win_rate")),
                        "significant": is_number(p_adjusted) and p_adjusted < 0.05}
            row_cells.append({"column": column_id, "pair": pair})
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


def audit_rows(audit: dict) -> list[dict]:
    """The audit's rates with the limit each must respect and whether it breaks it."""
    thresholds = _dict(audit.get("thresholds"))
    rows = []
    for key, label in AUDIT_RATES:
        if key not in audit:
            continue
        value, limit, bound = audit[key], None, None
        if is_number(thresholds.get(f"max_{key}")):
            limit, bound = thresholds[f"max_{key}"], "max"
        elif is_number(thresholds.get(f"min_{key}")):
            limit, bound = thresholds[f"min_{key}"], "min"
        breaks = is_number(value) and limit is not None and (value > limit if bound == "max" else value < limit)
        rows.append({"key": key, "label": label, "value": value, "limit": limit, "bound": bound, "breaks": breaks})
    return rows


def judge_view(judge: dict | None) -> dict:
    judge = _dict(judge)
    audit = judge.get("audit") if isinstance(judge.get("audit"), dict) else None
    return {**judge, "audit": audit, "audit_rows": audit_rows(audit) if audit else []}


def _orders_disagree(judgments: list[dict]) -> bool:
    """True when, within one repetition, two orders that both produced a ranking rank differently."""
    by_rep: dict[Any, list] = {}
    for judgment in judgments:
        if judgment.get("ranking") and not judgment.get("error"):
            by_rep.setdefault(judgment.get("rep"), []).append(tuple(judgment["ranking"]))
    return any(len(set(rankings)) > 1 for rankings in by_rep.values())


def _answer_view(model_id: str, answer: dict) -> dict:
    criteria = [criterion for criterion in _list(answer.get("criteria")) if isinstance(criterion, dict)]
    return {**answer, "model": model_id, "axes": _dict(answer.get("axes")), "criteria": criteria}


def case_views(cases: list[dict], model_order: list[str]) -> list[dict]:
    """Cases with answers in leaderboard order (answers from other models after them)."""
    views = []
    for case in cases:
        if not isinstance(case, dict):
            continue
        answers = _dict(case.get("answers"))
        ordered = [m for m in model_order if m in answers] + [m for m in answers if m not in model_order]
        judgments = [j for j in _list(case.get("judgments")) if isinstance(j, dict)]
        answer_views = [_answer_view(model_id, _dict(answers[model_id])) for model_id in ordered]
        views.append({
            "id": case.get("id"),
            "tags": _list(case.get("tags")),
            "messages": [m for m in _list(case.get("messages")) if isinstance(m, dict)],
            "reference": case.get("reference"),
            "answers": answer_views,
            "by_model": {answer["model"]: answer for answer in answer_views},
            "judgments": judgments,
            "orders_disagree": _orders_disagree(judgments),
        })
    return views


def build_view(results: dict) -> dict:
    """Everything the report template needs, with every optional part present (possibly None/empty)."""
    check_results(results)
    ratings = results.get("ratings") if isinstance(results.get("ratings"), dict) else None
    if ratings is not None:
        ratings = {**ratings, "models": sorted_by_rating(_list(ratings.get("models")))}
    rating_of = ratings_by_model(ratings)
    leaderboard = [{**model, "rating": rating_of.get(model["id"])} for model in ranked_models(results["models"])]
    model_order = [model["id"] for model in leaderboard]
    power = results.get("power") if isinstance(results.get("power"), dict) else None
    return {
        "run_id": results["run_id"],
        "created_at": results.get("created_at"),
        "wall_time_s": results.get("wall_time_s"),
        "schema_version": results.get("schema_version"),
        "suite": results["suite"],
        "judge": judge_view(results.get("judge")),
        "generation": _dict(results.get("generation")),
        "leaderboard": leaderboard,
        "axes": axis_names(leaderboard),
        "themes": axis_names(leaderboard, "themes"),
        "has_ratings": bool(rating_of),
        "ratings": ratings,
        "style_ratings": ratings_by_model(_dict(ratings).get("style_control")),
        "matrix": win_matrix(model_order, _list(results.get("pairwise"))),
        "pairwise": [row for row in _list(results.get("pairwise")) if isinstance(row, dict)],
        "significance": [row for row in _list(results.get("significance")) if isinstance(row, dict)],
        "power": power,
        "gates": [gate for gate in _list(results.get("gates")) if isinstance(gate, dict)],
        "cases": case_views(_list(results.get("cases")), model_order),
    }
