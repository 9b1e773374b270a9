"""Rubric scores per model and per group (axis or theme), with bootstrap intervals over cases.

A case score is unclipped (negative criteria can push it below 0); only the mean over cases, and
its interval, are clipped to [0, 1], as HealthBench does. Intervals are percentile bootstraps.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ._resample import percentile_interval, resample_indices

Statistic = Callable[..., float]

MODEL_SCORE_COLUMNS = ["model", "n", "score", "ci_low", "ci_high"]
GROUP_SCORE_COLUMNS = ["model", "group", "n", "score", "ci_low", "ci_high"]


def bootstrap_distribution(values, stat: Statistic = np.mean, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """`stat` of each of `n_boot` resamples of `values` (drawn with replacement, seeded).

    Missing values (NaN) are dropped first: an errored answer is absent, not a zero.
    """
    values = _finite(values)
    if values.size == 0:
        return np.full(n_boot, np.nan)
    resamples = values[resample_indices(values.size, n_boot, seed)]
    try:
        # numpy reductions take `axis` and run all resamples at once
        stats = np.asarray(stat(resamples, axis=1), dtype=float)
        if stats.shape == (n_boot,):
            return stats
    except TypeError:
        pass
    return np.array([stat(row) for row in resamples], dtype=float)


def bootstrap_ci(values, stat: Statistic = np.mean, n_boot: int = 2000, seed: int = 0,
                 alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap interval of `stat(values)`; (nan, nan) with fewer than 2 values.

    One value has no spread to resample, and an interval of width 0 would claim a certainty
    that the data do not give.
    """
    if _finite(values).size < 2:
        return (float("nan"), float("nan"))
    return percentile_interval(bootstrap_distribution(values, stat, n_boot, seed), alpha)


def bootstrap_se(values, stat: Statistic = np.mean, n_boot: int = 2000, seed: int = 0,
                 clip: tuple[float, float] | None = None) -> float:
    """Bootstrap standard error of `stat(values)`; NaN with fewer than 2 values.

    HealthBench reports the standard deviation of bootstrapped means each clipped to [0, 1];
    pass `clip=(0, 1)` for that figure.
    """
    if _finite(values).size < 2:
        return float("nan")
    stats = bootstrap_distribution(values, stat, n_boot, seed)
    if clip is not None:
        stats = np.clip(stats, *clip)
    return float(np.std(stats, ddof=1))


def clipped_mean_with_ci(values, n_boot: int = 2000, seed: int = 0,
                         alpha: float = 0.05) -> tuple[int, float, float, float]:
    """(n, mean clipped to [0, 1], ci_low, ci_high) for one model's case scores."""
    values = _finite(values)
    if values.size == 0:
        return (0, float("nan"), float("nan"), float("nan"))
    score = float(np.clip(values.mean(), 0.0, 1.0))
    low, high = bootstrap_ci(values, np.mean, n_boot, seed, alpha)
    if not np.isnan(low):
        low, high = float(np.clip(low, 0.0, 1.0)), float(np.clip(high, 0.0, 1.0))
    return (int(values.size), score, low, high)


def model_scores(case_scores: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                 alpha: float = 0.05) -> pd.DataFrame:
    """One row per model: n cases scored, mean score clipped to [0, 1], bootstrap interval.

    Every model resamples with the same seed, so adding a model leaves the others' intervals as
    they were. Models keep the order in which they first appear.
    """
    rows = [
        (model, *clipped_mean_with_ci(group["score"], n_boot, seed, alpha))
        for model, group in case_scores.groupby("model", sort=False)
    ]
    return pd.DataFrame(rows, columns=MODEL_SCORE_COLUMNS)


def grouped_scores(group_scores: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                   alpha: float = 0.05) -> pd.DataFrame:
    """One row per model and group (axis or theme), computed like `model_scores`."""
    rows = [
        (model, group_name, *clipped_mean_with_ci(group["score"], n_boot, seed, alpha))
        for (model, group_name), group in group_scores.groupby(["model", "group"], sort=False)
    ]
    return pd.DataFrame(rows, columns=GROUP_SCORE_COLUMNS)


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float).ravel()
    return values[~np.isnan(values)]
