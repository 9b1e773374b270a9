"""Design figures: what a comparison can resolve, decided from the number of cases and the spread of the paired
differences before looking at whether a gate passed (a gate passes on its own test; these only warn).

- `design_power`: per pair and metric, the smallest paired difference a two-sided test at `alpha` detects
  with `power`, with the t distribution (small suites): (t[1-alpha/2, n-1] + t[power, n-1]) * sd / sqrt(n).
- `paired_counts`: how many cases each comparison rests on.
- `length_support`: whether a length-controlled win rate would extrapolate (the two answers' length
  difference hardly changes sign across cases), with the reason it is left out.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import t as student_t


def min_detectable_difference(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float | None:
    if n < 2 or not math.isfinite(sd):
        return None
    df = n - 1
    return float((student_t.ppf(1 - alpha / 2, df) + student_t.ppf(power, df)) * sd / math.sqrt(n))


def _metric(group: str) -> str:
    return f"axis:{group}"


def _paired(scores: pd.DataFrame) -> pd.DataFrame:
    return scores.groupby(["case_id", "model"])["score"].mean().unstack("model")


def design_power(case_scores: pd.DataFrame, group_scores: pd.DataFrame | None, alpha: float = 0.05,
                 power: float = 0.8) -> list[dict]:
    """[{a, b, metric, n, sd, min_detectable}] for every pair of models, on the score and each axis."""
    tables = [("score", case_scores)]
    if group_scores is not None and len(group_scores):
        tables += [(_metric(g), rows) for g, rows in group_scores.groupby("group", sort=False)]
    out = []
    for metric, rows in tables:
        if rows is None or rows.empty:
            continue
        wide = _paired(rows)
        models = list(dict.fromkeys(rows["model"]))
        for i, a in enumerate(models):
            for b in models[i + 1:]:
                differences = (wide[a] - wide[b]).dropna().to_numpy(float)
                n = int(differences.size)
                sd = float(np.std(differences, ddof=1)) if n >= 2 else float("nan")
                out.append({"a": a, "b": b, "metric": metric, "n": n, "sd": sd if n >= 2 else None,
                            "min_detectable": min_detectable_difference(sd, n, alpha, power)})
    return out


def paired_counts(case_scores: pd.DataFrame, group_scores: pd.DataFrame | None,
                  outcomes: pd.DataFrame | None) -> dict[tuple[str, str, str], int]:
    """(a, b, metric) -> cases the comparison rests on, in both orders of a and b."""
    counts = {}
    for row in design_power(case_scores, group_scores):
        counts[(row["a"], row["b"], row["metric"])] = counts[(row["b"], row["a"], row["metric"])] = row["n"]
    if outcomes is not None and len(outcomes):
        for (a, b), rows in outcomes.groupby(["a", "b"], sort=False):
            counts[(a, b, "wins")] = int(rows["case_id"].nunique())
    return counts


def length_support(outcomes: pd.DataFrame, lengths: pd.DataFrame, model: str, baseline: str,
                   min_share: float = 0.1, min_cases: int = 3) -> str | None:
    """None when the length difference between `model` and `baseline` changes sign often enough for a
    length-controlled win rate to interpolate; otherwise the reason it would extrapolate."""
    pair = outcomes[(outcomes["a"] == model) & (outcomes["b"] == baseline)]
    n_chars = lengths.groupby(["case_id", "model"])["n_chars"].mean()
    longer = shorter = 0
    for case_id in pair["case_id"]:
        own, base = n_chars.get((case_id, model)), n_chars.get((case_id, baseline))
        if own is None or base is None:
            continue
        longer += own > base
        shorter += own < base
    n = len(pair)
    if n == 0:
        return "no case was judged for this pair"
    least = min(longer, shorter)
    if least < max(min_cases, min_share * n):
        return (f"the length difference hardly changes sign ({model} longer in {longer} of {n} cases, shorter in "
                f"{shorter}): a length-controlled rate would extrapolate")
    return None
