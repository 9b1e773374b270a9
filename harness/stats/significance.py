"""Is a difference between two models real? Paired tests over cases, Holm-adjusted.

Every comparison is paired: both models answered the same cases, so the case-to-case spread in
difficulty cancels out of the difference. With several models and several metrics, many tests
run at once; Holm's step-down correction keeps the chance of any false alarm at alpha.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._resample import percentile_interval, resample_indices
from .scores import bootstrap_ci
from .winrate import classify_outcomes, with_mirrors

SIGNIFICANCE_COLUMNS = ["a", "b", "metric", "n", "diff", "ci_low", "ci_high", "p_value", "p_adjusted", "test"]
PAIRED_BOOTSTRAP = "paired bootstrap"
SIGN_TEST = "exact sign test"


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided binomial test of wins against losses at one half; NaN with no decisive case."""
    from scipy.stats import binomtest

    if wins + losses == 0:
        return float("nan")
    return float(binomtest(int(wins), int(wins + losses), 0.5, alternative="two-sided").pvalue)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input order.

    The i-th smallest of m p-values is multiplied by (m - i + 1), a running maximum keeps the
    adjusted values in the same order as the raw ones, and nothing exceeds 1. NaN entries (tests
    that could not be run) stay NaN and do not count towards m.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return adjusted
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = p[order] * (m - np.arange(m))
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


def paired_bootstrap(x, y, n_boot: int = 2000, seed: int = 0,
                     alpha: float = 0.05) -> tuple[float, tuple[float, float], float]:
    """Mean of x - y over cases, its percentile interval and a two-sided bootstrap p-value.

    p = 2 * (resampled means on the far side of 0, plus one) / (n_boot + 1), capped at 1: the
    p-value that matches the percentile interval (p < alpha about when the interval excludes 0),
    with the +1 so that a finite number of resamples never claims p = 0. Cases where either value
    is missing are dropped; fewer than 2 cases give NaN interval and p.
    """
    differences = _paired_differences(x, y)
    nan = float("nan")
    if differences.size == 0:
        return (nan, (nan, nan), nan)
    diff = float(differences.mean())
    if differences.size < 2:
        return (diff, (nan, nan), nan)
    boot = differences[resample_indices(differences.size, n_boot, seed)].mean(axis=1)
    far_side = min(int(np.sum(boot <= 0)), int(np.sum(boot >= 0)))
    p_value = min(1.0, 2 * (far_side + 1) / (n_boot + 1))
    return (diff, percentile_interval(boot, alpha), p_value)


def pairwise_significance(case_scores: pd.DataFrame, group_scores: pd.DataFrame | None,
                          outcomes: pd.DataFrame | None, n_boot: int = 2000, seed: int = 0,
                          alpha: float = 0.05) -> pd.DataFrame:
    """Tests for every unordered pair of models, Holm-adjusted across all rows together.

    Metrics: "score" (paired bootstrap of the case-score difference a - b), one per group
    (paired bootstrap; named "axis:<group>", or the group's own name when it already carries a
    prefix such as "theme:"), and "wins" (exact sign test on the cases one model won outright;
    diff is a's win rate minus one half, with a bootstrap interval over cases).
    """
    models = _models(case_scores, outcomes)
    if outcomes is not None and not outcomes.empty:
        outcomes = with_mirrors(outcomes)
    rows = []
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            rows.append(_score_row(a, b, "score", case_scores, n_boot, seed, alpha))
            if group_scores is not None and not group_scores.empty:
                for group, scores in group_scores.groupby("group", sort=False):
                    rows.append(_score_row(a, b, _metric_name(group), scores, n_boot, seed, alpha))
            if outcomes is not None and not outcomes.empty:
                rows.append(_wins_row(a, b, outcomes, n_boot, seed, alpha))
    table = pd.DataFrame([r for r in rows if r is not None], columns=SIGNIFICANCE_COLUMNS)
    table["p_adjusted"] = holm(table["p_value"].to_numpy(float))
    return table


def _score_row(a, b, metric: str, scores: pd.DataFrame, n_boot: int, seed: int, alpha: float):
    paired = _align(scores, a, b)
    if paired.empty:
        return None
    diff, (low, high), p_value = paired_bootstrap(paired["a"], paired["b"], n_boot, seed, alpha)
    return (a, b, metric, len(paired), diff, low, high, p_value, np.nan, PAIRED_BOOTSTRAP)


def _wins_row(a, b, outcomes: pd.DataFrame, n_boot: int, seed: int, alpha: float):
    pair = outcomes[(outcomes["a"] == a) & (outcomes["b"] == b)].sort_values("case_id")
    if pair.empty:
        return None
    values = pair["outcome"].to_numpy(float)
    wins, losses, _ties = classify_outcomes(values)
    low, high = bootstrap_ci(values - 0.5, np.mean, n_boot, seed, alpha)
    return (a, b, "wins", len(pair), float(values.mean() - 0.5), low, high, sign_test(wins, losses), np.nan,
            SIGN_TEST)


def _align(scores: pd.DataFrame, a, b) -> pd.DataFrame:
    """Cases both models have a score for, as columns a and b."""
    per_model = scores.groupby(["case_id", "model"])["score"].mean().unstack("model")
    if a not in per_model.columns or b not in per_model.columns:
        return pd.DataFrame(columns=["a", "b"])
    return per_model[[a, b]].dropna().set_axis(["a", "b"], axis=1).sort_index()


def _metric_name(group: str) -> str:
    return group if ":" in str(group) else f"axis:{group}"


def _models(case_scores: pd.DataFrame, outcomes: pd.DataFrame | None) -> list:
    names = list(case_scores["model"]) if case_scores is not None else []
    if outcomes is not None:
        names += list(outcomes["a"]) + list(outcomes["b"])
    return list(dict.fromkeys(names))


def _paired_differences(x, y) -> np.ndarray:
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {x.size} and {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    return x[keep] - y[keep]
