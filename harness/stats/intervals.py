"""Intervals for rates and quantiles: Wilson for a proportion, Newcombe's method 10 for the difference of two
paired proportions, and distribution-free confidence bounds for a quantile from order statistics.

Every function returns None (or None bounds) when the data cannot support the figure, never a guess.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom, norm


def wilson(successes: int, n: int, confidence: float = 0.95, one_sided: bool = False
           ) -> tuple[float | None, float | None]:
    """Wilson score interval for successes/n (statsmodels' `proportion_confint(method="wilson")`); with
    `one_sided`, each bound is a one-sided bound at `confidence`."""
    if n <= 0:
        return None, None
    from statsmodels.stats.proportion import proportion_confint

    alpha = 2 * (1 - confidence) if one_sided else 1 - confidence
    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    return float(low), float(high)


def paired_difference_interval(both: int, first_only: int, second_only: int, neither: int,
                               confidence: float = 0.95, one_sided: bool = False
                               ) -> tuple[float | None, float | None, float | None]:
    """(difference, low, high) for p1 - p2 of two proportions measured on the same pairs, by Newcombe's
    method 10 (Newcombe 1998, Statistics in Medicine 17:2635): Wilson intervals of p1 and p2 combined with
    the phi correlation of the pairs. p1 = (both + first_only) / n, p2 = (both + second_only) / n."""
    n = both + first_only + second_only + neither
    if n <= 0:
        return None, None, None
    p1, p2 = (both + first_only) / n, (both + second_only) / n
    l1, u1 = wilson(both + first_only, n, confidence, one_sided)
    l2, u2 = wilson(both + second_only, n, confidence, one_sided)
    denominator = (both + first_only) * (second_only + neither) * (both + second_only) * (first_only + neither)
    phi = 0.0 if denominator == 0 else (both * neither - first_only * second_only) / math.sqrt(denominator)
    d = p1 - p2
    low = d - math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    high = d + math.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    return d, max(low, -1.0), min(high, 1.0)


def quantile_upper_bound(values, q: float, confidence: float = 0.95) -> float | None:
    """A distribution-free one-sided upper confidence bound for the q-quantile: the k-th smallest value, k the
    smallest rank with P(Binomial(n, q) <= k - 1) >= confidence. None when n is too small for any order
    statistic to bound it (for the 95th percentile at 95%: fewer than 59 values)."""
    data = np.sort(np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float))
    n = data.size
    if n == 0:
        return None
    ranks = np.arange(1, n + 1)
    covered = binom.cdf(ranks - 1, n, q) >= confidence
    if not covered.any():
        return None
    return float(data[int(np.argmax(covered))])


def quantile_lower_bound(values, q: float, confidence: float = 0.95) -> float | None:
    """The one-sided lower bound, by symmetry: the k-th largest value with the same rule for 1 - q."""
    data = [-v for v in values if v is not None and math.isfinite(v)]
    bound = quantile_upper_bound(data, 1 - q, confidence)
    return None if bound is None else -bound


def smallest_n_for_quantile_bound(q: float, confidence: float = 0.95) -> int:
    """How many values a one-sided upper bound of the q-quantile needs at least: q**n <= 1 - confidence."""
    return int(math.ceil(math.log(1 - confidence) / math.log(q)))


def z_value(confidence: float, one_sided: bool = False) -> float:
    return float(norm.ppf(confidence if one_sided else 1 - (1 - confidence) / 2))
