import math

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from harness.stats.intervals import paired_difference_interval, wilson


def _wilson_by_hand(k, n, z):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_wilson_matches_the_closed_form():
    assert wilson(7, 12) == pytest.approx(_wilson_by_hand(7, 12, 1.959963985))
    assert wilson(12, 12, 0.95, one_sided=True) == pytest.approx(_wilson_by_hand(12, 12, 1.644853627))
    assert wilson(0, 0) == (None, None)


def test_newcombe_paired_difference_by_hand():
    # 20 pairs: 6 where both are 1, 7 only the first, 2 only the second, 5 neither.
    both, first, second, neither, z = 6, 7, 2, 5, 1.959963985
    n = 20
    p1, p2 = 13 / n, 8 / n
    l1, u1 = _wilson_by_hand(13, n, z)
    l2, u2 = _wilson_by_hand(8, n, z)
    phi = (6 * 5 - 7 * 2) / math.sqrt(13 * 7 * 8 * 12)
    low = (p1 - p2) - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    high = (p1 - p2) + math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    d, lo, hi = paired_difference_interval(both, first, second, neither)
    assert d == pytest.approx(0.25)
    assert (lo, hi) == pytest.approx((low, high))
    # worked on paper: Wilson 13/20 = [0.4328, 0.8188], 8/20 = [0.2188, 0.6134], phi = 16 / sqrt(8736) = 0.1712
    assert lo == pytest.approx(-0.0272, abs=1e-4) and hi == pytest.approx(0.4755, abs=1e-4)


def test_without_correlation_it_is_newcombes_interval_for_independent_samples():
    # ad = bc makes phi 0: the paired interval is then the independent-samples one (statsmodels "newcomb").
    d, lo, hi = paired_difference_interval(10, 10, 5, 5)  # ad = 50 = bc
    reference = confint_proportions_2indep(20, 30, 15, 30, method="newcomb", compare="diff")
    assert d == pytest.approx(5 / 30)
    assert (lo, hi) == pytest.approx(tuple(reference))


def test_paired_difference_with_no_pairs():
    assert paired_difference_interval(0, 0, 0, 0) == (None, None, None)
