import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from harness.stats import bradley_terry, length_controlled_win_rate, pairwise_outcomes, style_controlled_bt
from harness.stats._logistic import fit_logistic, is_separable, log_likelihood

ELO_OF_ODDS_3 = 400 * math.log10(3)  # 190.85 points: the rating gap at which the odds are 3 to 1


def outcomes_from(rows):
    return pd.DataFrame(rows, columns=["case_id", "a", "b", "outcome"])


def test_three_wins_in_four_is_400_log10_3():
    outcomes = outcomes_from([("c1", "A", "B", 1.0), ("c2", "A", "B", 1.0), ("c3", "A", "B", 1.0),
                              ("c4", "A", "B", 0.0)])
    ratings = bradley_terry(outcomes, n_boot=200, seed=0).set_index("model")["rating"]
    assert ratings["A"] - ratings["B"] == pytest.approx(ELO_OF_ODDS_3, abs=1e-6)
    assert ratings.mean() == pytest.approx(1000.0)


def test_ties_count_half():
    # 1 + 0.5 wins against 0 + 0.5 losses: odds 1.5 / 0.5 = 3 again
    outcomes = outcomes_from([("c1", "A", "B", 1.0), ("c2", "A", "B", 0.5)])
    ratings = bradley_terry(outcomes, n_boot=100, seed=0).set_index("model")["rating"]
    assert ratings["A"] - ratings["B"] == pytest.approx(ELO_OF_ODDS_3, abs=1e-6)


def test_a_cycle_gives_equal_ratings():
    outcomes = outcomes_from([("c1", "A", "B", 1.0), ("c2", "B", "C", 1.0), ("c3", "C", "A", 1.0)])
    ratings = bradley_terry(outcomes, n_boot=100, seed=0)["rating"]
    assert list(ratings) == pytest.approx([1000.0, 1000.0, 1000.0])


def test_a_model_that_never_lost_has_no_finite_rating():
    outcomes = outcomes_from([("c1", "A", "B", 1.0), ("c2", "A", "B", 1.0), ("c3", "A", "B", 1.0)])
    table = bradley_terry(outcomes, n_boot=50, seed=0)
    assert table[["rating", "ci_low", "ci_high"]].isna().all().all()


def test_a_tie_is_half_a_loss_so_the_rating_is_finite():
    # 2.5 wins against 0.5 losses: odds 5
    outcomes = outcomes_from([("c1", "A", "B", 1.0), ("c2", "A", "B", 1.0), ("c3", "A", "B", 0.5)])
    table = bradley_terry(outcomes, n_boot=200, seed=0).set_index("model")
    assert table.loc["A", "rating"] - table.loc["B", "rating"] == pytest.approx(400 * math.log10(5), abs=1e-6)
    # resamples without case c3 have no finite rating, so the upper bound of A is unbounded
    assert math.isnan(table.loc["A", "ci_high"]) and math.isnan(table.loc["B", "ci_low"])


def simulate_rankings(strengths: dict, n_cases: int, reps: int, seed: int) -> pd.DataFrame:
    """Plackett-Luce rankings (Gumbel noise on log-strengths): its pairwise margins are Bradley-Terry."""
    rng = np.random.default_rng(seed)
    rows = []
    for case in range(n_cases):
        for rep in range(reps):
            noisy = {model: s + rng.gumbel() for model, s in strengths.items()}
            for rank, model in enumerate(sorted(noisy, key=noisy.get, reverse=True), start=1):
                rows.append((f"c{case:03d}", rep, model, rank))
    return pd.DataFrame(rows, columns=["case_id", "rep", "model", "rank"])


def test_simulated_ranking_order_is_recovered():
    strengths = {"small": 0.0, "base": 0.6, "tuned": 1.2, "cloud": 1.8}
    outcomes = pairwise_outcomes(simulate_rankings(strengths, n_cases=150, reps=1, seed=0))
    table = bradley_terry(outcomes, n_boot=200, seed=0).set_index("model")
    assert list(table["rating"].sort_values().index) == ["small", "base", "tuned", "cloud"]
    assert (table["ci_low"] < table["rating"]).all() and (table["rating"] < table["ci_high"]).all()
    # strengths 0.6 log-odds apart are 104 points apart; the top-to-bottom gap should be near 313
    gap = table.loc["cloud", "rating"] - table.loc["small", "rating"]
    assert gap == pytest.approx(400 / math.log(10) * 1.8, rel=0.3)


def test_bradley_terry_is_the_likelihood_maximum():
    outcomes = pairwise_outcomes(simulate_rankings({"A": 0.0, "B": 0.3, "C": 0.9}, n_cases=40, reps=2, seed=1))
    ratings = bradley_terry(outcomes, n_boot=50, seed=0).set_index("model")["rating"]
    unordered = outcomes[outcomes["a"] < outcomes["b"]]
    index = {"A": 0, "B": 1, "C": 2}

    def negative_log_likelihood(theta):
        margin = theta[unordered["a"].map(index)] - theta[unordered["b"].map(index)]
        o = unordered["outcome"].to_numpy()
        return np.sum(o * np.logaddexp(0, -margin) + (1 - o) * np.logaddexp(0, margin))

    theta = minimize(negative_log_likelihood, np.zeros(3), method="BFGS", options={"gtol": 1e-9}).x
    expected = 400 / math.log(10) * (theta - theta.mean()) + 1000
    assert [ratings[m] for m in "ABC"] == pytest.approx(list(expected), abs=1e-3)


def test_newton_fit_fails_exactly_on_separable_data():
    rng = np.random.default_rng(2)
    checked = separable = 0
    for _ in range(300):
        n, p = int(rng.integers(2, 10)), int(rng.integers(1, 4))
        design = rng.normal(size=(n, p)).round(1)
        outcome = rng.choice([0.0, 0.5, 1.0], size=n, p=[0.45, 0.1, 0.45])
        weight = rng.integers(1, 4, size=n)
        wins, losses = outcome * weight, (1 - outcome) * weight
        if np.linalg.matrix_rank(design) < p:
            continue
        checked += 1
        expected_to_fail = is_separable(design, wins, losses)
        separable += expected_to_fail
        assert (fit_logistic(design, wins, losses) is None) == expected_to_fail
    assert checked > 250 and 30 < separable < checked - 30  # both kinds were exercised


def test_logistic_fit_matches_scipy():
    rng = np.random.default_rng(3)
    design = np.column_stack([np.ones(50), rng.normal(size=50)])
    outcome = (rng.random(50) < 1 / (1 + np.exp(-(0.3 + design[:, 1])))).astype(float)
    beta = fit_logistic(design, outcome, 1 - outcome)
    expected = minimize(lambda b: -log_likelihood(design, outcome, 1 - outcome, b), np.zeros(2), method="BFGS").x
    assert beta == pytest.approx(expected, abs=1e-4)


def style_data(n_cases: int, seed: int):
    """Two models of equal quality; the judge only likes longer answers, and 'verbose' writes more."""
    rng = np.random.default_rng(seed)
    outcome_rows, length_rows = [], []
    for case in range(n_cases):
        case_id = f"c{case:03d}"
        n_verbose, n_terse = rng.integers(200, 1200), rng.integers(100, 700)
        length_rows += [(case_id, "verbose", n_verbose, 0.0), (case_id, "terse", n_terse, 0.0)]
        difference = (n_verbose - n_terse) / (n_verbose + n_terse)
        verbose_wins = rng.random() < 1 / (1 + np.exp(-4 * difference))
        outcome_rows.append((case_id, "verbose", "terse", float(verbose_wins)))
    return outcomes_from(outcome_rows), pd.DataFrame(
        length_rows, columns=["case_id", "model", "n_chars", "markdown_density"])


def test_style_control_removes_a_length_preference():
    outcomes, lengths = style_data(n_cases=300, seed=4)
    plain = bradley_terry(outcomes, n_boot=100, seed=0).set_index("model")["rating"]
    controlled, coefficients = style_controlled_bt(outcomes, lengths, n_boot=200, seed=0)
    controlled = controlled.set_index("model")
    plain_gap = plain["verbose"] - plain["terse"]
    assert plain_gap > 80  # the raw ratings reward length
    controlled_gap = controlled.loc["verbose", "rating"] - controlled.loc["terse", "rating"]
    assert abs(controlled_gap) < plain_gap / 2
    # the true strengths are equal: both ratings 1000
    assert controlled.loc["verbose", "ci_low"] < 1000 < controlled.loc["verbose", "ci_high"]
    assert controlled.loc["terse", "ci_low"] < 1000 < controlled.loc["terse", "ci_high"]
    assert coefficients["length"] > 0.5
    assert coefficients["markdown"] is None  # no answer had any markdown: not estimable


def test_style_control_without_any_style_difference_is_plain_bradley_terry():
    outcomes = outcomes_from([("c1", "A", "B", 1.0), ("c2", "A", "B", 1.0), ("c3", "A", "B", 1.0),
                              ("c4", "A", "B", 0.0)])
    lengths = pd.DataFrame([(f"c{i}", m, 100, 0.1) for i in range(1, 5) for m in "AB"],
                           columns=["case_id", "model", "n_chars", "markdown_density"])
    table, coefficients = style_controlled_bt(outcomes, lengths, n_boot=100, seed=0)
    ratings = table.set_index("model")["rating"]
    assert ratings["A"] - ratings["B"] == pytest.approx(ELO_OF_ODDS_3, abs=1e-6)
    assert coefficients == {"length": None, "markdown": None}


def test_length_controlled_win_rate_with_equal_lengths_is_the_win_rate():
    outcomes = outcomes_from([("c1", "A", "B", 1.0), ("c2", "A", "B", 1.0), ("c3", "A", "B", 1.0),
                              ("c4", "A", "B", 0.0)])
    lengths = pd.DataFrame([(f"c{i}", m, 300, 0.0) for i in range(1, 5) for m in "AB"],
                           columns=["case_id", "model", "n_chars", "markdown_density"])
    table = length_controlled_win_rate(outcomes, lengths, baseline="B", n_boot=100, seed=0)
    assert list(table["model"]) == ["A"] and list(table["baseline"]) == ["B"]
    assert table.loc[0, "win_rate"] == pytest.approx(0.75)


def test_length_controlled_win_rate_removes_a_length_preference():
    outcomes, lengths = style_data(n_cases=300, seed=5)
    raw = outcomes["outcome"].mean()
    row = length_controlled_win_rate(outcomes, lengths, baseline="terse", n_boot=200, seed=0).iloc[0]
    assert raw > 0.6
    assert abs(row["win_rate"] - 0.5) < 0.08
    assert row["ci_low"] < 0.5 < row["ci_high"]


def test_length_controlled_win_rate_of_a_clean_sweep_is_not_computable():
    outcomes = outcomes_from([(f"c{i}", "A", "B", 1.0) for i in range(5)])
    lengths = pd.DataFrame([(f"c{i}", "A", 100 + i, 0.0) for i in range(5)]
                           + [(f"c{i}", "B", 120, 0.0) for i in range(5)],
                           columns=["case_id", "model", "n_chars", "markdown_density"])
    row = length_controlled_win_rate(outcomes, lengths, baseline="B", n_boot=50, seed=0).iloc[0]
    assert math.isnan(row["win_rate"]) and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])
