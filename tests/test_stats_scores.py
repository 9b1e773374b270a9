import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from harness.stats import bootstrap_ci, bootstrap_se, grouped_scores, model_scores
from harness.stats._resample import (interval_allowing_failures, percentile_interval, resample_counts,
                                     resample_indices)


def test_constant_values_give_a_point_interval():
    assert bootstrap_ci([0.7] * 10, n_boot=300) == pytest.approx((0.7, 0.7))


def test_fewer_than_two_values_give_no_interval():
    assert all(math.isnan(v) for v in bootstrap_ci([0.5], n_boot=100))
    assert all(math.isnan(v) for v in bootstrap_ci([], n_boot=100))
    assert all(math.isnan(v) for v in bootstrap_ci([0.5, np.nan], n_boot=100))  # NaN is a missing case


def test_interval_of_a_two_point_sample():
    # Resampled means of [0, 1] are 0, 0.5, 1 with chances 1/4, 1/2, 1/4: the 2.5th percentile is 0
    # and the 97.5th is 1 (about 500 of 2000 resamples sit at each end).
    assert bootstrap_ci([0.0, 1.0], n_boot=2000, seed=3) == (0.0, 1.0)


def test_interval_of_one_success_in_four():
    # Resampled means of [0, 0, 0, 1] are k/4 with k ~ Binomial(4, 1/4): P(k=0) = 0.316, P(k<=2) = 0.949,
    # P(k<=3) = 0.996. So the 2.5th percentile is 0 and the 97.5th is 3/4.
    assert bootstrap_ci([0, 0, 0, 1], n_boot=2000, seed=0) == (0.0, 0.75)


def test_interval_matches_normal_theory_for_a_large_sample():
    values = np.random.default_rng(1).normal(0.5, 0.2, size=400)
    low, high = bootstrap_ci(values, n_boot=2000, seed=0)
    half_width = norm.ppf(0.975) * values.std(ddof=1) / math.sqrt(values.size)  # 0.0196 for sd 0.2
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.1)
    assert (low + high) / 2 == pytest.approx(values.mean(), abs=0.005)


def test_alpha_sets_the_level():
    values = np.random.default_rng(2).normal(size=200)
    low95, high95 = bootstrap_ci(values, n_boot=1000, seed=0)
    low80, high80 = bootstrap_ci(values, n_boot=1000, seed=0, alpha=0.2)
    assert low95 < low80 < high80 < high95


def test_statistics_without_an_axis_argument_give_the_same_resamples():
    values = np.random.default_rng(4).normal(size=30)
    vectorized = bootstrap_ci(values, np.median, n_boot=300, seed=5)
    one_by_one = bootstrap_ci(values, lambda sample: float(np.median(sample)), n_boot=300, seed=5)
    assert vectorized == pytest.approx(one_by_one)


def test_seed_makes_intervals_reproducible():
    values = np.random.default_rng(6).random(25)
    assert bootstrap_ci(values, n_boot=200, seed=9) == bootstrap_ci(values, n_boot=200, seed=9)
    assert bootstrap_ci(values, n_boot=200, seed=9) != bootstrap_ci(values, n_boot=200, seed=10)


def test_bootstrap_se_is_close_to_sd_over_root_n():
    values = [0.0, 1.0] * 50  # population sd 0.5, so the standard error of the mean is 0.5 / 10 = 0.05
    assert bootstrap_se(values, n_boot=2000, seed=0) == pytest.approx(0.05, rel=0.1)
    assert math.isnan(bootstrap_se([1.0]))


def test_bootstrap_se_with_clipping_shrinks_at_the_boundary():
    # Means of [0.9, 1.3] resample to 0.9, 1.1 or 1.3; clipped to [0, 1] they are 0.9, 1, 1.
    values = [0.9, 1.3]
    assert bootstrap_se(values, n_boot=500, seed=0, clip=(0, 1)) < bootstrap_se(values, n_boot=500, seed=0)
    # P(0.9) = 1/4, so the clipped sd is 0.1 * sqrt(1/4 * 3/4) = 0.0433
    assert bootstrap_se(values, n_boot=2000, seed=0, clip=(0, 1)) == pytest.approx(0.0433, rel=0.1)


def test_model_scores_clip_the_mean_and_interval():
    case_scores = pd.DataFrame(
        [("a", "c1", 0.2), ("a", "c2", 0.4), ("a", "c3", 0.6),
         ("b", "c1", -0.5), ("b", "c2", -0.1), ("b", "c3", 0.0),
         ("c", "c1", 1.5), ("c", "c2", 1.2), ("c", "c3", np.nan)],
        columns=["model", "case_id", "score"])
    table = model_scores(case_scores, n_boot=300, seed=0).set_index("model")
    assert list(table.index) == ["a", "b", "c"]
    assert table.loc["a", "score"] == pytest.approx(0.4)
    assert table.loc["a", "n"] == 3
    assert 0.2 <= table.loc["a", "ci_low"] <= 0.4 <= table.loc["a", "ci_high"] <= 0.6
    # b's mean is -0.2: clipped to 0, and every resampled mean is <= 0, so the interval is [0, 0]
    assert (table.loc["b", "score"], table.loc["b", "ci_low"], table.loc["b", "ci_high"]) == (0.0, 0.0, 0.0)
    # c: the missing case does not count; the mean 1.35 is clipped to 1
    assert table.loc["c", "n"] == 2
    assert (table.loc["c", "score"], table.loc["c", "ci_low"], table.loc["c", "ci_high"]) == (1.0, 1.0, 1.0)


def test_model_scores_of_no_rows():
    empty = pd.DataFrame(columns=["model", "case_id", "score"])
    assert list(model_scores(empty, n_boot=50).columns) == ["model", "n", "score", "ci_low", "ci_high"]
    assert model_scores(empty, n_boot=50).empty


def test_grouped_scores_per_model_and_group():
    group_scores = pd.DataFrame(
        [("a", "c1", "safety", 1.0), ("a", "c2", "safety", 0.5),
         ("a", "c1", "accuracy", 0.0), ("a", "c2", "accuracy", 0.25),
         ("b", "c1", "safety", 0.0)],
        columns=["model", "case_id", "group", "score"])
    table = grouped_scores(group_scores, n_boot=200, seed=0).set_index(["model", "group"])
    assert table.loc[("a", "safety"), "score"] == pytest.approx(0.75)
    assert table.loc[("a", "accuracy"), "score"] == pytest.approx(0.125)
    assert table.loc[("b", "safety"), "n"] == 1
    assert math.isnan(table.loc[("b", "safety"), "ci_low"])  # one case: no interval


def test_resample_counts_are_the_resample_indices_counted():
    indices = resample_indices(5, 4, seed=7)
    counts = resample_counts(5, 4, seed=7)
    for row in range(4):
        assert list(counts[row]) == list(np.bincount(indices[row], minlength=5))
    assert (counts.sum(axis=1) == 5).all()


def test_interval_allowing_failures_widens_and_gives_up():
    samples = np.arange(101, dtype=float)  # percentiles 2.5 and 97.5 of 0..100 are 2.5 and 97.5
    assert percentile_interval(samples) == pytest.approx((2.5, 97.5))
    assert interval_allowing_failures(samples) == pytest.approx((2.5, 97.5))
    # Two failures among 101 resamples: each bound moves as if both lay beyond it.
    with_failures = np.concatenate([samples[:99], [np.nan, np.nan]])  # 0..98 finite
    low, high = interval_allowing_failures(with_failures)
    assert low == pytest.approx(0.5)  # position 2.5 among 101, less the 2 failures below
    assert high == pytest.approx(97.5)  # position 97.5, the failures above it
    # Three failures at the low end already reach the 2.5th percentile: unbounded, NaN.
    low, _ = interval_allowing_failures(np.concatenate([samples[:98], [np.nan] * 3]))
    assert math.isnan(low)
