import math

import numpy as np
import pandas as pd
import pytest

from harness.stats import holm, paired_bootstrap, pairwise_significance, sign_test


def test_sign_test_by_hand():
    # 8 wins of 10: P(X >= 8) = (C(10,8) + C(10,9) + C(10,10)) / 2**10 = 56 / 1024; two-sided doubles it
    assert sign_test(8, 2) == pytest.approx(112 / 1024)
    assert sign_test(2, 8) == pytest.approx(112 / 1024)
    assert sign_test(5, 5) == pytest.approx(1.0)
    assert sign_test(6, 0) == pytest.approx(2 / 64)
    assert math.isnan(sign_test(0, 0))


def test_holm_by_hand():
    # sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> raised to 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # statsmodels' multipletests(method="holm") gives [0.05, 0.08, 0.09, 0.09, 0.09] here
    assert holm([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])


def test_holm_caps_at_one_and_keeps_missing_tests_out():
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    adjusted = holm([0.01, np.nan, 0.04])
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.04)
    assert holm([]).size == 0


def test_paired_bootstrap_of_a_constant_difference():
    # every resampled mean difference is 1, none on the far side of 0: p = 2 * 1 / (n_boot + 1)
    diff, (low, high), p = paired_bootstrap([2, 3, 4, 5], [1, 2, 3, 4], n_boot=999, seed=0)
    assert (diff, low, high) == (1.0, 1.0, 1.0)
    assert p == pytest.approx(2 / 1000)


def test_paired_bootstrap_of_no_difference():
    diff, (low, high), p = paired_bootstrap([0.3, 0.5, 0.7], [0.3, 0.5, 0.7], n_boot=200)
    assert (diff, low, high, p) == (0.0, 0.0, 0.0, 1.0)


def test_paired_bootstrap_agrees_with_its_interval():
    rng = np.random.default_rng(0)
    x = rng.normal(0.55, 0.2, 60)
    y = x - rng.normal(0.08, 0.1, 60)  # a clear improvement of about 0.08
    diff, (low, high), p = paired_bootstrap(x, y, n_boot=2000, seed=1)
    assert diff == pytest.approx(np.mean(x - y))
    assert 0 < low < diff < high and p < 0.01
    noise = rng.normal(0.0, 0.1, 60)
    diff, (low, high), p = paired_bootstrap(y + noise, y, n_boot=2000, seed=1)
    assert (low < 0 < high) == (p > 0.05)


def test_paired_bootstrap_drops_missing_pairs_and_rejects_misaligned_input():
    diff, _, _ = paired_bootstrap([1.0, np.nan, 0.0], [0.0, 0.5, 0.5], n_boot=100)
    assert diff == pytest.approx(0.25)  # (1 - 0 + 0 - 0.5) / 2
    diff, (low, high), p = paired_bootstrap([1.0], [0.0], n_boot=100)
    assert diff == 1.0 and math.isnan(low) and math.isnan(high) and math.isnan(p)
    with pytest.raises(ValueError):
        paired_bootstrap([1, 2], [1, 2, 3])


def scores_frame(rows):
    return pd.DataFrame(rows, columns=["model", "case_id", "score"])


def test_pairwise_significance_rows_and_holm():
    case_scores = scores_frame([("A", f"c{i}", 0.8) for i in range(8)] + [("B", f"c{i}", 0.5 + 0.01 * i)
                                                                          for i in range(8)])
    group_scores = pd.DataFrame(
        [("A", f"c{i}", "safety", 1.0) for i in range(8)] + [("B", f"c{i}", "safety", 1.0) for i in range(8)]
        + [("A", f"c{i}", "theme:emergency", 0.5) for i in range(8)]
        + [("B", f"c{i}", "theme:emergency", 0.0) for i in range(8)],
        columns=["model", "case_id", "group", "score"])
    # A won 7 cases outright, B none, one tie
    outcomes = pd.DataFrame([(f"c{i}", "A", "B", 1.0) for i in range(7)] + [("c7", "A", "B", 0.5)],
                            columns=["case_id", "a", "b", "outcome"])
    table = pairwise_significance(case_scores, group_scores, outcomes, n_boot=500, seed=0)
    assert list(table["metric"]) == ["score", "axis:safety", "theme:emergency", "wins"]
    assert (table["a"] == "A").all() and (table["b"] == "B").all()
    rows = table.set_index("metric")
    assert rows.loc["score", "diff"] == pytest.approx(0.8 - 0.535)  # B's mean is 0.5 + 0.01 * 3.5
    assert rows.loc["score", "test"] == "paired bootstrap"
    assert rows.loc["axis:safety", "diff"] == 0.0 and rows.loc["axis:safety", "p_value"] == 1.0
    assert rows.loc["wins", "p_value"] == pytest.approx(2 / 2 ** 7)  # sign test, 7 wins, 0 losses
    assert rows.loc["wins", "diff"] == pytest.approx((7 + 0.5) / 8 - 0.5)
    assert rows.loc["wins", "test"] == "exact sign test"
    assert rows.loc["wins", "n"] == 8
    assert list(table["p_adjusted"]) == pytest.approx(list(holm(table["p_value"])))


def test_pairwise_significance_covers_every_unordered_pair():
    rng = np.random.default_rng(5)
    case_scores = scores_frame([(m, f"c{i}", rng.random()) for m in "ABC" for i in range(10)])
    table = pairwise_significance(case_scores, None, None, n_boot=200, seed=0)
    assert list(zip(table["a"], table["b"])) == [("A", "B"), ("A", "C"), ("B", "C")]
    assert (table["metric"] == "score").all()
    assert (table["p_adjusted"] >= table["p_value"]).all()
