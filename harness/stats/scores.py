"""Rubric scores per model and per group (axis or theme), with bootstrap intervals over cases.

A case score is unclipped (negative criteria can push it below 0); only the mean over cases, and
its interval, are clipped to [0, 1], as HealthBench does. Intervals are percentile bootstraps.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ._blas import single_threaded_blas
from ._resample import (drawn_counts, drawn_indices, intervals_allowing_failures, percentile_interval,
                        percentile_intervals, resampled_means)
from ._values import with_keys

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
    resamples = values[drawn_indices(values.size, n_boot, seed)]
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


@single_threaded_blas
def grouped_scores(group_scores: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                   alpha: float = 0.05) -> pd.DataFrame:
    """One row per model and group (axis or theme), computed like `model_scores`.

    Within a group, every model resamples the same draw of the group's cases (in order of first
    appearance), its figure the mean over the drawn cases it has a score for: one matrix product
    for all models. A model scored on every case of the group gets exactly the interval
    `model_scores` would give its scores; a resample holding none of a model's cases has no figure
    and widens the interval (`interval_allowing_failures`).
    """
    figures = {}
    for group_name, group in group_scores.groupby("group", sort=False):
        figures.update(_group_figures(group, group_name, n_boot, seed, alpha))
    keys = group_scores[["model", "group"]].drop_duplicates()
    empty = (0, float("nan"), float("nan"), float("nan"))
    rows = [(model, group_name, *figures.get((model, group_name), empty))
            for model, group_name in zip(keys["model"], keys["group"]) if not (pd.isna(model) or pd.isna(group_name))]
    return pd.DataFrame(rows, columns=GROUP_SCORE_COLUMNS)


def _group_figures(group: pd.DataFrame, group_name, n_boot: int, seed: int, alpha: float) -> dict:
    """(model, group) -> (n, clipped mean, ci_low, ci_high) for the models with a finite score in the group."""
    group = with_keys(group, ["case_id", "model"])
    scores = group["score"].to_numpy(float)
    group = group[~np.isnan(scores)]
    scores = scores[~np.isnan(scores)]
    case_codes, cases = pd.factorize(group["case_id"])
    model_codes, models = pd.factorize(group["model"])
    cell = case_codes.astype(np.int64) * len(models) + model_codes
    shape = (len(cases), len(models))
    sums = np.bincount(cell, weights=scores, minlength=shape[0] * shape[1]).reshape(shape)
    rows_per_case = np.bincount(cell, minlength=shape[0] * shape[1]).reshape(shape).astype(float)
    n = rows_per_case.sum(axis=0).astype(int)
    intervals = np.full((len(models), 2), np.nan)
    usable = n >= 2  # one value has no spread to resample
    if usable.any():
        boot = resampled_means(drawn_counts(len(cases), n_boot, seed), sums[:, usable], rows_per_case[:, usable])
        complete = ~np.isnan(boot).any(axis=0)
        found = np.full((boot.shape[1], 2), np.nan)
        found[complete] = percentile_intervals(boot[:, complete], alpha)
        found[~complete] = intervals_allowing_failures(boot[:, ~complete], alpha)
        intervals[usable] = np.clip(found, 0.0, 1.0)
    # each model's mean over its own scores in their order, as `model_scores` computes it
    order = np.argsort(model_codes, kind="stable")
    per_model = np.split(scores[order], np.cumsum(n)[:-1])
    return {(model, group_name): (int(n[k]), float(np.clip(per_model[k].mean(), 0.0, 1.0)),
                                  float(intervals[k, 0]), float(intervals[k, 1]))
            for k, model in enumerate(models)}


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float).ravel()
    return values[~np.isnan(values)]
