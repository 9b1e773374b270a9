from math import comb

import numpy as np
import pandas as pd
import pytest

from harness.stats.repeats import case_means, consistency, pass_hat_k, variance_split


def test_case_means_make_the_case_the_unit():
    scores = pd.DataFrame({"model": ["m"] * 4, "case_id": ["a", "a", "a", "b"], "sample": [0, 1, 2, 0],
                           "score": [1.0, 0.0, 0.5, 0.25]})
    assert case_means(scores).set_index("case_id")["score"].to_dict() == {"a": 0.5, "b": 0.25}


def test_consistency_by_hand():
    rows = [("m", "a", s, "c1", met) for s, met in enumerate([True, True, True])]     # consistent
    rows += [("m", "a", s, "c2", met) for s, met in enumerate([True, False, True])]   # not
    rows += [("m", "b", s, "c1", met) for s, met in enumerate([False, False])]        # consistent
    rows += [("m", "c", 0, "c1", True)]                                              # one sample: left out
    table = consistency(pd.DataFrame(rows, columns=["model", "case_id", "sample", "criterion", "met"]))
    row = table.iloc[0]
    assert (row["units"], row["consistent"]) == (3, 2) and row["share"] == pytest.approx(2 / 3)


def test_pass_hat_k_is_the_unbiased_estimate():
    # case a: 3 of 4 samples pass; case b: 4 of 4; case c: 1 sample (left out for k=2).
    rows = [("m", "a", s, p) for s, p in enumerate([1, 1, 1, 0])] + [("m", "b", s, 1) for s in range(4)] + \
           [("m", "c", 0, 1)]
    table = pass_hat_k(pd.DataFrame(rows, columns=["model", "case_id", "sample", "passed"]), k=2)
    assert table.iloc[0]["cases"] == 2
    assert table.iloc[0]["pass_hat_k"] == pytest.approx((comb(3, 2) / comb(4, 2) + 1.0) / 2)  # (0.5 + 1) / 2


def test_variance_split_matches_a_one_way_anova():
    rng = np.random.default_rng(3)
    cases = {f"c{i}": rng.normal(0.5, 0.2) for i in range(30)}
    rows = [("m", c, s, mu + rng.normal(0, 0.1)) for c, mu in cases.items() for s in range(4)]
    frame = pd.DataFrame(rows, columns=["model", "case_id", "sample", "score"])
    row = variance_split(frame).iloc[0]
    groups = [frame[frame.case_id == c]["score"].to_numpy() for c in cases]
    ms_within = np.mean([np.var(g, ddof=1) for g in groups])
    ms_between = 4 * np.var([g.mean() for g in groups], ddof=1)
    assert row["within"] == pytest.approx(ms_within)
    assert row["between"] == pytest.approx((ms_between - ms_within) / 4)  # the ANOVA estimate of the case variance
    assert 0.1 < row["share_within"] < 0.4
