"""Is a difference between two models real? Paired tests over cases, Holm-adjusted.

Every comparison is paired: both models answered the same cases, so the case-to-case spread in
difficulty cancels out of the difference. With several models and several metrics, many tests
run at once; Holm's step-down correction keeps the chance of any false alarm at alpha.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._blas import single_threaded_blas
from ._resample import (drawn_counts, drawn_indices, intervals_allowing_failures, percentile_interval,
                        percentile_intervals, resampled_means)
from ._values import wide_scores
from .winrate import _case_pair_table, classify_outcomes, with_mirrors

SIGNIFICANCE_COLUMNS = ["a", "b", "metric", "n", "diff", "ci_low", "ci_high", "p_value", "p_adjusted", "test"]
PAIRED_BOOTSTRAP = "paired bootstrap"
SIGN_TEST = "exact sign test"


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided binomial test of wins against losses at one half; NaN with no decisive case.

    At one half the binomial distribution is symmetric, so the two-sided p-value (the chance of
    an outcome no more likely than the one seen) is twice the lower tail at the smaller count,
    capped at 1: what `scipy.stats.binomtest` computes, without its search over the support.
    """
    from scipy.special import bdtr

    if wins + losses == 0:
        return float("nan")
    return float(min(1.0, 2 * bdtr(min(int(wins), int(losses)), int(wins + losses), 0.5)))


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
    boot = differences[drawn_indices(differences.size, n_boot, seed)].mean(axis=1)
    far_side = min(int(np.sum(boot <= 0)), int(np.sum(boot >= 0)))
    p_value = min(1.0, 2 * (far_side + 1) / (n_boot + 1))
    return (diff, percentile_interval(boot, alpha), p_value)


@single_threaded_blas
def pairwise_significance(case_scores: pd.DataFrame, group_scores: pd.DataFrame | None,
                          outcomes: pd.DataFrame | None, n_boot: int = 2000, seed: int = 0,
                          alpha: float = 0.05) -> pd.DataFrame:
    """Tests for every unordered pair of models, Holm-adjusted across all rows together.

    Metrics: "score" (paired bootstrap of the case-score difference a - b), one per group
    (paired bootstrap; named "axis:<group>", or the group's own name when it already carries a
    prefix such as "theme:"), and "wins" (exact sign test on the cases one model won outright;
    diff is a's win rate minus one half, with a bootstrap interval over cases).

    Within one metric every pair resamples the same draw of the metric's cases (sorted), each
    pair's figure the mean over the drawn cases both models have; a pair that has every case
    resamples exactly as `paired_bootstrap` of its own differences would. A resample holding no
    case of a pair has no figure: it widens the interval (`interval_allowing_failures`) and counts
    on the far side of 0 for the p-value.
    """
    models = _models(case_scores, outcomes)
    if outcomes is not None and not outcomes.empty:
        outcomes = with_mirrors(outcomes)
    pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1:]]
    metrics = []
    if case_scores is not None and not case_scores.empty:
        metrics.append(("score", _score_tests(case_scores, pairs, n_boot, seed, alpha)))
    if group_scores is not None and not group_scores.empty:
        for group, scores in group_scores.groupby("group", sort=False):
            metrics.append((_metric_name(group), _score_tests(scores, pairs, n_boot, seed, alpha)))
    wins = _wins_tests(outcomes, pairs, n_boot, seed, alpha) if outcomes is not None and not outcomes.empty else {}
    rows = []
    for a, b in pairs:
        for metric, tests in metrics:
            if (a, b) in tests:
                rows.append((a, b, metric, *tests[(a, b)], np.nan, PAIRED_BOOTSTRAP))
        if (a, b) in wins:
            n, diff, low, high, p_value = wins[(a, b)]
            rows.append((a, b, "wins", n, diff, low, high, p_value, np.nan, SIGN_TEST))
    table = pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS)
    table["p_adjusted"] = holm(table["p_value"].to_numpy(float))
    return table


def _score_tests(scores: pd.DataFrame, pairs: list, n_boot: int, seed: int, alpha: float) -> dict:
    """(a, b) -> (n, diff, ci_low, ci_high, p) of the paired score difference, for pairs sharing a case."""
    _cases, models, wide = wide_scores(scores)
    column = {model: k for k, model in enumerate(models)}
    found = [(a, b) for a, b in pairs if a in column and b in column]
    if not found:
        return {}
    x = wide[:, [column[a] for a, _b in found]]
    y = wide[:, [column[b] for _a, b in found]]
    present = ~(np.isnan(x) | np.isnan(y))
    differences = np.where(present, x - y, 0.0)
    n = present.sum(axis=0)
    diffs = [float((x[present[:, k], k] - y[present[:, k], k]).mean()) if n[k] else np.nan for k in range(len(found))]
    intervals, p_values = _paired_intervals(differences, present, n, n_boot, seed, alpha)
    return {pair: (int(n[k]), diffs[k], intervals[k, 0], intervals[k, 1], p_values[k])
            for k, pair in enumerate(found) if n[k] > 0}


def _wins_tests(outcomes: pd.DataFrame, pairs: list, n_boot: int, seed: int, alpha: float) -> dict:
    """(a, b) -> (n, a's win rate - 0.5, ci_low, ci_high, sign-test p) for pairs judged on some case.

    Weighted outcomes (harness.stats.winrate) give the pooled rate: each case counts at its mean weight."""
    table = _case_pair_table(outcomes)
    column = {key: k for k, key in enumerate(table.keys)}
    found = [pair for pair in pairs if pair in column]
    if not found:
        return {}
    columns = [column[pair] for pair in found]
    counts, weights = table.counts[:, columns], table.weights[:, columns]
    present = counts > 0
    values = table.sums[:, columns] / np.where(present, weights, 1.0)  # a case's (weighted) mean outcome
    case_weight = np.where(present, weights / np.maximum(counts, 1), 0.0)  # 1 for unweighted outcomes
    n = present.sum(axis=0)
    intervals, _ = _paired_intervals(np.where(present, case_weight * (values - 0.5), 0.0), case_weight, n, n_boot,
                                     seed, alpha)
    tests = {}
    for k, pair in enumerate(found):
        pair_values, pair_weights = values[present[:, k], k], case_weight[present[:, k], k]
        wins, losses, _ties = classify_outcomes(pair_values)
        tests[pair] = (int(n[k]), float(np.sum(pair_weights * (pair_values - 0.5)) / np.sum(pair_weights)),
                       intervals[k, 0], intervals[k, 1], sign_test(wins, losses))
    return tests


def _paired_intervals(differences: np.ndarray, present: np.ndarray, n: np.ndarray, n_boot: int, seed: int,
                      alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Per column of (cases, pairs): the interval of the mean and the two-sided bootstrap p-value
    (as in `paired_bootstrap`), over one shared draw of the cases; NaN for pairs with fewer than 2 cases."""
    intervals = np.full((differences.shape[1], 2), np.nan)
    p_values = np.full(differences.shape[1], np.nan)
    usable = n >= 2
    if not usable.any():
        return intervals, p_values
    boot = resampled_means(drawn_counts(differences.shape[0], n_boot, seed), differences[:, usable],
                           present[:, usable])
    failed = np.isnan(boot).sum(axis=0)
    complete = failed == 0
    found = np.full((boot.shape[1], 2), np.nan)
    found[complete] = percentile_intervals(boot[:, complete], alpha)
    found[~complete] = intervals_allowing_failures(boot[:, ~complete], alpha)
    intervals[usable] = found
    far_side = np.minimum((boot <= 0).sum(axis=0), (boot >= 0).sum(axis=0)) + failed
    p_values[usable] = np.minimum(1.0, 2 * (far_side + 1) / (n_boot + 1))
    return intervals, p_values


def _metric_name(group: str) -> str:
    return group if ":" in str(group) else f"axis:{group}"


def _models(case_scores: pd.DataFrame, outcomes: pd.DataFrame | None) -> list:
    columns = [case_scores["model"]] if case_scores is not None else []
    if outcomes is not None:
        columns += [outcomes["a"], outcomes["b"]]
    return list(pd.unique(pd.concat(columns, ignore_index=True))) if columns else []


def _paired_differences(x, y) -> np.ndarray:
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {x.size} and {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    return x[keep] - y[keep]
