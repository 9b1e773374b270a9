"""Bootstrap resampling over cases, shared by every module that reports an interval.

All resamples come from one recipe: `numpy.random.default_rng(seed).integers(0, n, (n_boot, n))`.
Two figures computed over the same cases with the same seed therefore see the same resampled
cases, which keeps intervals of related figures (a pair and its mirror, a model's pairwise and
overall win rates) consistent with each other.

Many figures over one set of cases (every pair of models on one metric, every model on one axis)
share one draw of that set: each figure is the mean over the drawn cases it has a value for,
computed for all figures and all resamples with one matrix product (`resampled_means`). A figure
with a value on every case is thereby resampled exactly as it would be alone; one that lacks some
cases is averaged over those of its cases each resample drew (a resample that drew none of them
has no figure, see `interval_allowing_failures`). Drawing once per set instead of once per figure
is what keeps hundreds of intervals over thousands of cases to a fraction of a second.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

# One results build asks for the same draws many times (a model's scores and their standard error,
# every metric of every pair over the same cases); drawing 2,000 x 2,000 indices and counting them
# takes tens of milliseconds each time. Recent draws are kept, read-only and in the narrowest
# integer type, up to this many bytes; the least recently used go first.
_KEPT_BYTES = 160 * 2 ** 20
_kept: OrderedDict[tuple, np.ndarray] = OrderedDict()
_kept_lock = threading.Lock()


def resample_indices(n_cases: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_cases) indices of cases drawn with replacement."""
    return drawn_indices(n_cases, n_boot, seed).astype(np.int64)


def resample_counts(n_cases: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_cases) how often each case appears in each resample.

    The same resamples as `resample_indices`, as weights: a statistic that is a weighted sum over
    cases can then be computed for all resamples with one matrix product.
    """
    return drawn_counts(n_cases, n_boot, seed).astype(np.int64)


def drawn_indices(n_cases: int, n_boot: int, seed: int) -> np.ndarray:
    """`resample_indices`, read-only and possibly shared: for use inside this package."""
    return _kept_or_made(("indices", n_cases, n_boot, seed), lambda: _draw(n_cases, n_boot, seed))


def drawn_counts(n_cases: int, n_boot: int, seed: int) -> np.ndarray:
    """`resample_counts`, read-only and possibly shared: for use inside this package."""
    def count() -> np.ndarray:
        kept = _kept.get(("indices", n_cases, n_boot, seed))
        # each resample's indices shifted into a block of its own, so one bincount counts them all
        offsets = _recipe(n_cases, n_boot, seed) if kept is None else kept.astype(np.int64)
        offsets += np.int64(n_cases) * np.arange(n_boot, dtype=np.int64)[:, None]
        counts = np.bincount(offsets.ravel(), minlength=n_boot * n_cases).reshape(n_boot, n_cases)
        return counts.astype(_narrowest(n_cases))  # no count exceeds n_cases

    return _kept_or_made(("counts", n_cases, n_boot, seed), count)


def forget_draws() -> None:
    """Drop the kept draws (their memory, and their head start on the next run)."""
    with _kept_lock:
        _kept.clear()


def _recipe(n_cases: int, n_boot: int, seed: int) -> np.ndarray:
    """The one recipe every resample comes from (see the module's docstring)."""
    return np.random.default_rng(seed).integers(0, n_cases, size=(n_boot, n_cases))


def _draw(n_cases: int, n_boot: int, seed: int) -> np.ndarray:
    """The recipe's indices, stored in the narrowest type that holds them."""
    return _recipe(n_cases, n_boot, seed).astype(_narrowest(n_cases))


def _narrowest(largest: int) -> type:
    for kind in (np.uint8, np.uint16, np.uint32):
        if largest <= np.iinfo(kind).max:
            return kind
    return np.int64


def _kept_or_made(key: tuple, make) -> np.ndarray:
    with _kept_lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return found
    made = make()
    made.flags.writeable = False
    with _kept_lock:
        _kept[key] = made
        while sum(array.nbytes for array in _kept.values()) > _KEPT_BYTES and len(_kept) > 1:
            _kept.popitem(last=False)
        if made.nbytes > _KEPT_BYTES:
            _kept.pop(key, None)
    return made


def resampled_means(counts: np.ndarray, values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(n_boot, figures): each figure's mean over the resampled cases that have it; NaN where none.

    `values` and `present` are (cases, figures): a figure's value per case, and how many values
    the case has for it (usually 0 or 1; `values` then holds their sum). All figures share the
    resamples in `counts` (n_boot, cases), and a figure whose cases are all present resamples
    exactly as it would alone: weighting by the counts is averaging over the drawn indices. One
    matrix product does all figures and all resamples.
    """
    present = np.asarray(present, dtype=float)
    values = np.where(present > 0, np.asarray(values, dtype=float), 0.0)
    sums = np.asarray(counts, dtype=float) @ values
    # the denominators are sums of whole numbers below 2**24, which single precision holds exactly
    largest = float(np.asarray(counts).sum(axis=1).max(initial=0)) * float(present.max(initial=0))
    if largest < 2 ** 24 and np.all(present == np.round(present)):
        weights = (np.asarray(counts, dtype=np.float32) @ present.astype(np.float32)).astype(float)
    else:
        weights = np.asarray(counts, dtype=float) @ present
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / weights


def percentile_intervals(samples: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """(figures, 2): `percentile_interval` of each column of (n_boot, figures) samples."""
    samples = np.asarray(samples, dtype=float)
    intervals = np.full((samples.shape[1], 2), np.nan)
    complete = ~np.isnan(samples).any(axis=0) if samples.shape[0] else np.zeros(samples.shape[1], bool)
    if complete.any():
        intervals[complete] = np.percentile(samples[:, complete], [100 * alpha / 2, 100 * (1 - alpha / 2)],
                                            axis=0).T
    return intervals


def intervals_allowing_failures(samples: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """(figures, 2): `interval_allowing_failures` of each column of (n_boot, figures) samples."""
    samples = np.asarray(samples, dtype=float)
    n_boot = samples.shape[0]
    if n_boot == 0:
        return np.full((samples.shape[1], 2), np.nan)
    ordered = np.sort(samples, axis=0)  # NaN sorts last
    n_finite = n_boot - np.isnan(samples).sum(axis=0)
    low_position = alpha / 2 * (n_boot - 1) - (n_boot - n_finite)
    high_position = np.full(n_finite.shape, (1 - alpha / 2) * (n_boot - 1))
    return np.stack([_values_at(ordered, n_finite, low_position), _values_at(ordered, n_finite, high_position)],
                    axis=1)


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


def _values_at(ordered: np.ndarray, n_finite: np.ndarray, position: np.ndarray) -> np.ndarray:
    """`_value_at` for every column of sorted samples (finite values first), all at once."""
    inside = (position >= 0) & (position <= n_finite - 1)
    position = np.where(inside, position, 0.0)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, np.maximum(n_finite - 1, 0))
    fraction = position - below
    columns = np.arange(ordered.shape[1])
    low, high = ordered[below, columns], ordered[above, columns]
    return np.where(inside, low + fraction * (high - low), np.nan)
