"""The DataFrames the statistics read, made from a run's rows, and the small conversions results need.

Two views of the scores: a model's own (every case it was asked; an unanswered case counts as the suite's
`scoring.missing` says) and the comparison (only the cases every compared model answered and that were fully
graded, so no model looks better for having skipped the hard ones). Judgments enter the win rates only when
every order of their unit gave a verdict.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from ..cases import Case
from ..grading import case_score
from ..records import Answer, CriterionResult, Judgment
from ..rubric import Criterion, applicable_criteria

_MARKDOWN = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|>\s)|\*\*|__|`", re.MULTILINE)


def markdown_density(text: str) -> float:
    """Markdown marks (headings, list items, bold, code) per 100 characters: a style covariate."""
    return 100.0 * len(_MARKDOWN.findall(text)) / max(len(text), 1)


def num(x: Any) -> Any:
    """A figure as a plain float, None when it is missing, NaN or infinite."""
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    return f if math.isfinite(f) else None


def ci(low: Any, high: Any) -> list | None:
    low, high = num(low), num(high)
    return None if low is None or high is None else [low, high]


def unit(j: Judgment) -> tuple:
    """What one judge saw the same way in every order: a case's answers of one sample (rank mode), or a pair of
    them (pairwise)."""
    return (j.case_id, j.sample) if j.pair is None else (j.case_id, j.sample, *j.pair)


def missing_criteria(case: Case, rubric_criteria: list[Criterion], judged: bool) -> list[CriterionResult]:
    """The criteria of a case with no answer, none met (what `scoring.missing: zero` scores); the ones a judge
    would grade are skipped when the run has no judge grading, as they are for every answer."""
    return [CriterionResult(c.id, c.axis, c.points, False if (c.check is not None or judged) else None,
                            "missing" if (c.check is not None or judged) else "skipped", "no answer")
            for c in applicable_criteria(rubric_criteria, case.criteria, case.tags)]


def complete_units(judgments: list[Judgment]) -> tuple[list[Judgment], int]:
    """The judgments of units where every order gave a verdict, and how many units had some order without
    one (left out of win rates: one order alone carries the position bias that the other order cancels)."""
    by_unit: dict[tuple, list[Judgment]] = {}
    for j in judgments:
        by_unit.setdefault((j.judge_id, unit(j)), []).append(j)
    kept, incomplete = [], 0
    for group in by_unit.values():
        verdicts = sum(1 for j in group if j.ranking)
        if verdicts == len(group):
            kept += group
        elif verdicts:
            incomplete += 1
    keep = {id(j) for j in kept}
    return [j for j in judgments if id(j) in keep], incomplete


def verdict_counts(judgments: list[Judgment], a: str, b: str) -> dict[str, int] | None:
    """How many graded judgments of the pair said each of a>>b, a>b, a=b, b>a, b>>a (None: no graded verdict)."""
    counts = dict.fromkeys(("a>>b", "a>b", "a=b", "b>a", "b>>a"), 0)
    graded = [j for j in judgments if j.strength and j.ranking and set(j.ranking) == {a, b}]
    for j in graded:
        sign = ">>" if j.strength == "strong" else ">"
        counts["a=b" if j.tie else f"a{sign}b" if j.ranking[0] == a else f"b{sign}a"] += 1
    return counts if graded else None


CODE_SOURCES = ("check", "flag", "missing")  # verdicts decided by code, never by a judge


def checks_only(answer: Answer) -> Answer:
    """The answer with only the criteria code decides: the check-only figures leave judge-graded criteria out."""
    return Answer(answer.case_id, answer.model_id, answer.completion,
                  [r for r in answer.criteria if r.source in CODE_SOURCES], answer.flags, answer.sample)


def _score_rows(answers: list[Answer], themes: dict[str, Any]) -> tuple[list, list, list]:
    """Scores of each answer (one row per sample), overall, per axis and per theme."""
    score_rows, group_rows, theme_rows = [], [], []
    for answer in answers:
        at = {"model": answer.model_id, "case_id": answer.case_id, "sample": answer.sample}
        score = case_score(answer.criteria)
        if score is not None:
            score_rows.append({**at, "score": score})
            if themes.get(answer.case_id):
                theme_rows.append({**at, "group": themes[answer.case_id], "score": score})
        for axis in sorted({r.axis for r in answer.criteria}):
            axis_score = case_score(answer.criteria, axis)
            if axis_score is not None:
                group_rows.append({**at, "group": axis, "score": axis_score})
    return score_rows, group_rows, theme_rows


def case_level(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """One row per (model, case[, group]): the mean over the case's samples, the case being the unit every
    interval resamples (repeats nested inside it). Rows keep the order of their first sample, so a run with one
    sample per case gives back its rows as they were."""
    frame = pd.DataFrame(rows, columns=[*columns, "sample"])
    if not frame.duplicated(columns[:-1]).any():
        return frame[columns]
    return frame.groupby(columns[:-1], sort=False, as_index=False)["score"].mean()[columns]


def frames(cases: list[Case], answers: list[Answer], judgments: list[Judgment], *, shared: set[str],
           missing: str, rubric_criteria: list[Criterion], judged: bool, strong_weight: float = 1.0) -> dict[str, Any]:
    """Own scores (with the missing policy), comparison scores and rankings (shared cases, complete units; a
    graded verdict's strong preference weighs `strong_weight` games), latencies (every call), answer lengths."""
    themes = {case.id: case.meta.get("theme") for case in cases}
    by_id = {case.id: case for case in cases}
    own = []
    for answer in answers:
        if answer.ok:
            own.append(answer)
        elif missing == "zero":
            own.append(Answer(answer.case_id, answer.model_id, answer.completion,
                              missing_criteria(by_id[answer.case_id], rubric_criteria, judged), sample=answer.sample))
    own_scores, own_groups, own_themes = _score_rows(own, themes)
    compared = [a for a in answers if a.case_id in shared]
    score_rows, group_rows, _ = _score_rows(compared, themes)
    # Check-only: the criteria code decides, on every case (answered ones; unanswered per the missing policy),
    # compared on the cases every model answered (no judge grading needed).
    answered_by_all = {a.case_id for a in answers} - {a.case_id for a in answers if not a.ok}
    check_own, check_own_groups, _ = _score_rows([checks_only(a) for a in own], themes)
    check_rows, check_groups, _ = _score_rows([checks_only(a) for a in answers if a.case_id in answered_by_all],
                                              themes)
    latency_rows, length_rows = [], []
    for answer in answers:
        for c in answer.turns or [answer.completion]:  # a multi-turn answer: one call per turn
            latency_rows.append({"model": answer.model_id, "case_id": answer.case_id, "ttft_s": c.ttft_s,
                                 "latency_s": c.latency_s, "tokens_per_s": c.tokens_per_s,
                                 "output_tokens": c.output_tokens, "error": c.error, "cost_usd": c.cost_usd})
        c = answer.completion
        if answer.ok:
            length_rows.append({"case_id": answer.case_id, "model": answer.model_id, "n_chars": len(c.text),
                                "markdown_density": markdown_density(c.text)})
    lengths = pd.DataFrame(length_rows, columns=["case_id", "model", "n_chars", "markdown_density"])
    if lengths.duplicated(["case_id", "model"]).any():  # repeats: a model's mean over its samples of the case
        lengths = lengths.groupby(["case_id", "model"], sort=False, as_index=False).mean()
    complete, incomplete = complete_units([j for j in judgments if j.case_id in shared])
    rank_rows, judgment_rows = [], []
    rep_ids: dict[tuple, int] = {}
    for j in judgments:
        judgment_rows.append({"case_id": j.case_id, "rep": j.rep, "order": j.order, "ranking": j.ranking,
                              "error": j.error, "judge": j.judge_id, "unit": unit(j), "attempts": j.attempts,
                              "strength": j.strength})
    for j in complete:
        # One "rep" per judge, sample and judgment, so a panel's verdicts average like extra orders and a case's
        # samples like more judgments of the case: its outcome is its share over samples and orders.
        weight = strong_weight if j.strength == "strong" else 1.0
        for model_id, position in j.ranks().items():
            rep = rep_ids.setdefault((j.judge_id, j.sample, j.rep), len(rep_ids))
            rank_rows.append({"case_id": j.case_id, "rep": rep, "model": model_id, "rank": position,
                              "weight": weight})
    columns = ["model", "case_id", "score"]
    grouped = ["model", "case_id", "group", "score"]
    return {
        "check_own": case_level(check_own, columns),
        "check_own_groups": case_level(check_own_groups, grouped),
        "check_scores": case_level(check_rows, columns),
        "check_groups": case_level(check_groups, grouped),
        "own_scores": case_level(own_scores, columns),
        "own_groups": case_level(own_groups, grouped),
        "own_themes": case_level(own_themes, grouped),
        "case_scores": case_level(score_rows, columns),
        "group_scores": case_level(group_rows, grouped),
        # one row per sample of the model's own scores: the repeats' variance split reads it
        "sample_scores": pd.DataFrame(own_scores, columns=["model", "case_id", "sample", "score"]),
        "latencies": pd.DataFrame(latency_rows, columns=["model", "case_id", "ttft_s", "latency_s", "tokens_per_s",
                                                         "output_tokens", "error", "cost_usd"]),
        "lengths": lengths,
        "rankings": pd.DataFrame(rank_rows, columns=["case_id", "rep", "model", "rank", "weight"]),
        "judgments": pd.DataFrame(judgment_rows, columns=["case_id", "rep", "order", "ranking", "error", "judge",
                                                          "unit", "attempts", "strength"]),
        "incomplete_units": incomplete,
        "compared_judgments": complete,  # the judgments the win rates count
    }
