import math

import pandas as pd
import pytest

from harness.stats import min_detectable_score_diff, min_detectable_win_rate_diff, power_summary

Z_SUM = 1.959964 + 0.841621  # z_{0.975} + z_{0.8} = 2.801585


def test_min_detectable_score_diff_by_hand():
    # 2.801585 * 0.2 / sqrt(40) = 0.560317 / 6.324555 = 0.088594
    assert min_detectable_score_diff(0.2, 40) == pytest.approx(0.088594, abs=1e-6)
    assert min_detectable_score_diff(0.2, 40, alpha=0.05, power=0.8) == pytest.approx(Z_SUM * 0.2 / math.sqrt(40))
    # a stricter level and more power both need a larger difference
    assert min_detectable_score_diff(0.2, 40, alpha=0.01) > min_detectable_score_diff(0.2, 40)
    assert min_detectable_score_diff(0.2, 40, power=0.9) > min_detectable_score_diff(0.2, 40)


def test_min_detectable_win_rate_diff_by_hand():
    # 2.801585 * 0.5 / sqrt(42) = 1.400793 / 6.480741 = 0.216147 (the 0.22 of docs/results.md)
    assert min_detectable_win_rate_diff(42, 0.05, 0.8) == pytest.approx(0.216147, abs=1e-6)


def test_figures_that_cannot_be_computed_are_nan():
    assert math.isnan(min_detectable_score_diff(0.2, 0))
    assert math.isnan(min_detectable_score_diff(float("nan"), 10))


def test_power_summary_by_hand():
    # score differences A - B over 4 cases: 0.1, 0.3, 0.1, 0.3 -> mean 0.2, sd sqrt(0.04 / 3) = 0.11547,
    # detectable 2.801585 * 0.11547 / 2 = 0.16175 < 0.2: no score warning.
    case_scores = pd.DataFrame(
        [("A", "c1", 0.6), ("A", "c2", 0.8), ("A", "c3", 0.6), ("A", "c4", 0.8),
         ("B", "c1", 0.5), ("B", "c2", 0.5), ("B", "c3", 0.5), ("B", "c4", 0.5)],
        columns=["model", "case_id", "score"])
    # win rate 0.625 over 4 cases is 0.125 from 0.5; detectable 2.801585 * 0.5 / 2 = 0.70040: a warning
    outcomes = pd.DataFrame(
        [("c1", "A", "B", 1.0), ("c2", "A", "B", 1.0), ("c3", "A", "B", 0.5), ("c4", "A", "B", 0.0),
         ("c1", "B", "A", 0.0), ("c2", "B", "A", 0.0), ("c3", "B", "A", 0.5), ("c4", "B", "A", 1.0)],
        columns=["case_id", "a", "b", "outcome"])
    summary = power_summary(case_scores, outcomes, alpha=0.05, power=0.8)
    assert set(summary) == {"n_cases", "alpha", "power", "min_detectable_score_diff",
                            "min_detectable_win_rate_diff", "warnings"}
    assert summary["n_cases"] == 4
    assert summary["min_detectable_score_diff"] == pytest.approx(0.16175, abs=1e-4)
    assert summary["min_detectable_win_rate_diff"] == pytest.approx(0.70040, abs=1e-4)
    assert summary["warnings"] == ["A vs B: win rate is 0.125 from 0.5, below the smallest detectable (0.700)"]


def test_power_summary_takes_the_least_favourable_pair():
    case_scores = pd.DataFrame(
        [("A", f"c{i}", 0.5) for i in range(4)]
        + [("B", "c0", 0.5), ("B", "c1", 0.5), ("B", "c2", 0.5), ("B", "c3", 0.5)]
        + [("C", "c0", 0.0), ("C", "c1", 1.0), ("C", "c2", 0.0), ("C", "c3", 1.0)],
        columns=["model", "case_id", "score"])
    summary = power_summary(case_scores, None)
    # A vs C and B vs C: differences +-0.5, sd 0.57735, detectable 2.801585 * 0.57735 / 2 = 0.80875
    assert summary["min_detectable_score_diff"] == pytest.approx(0.80875, abs=1e-4)
    assert summary["min_detectable_win_rate_diff"] is None
    # A vs B differ by exactly 0 with sd 0: detectable 0, nothing to warn about; the other two pairs warn
    assert [w.split(":")[0] for w in summary["warnings"]] == ["A vs C", "B vs C"]
    assert summary["warnings"][0] == "A vs C: score difference 0.000 is below the smallest detectable (0.809)"
