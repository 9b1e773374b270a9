import math

import numpy as np
import pandas as pd
import pytest

from harness.stats import mean_ranks, overall_win_rates, pairwise_outcomes, pairwise_table
from harness.stats.winrate import classify_outcomes, with_mirrors


def rankings_from(rows):
    return pd.DataFrame(rows, columns=["case_id", "rep", "model", "rank"])


def outcomes_from(rows):
    return pd.DataFrame(rows, columns=["case_id", "a", "b", "outcome"])


def test_outcome_per_case_averages_repetitions():
    rankings = rankings_from([
        # c1: the two orders disagree, so the case is a tie
        ("c1", 0, "A", 1), ("c1", 0, "B", 2), ("c1", 1, "B", 1), ("c1", 1, "A", 2),
        # c2: A first both times
        ("c2", 0, "A", 1), ("c2", 0, "B", 2), ("c2", 1, "A", 1), ("c2", 1, "B", 2),
        # c3: an explicit tie in rank
        ("c3", 0, "A", 1), ("c3", 0, "B", 1),
        # c4: rep 1 ranked only A (B's judgment failed), so only rep 0 counts
        ("c4", 0, "A", 2), ("c4", 0, "B", 1), ("c4", 1, "A", 1),
    ])
    outcomes = pairwise_outcomes(rankings).set_index(["case_id", "a", "b"])["outcome"]
    assert outcomes[("c1", "A", "B")] == 0.5 and outcomes[("c1", "B", "A")] == 0.5
    assert outcomes[("c2", "A", "B")] == 1.0 and outcomes[("c2", "B", "A")] == 0.0
    assert outcomes[("c3", "A", "B")] == 0.5
    assert outcomes[("c4", "A", "B")] == 0.0
    assert len(outcomes) == 8


def test_three_models_give_every_ordered_pair():
    rankings = rankings_from([("c1", 0, "A", 1), ("c1", 0, "B", 2), ("c1", 0, "C", 3)])
    outcomes = pairwise_outcomes(rankings)
    assert len(outcomes) == 6
    table = outcomes.set_index(["a", "b"])["outcome"]
    assert table[("A", "C")] == 1.0 and table[("C", "B")] == 0.0 and table[("B", "C")] == 1.0


def test_no_pairs_give_an_empty_table():
    outcomes = pairwise_outcomes(rankings_from([("c1", 0, "A", 1)]))
    assert outcomes.empty and list(outcomes.columns) == ["case_id", "a", "b", "outcome"]


def test_classify_outcomes_counts_decisive_cases():
    assert classify_outcomes([1.0, 0.75, 0.5, 0.25, 0.0, 0.5]) == (2, 2, 2)


def test_pairwise_table_by_hand():
    outcomes = with_mirrors(outcomes_from([("c1", "A", "B", 1.0), ("c2", "A", "B", 1.0),
                                           ("c3", "A", "B", 0.5), ("c4", "A", "B", 0.0)]))
    table = pairwise_table(outcomes, n_boot=400, seed=0).set_index(["a", "b"])
    ab, ba = table.loc[("A", "B")], table.loc[("B", "A")]
    assert (ab["n"], ab["wins"], ab["losses"], ab["ties"]) == (4, 2, 1, 1)
    assert ab["win_rate"] == pytest.approx(0.625)  # (1 + 1 + 0.5 + 0) / 4
    assert (ba["wins"], ba["losses"], ba["ties"]) == (1, 2, 1)
    assert ba["win_rate"] == pytest.approx(0.375)
    # the mirror resamples the same cases, so its interval is the reflection around one half
    assert ba["ci_low"] == pytest.approx(1 - ab["ci_high"]) and ba["ci_high"] == pytest.approx(1 - ab["ci_low"])
    assert ab["ci_low"] <= 0.625 <= ab["ci_high"]


def test_overall_win_rate_is_the_mean_over_opponents():
    outcomes = with_mirrors(outcomes_from([
        ("c1", "A", "B", 1.0), ("c2", "A", "B", 1.0), ("c3", "A", "B", 0.0),  # A vs B: 2/3
        ("c1", "A", "C", 0.5), ("c2", "A", "C", 0.5), ("c3", "A", "C", 1.0),  # A vs C: 2/3
        ("c1", "B", "C", 0.0), ("c2", "B", "C", 1.0), ("c3", "B", "C", 1.0),  # B vs C: 2/3
    ]))
    table = overall_win_rates(outcomes, n_boot=300, seed=0).set_index("model")
    assert table.loc["A", "win_rate"] == pytest.approx(2 / 3)  # (2/3 + 2/3) / 2
    assert table.loc["B", "win_rate"] == pytest.approx(0.5)  # (1/3 + 2/3) / 2
    assert table.loc["C", "win_rate"] == pytest.approx(1 / 3)  # (1/3 + 1/3) / 2
    # the three win rates add up to 3/2 in every resample, so the intervals cannot all sit high
    assert table["ci_low"].sum() < 1.5 < table["ci_high"].sum()


def test_overall_interval_with_two_models_is_the_pairwise_interval():
    rng = np.random.default_rng(0)
    outcomes = with_mirrors(outcomes_from(
        [(f"c{i:02d}", "A", "B", v) for i, v in enumerate(rng.choice([0, 0.5, 1], size=30))]))
    pairwise = pairwise_table(outcomes, n_boot=500, seed=4).set_index(["a", "b"]).loc[("A", "B")]
    overall = overall_win_rates(outcomes, n_boot=500, seed=4).set_index("model").loc["A"]
    assert overall["win_rate"] == pytest.approx(pairwise["win_rate"])
    assert overall["ci_low"] == pytest.approx(pairwise["ci_low"])
    assert overall["ci_high"] == pytest.approx(pairwise["ci_high"])


def test_overall_interval_needs_two_cases():
    outcomes = with_mirrors(outcomes_from([("c1", "A", "B", 1.0)]))
    row = overall_win_rates(outcomes, n_boot=100).set_index("model").loc["A"]
    assert row["win_rate"] == 1.0 and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])


def test_with_mirrors_adds_only_missing_rows():
    outcomes = outcomes_from([("c1", "A", "B", 0.75), ("c1", "B", "A", 0.25), ("c2", "A", "B", 1.0)])
    mirrored = with_mirrors(outcomes).set_index(["case_id", "a", "b"])["outcome"]
    assert len(mirrored) == 4 and mirrored[("c2", "B", "A")] == 0.0


def test_mean_ranks_by_hand():
    rankings = rankings_from([("c1", 0, "A", 1), ("c1", 0, "B", 2), ("c1", 1, "A", 2), ("c1", 1, "B", 1),
                              ("c2", 0, "A", 1), ("c2", 0, "B", 2)])
    ranks = mean_ranks(rankings).set_index("model")["mean_rank"]
    assert ranks["A"] == pytest.approx(4 / 3) and ranks["B"] == pytest.approx(5 / 3)


def test_a_judge_that_always_picks_the_first_answer_yields_only_ties():
    # two orders per case, the first-shown answer ranked first every time: the orders always disagree
    rankings = rankings_from([(f"c{i}", rep, model, rank)
                              for i in range(5)
                              for rep, order in enumerate([["A", "B"], ["B", "A"]])
                              for rank, model in enumerate(order, start=1)])
    table = pairwise_table(pairwise_outcomes(rankings), n_boot=100, seed=0).set_index(["a", "b"])
    assert (table.loc[("A", "B"), "wins"], table.loc[("A", "B"), "ties"]) == (0, 5)
    assert table.loc[("A", "B"), "win_rate"] == 0.5
