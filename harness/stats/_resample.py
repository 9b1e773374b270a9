"""Bootstrap resampling over cases, shared by every module that reports an interval.

All resamples come from one recipe: `numpy.random.default_rng(seed).integers(0, n, (n_boot, n))`.
Two figures computed over the same cases with the same seed therefore see the same resampled
cases, which keeps intervals of related figures (a pair and its mirror, a model's pairwise and
overall win rates) consistent with each other.
"""

from __future__ import annotations

import numpy as np


def resample_indices(n_cases: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_cases) indices of cases drawn with replacement."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_cases, size=(n_boot, n_cases))


def resample_counts(n_cases: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_cases) how often each case appears in each resample.

    The same resamples as `resample_indices`, as weights: a statistic that is a weighted sum over
    cases can then be computed for all resamples with one matrix product.
    """
    indices = resample_indices(n_cases, n_boot, seed)
    offsets = indices + n_cases * np.arange(n_boot)[:, None]
    return np.bincount(offsets.ravel(), minlength=n_boot * n_cases).reshape(n_boot, n_cases)


def percentile_interval(samples: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile interval of bootstrap samples; (nan, nan) when there are none."""
    samples = np.asarray(samples, dtype=float)
    if samples.size == 0 or np.isnan(samples).any():
        return (float("nan"), float("nan"))
    low, high = np.percentile(samples, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return (float(low), float(high))


def interval_allowing_failures(samples: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile interval when some resamples have no estimate (NaN in `samples`).

    A resample can lack an estimate because a maximum-likelihood fit runs off to +/- infinity,
    or because it drew no case of some pair. Where such a resample would sit is not known, so
    each bound is computed as if every failed resample lay beyond that bound: the interval can
    only come out wider than the percentile interval of the complete resamples would be, never
    narrower. A bound that the failures alone could reach is reported NaN (unbounded).
    """
    samples = np.asarray(samples, dtype=float)
    finite = np.sort(samples[~np.isnan(samples)])
    n_failed = samples.size - finite.size
    if finite.size == 0:
        return (float("nan"), float("nan"))
    # numpy's default (linear) percentile of the full sample sits at position q * (size - 1).
    low_position = alpha / 2 * (samples.size - 1) - n_failed  # failures sorted below every value
    high_position = (1 - alpha / 2) * (samples.size - 1)  # failures sorted above every value
    return (_value_at(finite, low_position), _value_at(finite, high_position))


def _value_at(sorted_values: np.ndarray, position: float) -> float:
    """Linear interpolation between order statistics; NaN outside the finite values."""
    if position < 0 or position > sorted_values.size - 1:
        return float("nan")
    below = int(np.floor(position))
    above = min(below + 1, sorted_values.size - 1)
    fraction = position - below
    return float(sorted_values[below] + fraction * (sorted_values[above] - sorted_values[below]))
