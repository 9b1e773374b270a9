"""The DataFrames the statistics read, made from a run's rows, and the small conversions results need."""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from ..cases import Case
from ..grading import case_score
from ..records import Answer, Judgment

_MARKDOWN = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|>\s)|\*\*|__|`", re.MULTILINE)


def markdown_density(text: str) -> float:
    """Markdown marks (headings, list items, bold, code) per 100 characters: a style covariate."""
    return 100.0 * len(_MARKDOWN.findall(text)) / max(len(text), 1)


def num(x: Any) -> Any:
    """A figure as a plain float, None when it is missing or NaN."""
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    return None if math.isnan(f) else f


def ci(low: Any, high: Any) -> list | None:
    low, high = num(low), num(high)
    return None if low is None or high is None else [low, high]


def unit(j: Judgment) -> str:
    """What one judge saw the same way in every order: a case (rank mode) or a case and pair (pairwise)."""
    return j.case_id if j.pair is None else f"{j.case_id}|{j.pair[0]}|{j.pair[1]}"


def frames(cases: list[Case], answers: list[Answer], judgments: list[Judgment]) -> dict[str, pd.DataFrame]:
    """Per-case scores (overall, per axis, per theme), latencies, answer lengths, rankings and judgments."""
    score_rows, group_rows, theme_rows, latency_rows, length_rows = [], [], [], [], []
    themes = {case.id: case.meta.get("theme") for case in cases}
    for answer in answers:
        case_id, model_id, c = answer.case_id, answer.model_id, answer.completion
        latency_rows.append({"model": model_id, "case_id": case_id, "ttft_s": c.ttft_s, "latency_s": c.latency_s,
                             "tokens_per_s": c.tokens_per_s, "output_tokens": c.output_tokens, "error": c.error,
                             "cost_usd": c.cost_usd})
        if not answer.ok:
            continue
        length_rows.append({"case_id": case_id, "model": model_id, "n_chars": len(c.text),
                            "markdown_density": markdown_density(c.text)})
        score = case_score(answer.criteria)
        if score is not None:
            score_rows.append({"model": model_id, "case_id": case_id, "score": score})
            if themes.get(case_id):
                theme_rows.append({"model": model_id, "case_id": case_id, "group": themes[case_id], "score": score})
        for axis in sorted({r.axis for r in answer.criteria}):
            axis_score = case_score(answer.criteria, axis)
            if axis_score is not None:
                group_rows.append({"model": model_id, "case_id": case_id, "group": axis, "score": axis_score})
    rank_rows, judgment_rows = [], []
    for j in judgments:
        # One "rep" per judge and judgment, so a panel's verdicts average like extra orders.
        rep = f"{j.judge_id}|{j.rep}"
        judgment_rows.append({"case_id": j.case_id, "rep": rep, "order": j.order, "ranking": j.ranking,
                              "error": j.error, "judge": j.judge_id, "unit": unit(j)})
        if j.ranking:
            for position, model_id in enumerate(j.ranking, start=1):
                rank_rows.append({"case_id": j.case_id, "rep": rep, "model": model_id, "rank": position})
    return {
        "case_scores": pd.DataFrame(score_rows, columns=["model", "case_id", "score"]),
        "group_scores": pd.DataFrame(group_rows, columns=["model", "case_id", "group", "score"]),
        "theme_scores": pd.DataFrame(theme_rows, columns=["model", "case_id", "group", "score"]),
        "latencies": pd.DataFrame(latency_rows, columns=["model", "case_id", "ttft_s", "latency_s", "tokens_per_s",
                                                         "output_tokens", "error", "cost_usd"]),
        "lengths": pd.DataFrame(length_rows, columns=["case_id", "model", "n_chars", "markdown_density"]),
        "rankings": pd.DataFrame(rank_rows, columns=["case_id", "rep", "model", "rank"]),
        "judgments": pd.DataFrame(judgment_rows, columns=["case_id", "rep", "order", "ranking", "error", "judge",
                                                          "unit"]),
    }
