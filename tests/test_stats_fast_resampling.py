"""Vectorised bootstraps and table building, against plain references written out in loops.

Two kinds of reference: where every figure has every case, the shared draw must give exactly
what resampling each figure's own values gives (`bootstrap_ci`, `paired_bootstrap`); where some
cases are missing, a loop over the resamples that averages each figure over the drawn cases it
has. Table builders (outcomes, mirrors, power, audit) are compared with the pandas code they replace.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from harness.stats import (_logistic, _resample, bootstrap_ci, grouped_scores, overall_win_rates,
                           paired_bootstrap, pairwise_outcomes, pairwise_significance, pairwise_table, power_summary,
                           sign_test)
from harness.stats._blas import one_blas_thread
from harness.stats._resample import (interval_allowing_failures, intervals_allowing_failures, percentile_interval,
                                     percentile_intervals, resample_counts, resample_indices)
from harness.stats.scores import clipped_mean_with_ci
from harness.stats.winrate import OUTCOME_COLUMNS, with_mirrors


def random_rankings(n_cases: int, models: str, reps: int, seed: int, drop: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for case in range(n_cases):
        for rep in range(reps):
            shown = [m for m in models if rng.random() >= drop]
            ranks = rng.integers(1, len(models) + 1, size=len(shown))  # repeated ranks are ties
            rows += [(f"c{case:02d}", f"judge|{rep}", m, int(r)) for m, r in zip(shown, ranks)]
    return pd.DataFrame(rows, columns=["case_id", "rep", "model", "rank"])


def merged_outcomes(rankings: pd.DataFrame) -> pd.DataFrame:
    """pairwise_outcomes as it was: a self-merge on (case, rep), then a mean per case and pair."""
    ranks = rankings[["case_id", "rep", "model", "rank"]]
    pairs = ranks.merge(ranks, on=["case_id", "rep"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["model_a"] != pairs["model_b"]]
    beat = np.where(pairs["rank_a"] < pairs["rank_b"], 1.0, np.where(pairs["rank_a"] == pairs["rank_b"], 0.5, 0.0))
    per_rep = pd.DataFrame({"case_id": pairs["case_id"].to_numpy(), "a": pairs["model_a"].to_numpy(),
                            "b": pairs["model_b"].to_numpy(), "outcome": beat})
    return per_rep.groupby(["case_id", "a", "b"], as_index=False)["outcome"].mean()[OUTCOME_COLUMNS]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pairwise_outcomes_match_the_self_merge(seed):
    rankings = random_rankings(30, "ABCDE", reps=3, seed=seed, drop=0.25)
    fast = pairwise_outcomes(rankings)
    expected = merged_outcomes(rankings)
    assert list(fast.columns) == OUTCOME_COLUMNS
    keys = ["case_id", "a", "b"]
    assert fast[keys].astype(str).values.tolist() == expected[keys].astype(str).values.tolist()
    assert fast["outcome"].to_numpy() == pytest.approx(expected["outcome"].to_numpy(), abs=0)


def test_with_mirrors_matches_concat_and_drop_duplicates():
    rng = np.random.default_rng(3)
    rows = [(f"c{rng.integers(6)}", *rng.choice(list("ABCD"), 2, replace=False), float(rng.choice([0, 0.5, 1])))
            for _ in range(40)]
    outcomes = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)  # some mirrors present, some pairs repeated
    mirrored = outcomes.rename(columns={"a": "b", "b": "a"}).assign(outcome=lambda t: 1.0 - t["outcome"])
    expected = pd.concat([outcomes, mirrored[OUTCOME_COLUMNS]], ignore_index=True).drop_duplicates(
        subset=["case_id", "a", "b"], keep="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(with_mirrors(outcomes), expected, check_dtype=False)


def shared_draw_reference(values: dict, cases: list, n_boot: int, seed: int) -> dict:
    """figure -> bootstrap means, by a loop: draw the cases, average each figure over those it has."""
    indices = resample_indices(len(cases), n_boot, seed)
    boots = {}
    for key, per_case in values.items():
        means = []
        for row in indices:
            drawn = [per_case[cases[i]] for i in row if cases[i] in per_case]
            means.append(np.mean(drawn) if drawn else np.nan)
        boots[key] = np.array(means)
    return boots


def interval_of(boot: np.ndarray) -> tuple[float, float]:
    return percentile_interval(boot) if not np.isnan(boot).any() else interval_allowing_failures(boot)


def test_pairwise_table_with_every_case_is_each_pairs_own_bootstrap():
    rankings = random_rankings(25, "ABC", reps=2, seed=4, drop=0.0)
    outcomes = pairwise_outcomes(rankings)
    table = pairwise_table(outcomes, n_boot=300, seed=5)
    for row in table.itertuples():
        values = outcomes[(outcomes["a"] == row.a) & (outcomes["b"] == row.b)].sort_values("case_id")["outcome"]
        assert (row.ci_low, row.ci_high) == pytest.approx(bootstrap_ci(values.to_numpy(), n_boot=300, seed=5),
                                                          abs=1e-12)


def one_answer_missing(n_cases: int) -> pd.DataFrame:
    """Every case ranked in two orders, except that C's answer to case 5 failed (a few absent cells)."""
    rankings = random_rankings(n_cases, "ABC", reps=2, seed=16, drop=0.0)
    return rankings[~((rankings["case_id"] == "c05") & (rankings["model"] == "C"))]


@pytest.mark.parametrize("outcomes", [pairwise_outcomes(random_rankings(12, "ABC", reps=2, seed=6, drop=0.35)),
                                      pairwise_outcomes(one_answer_missing(200))], ids=["many", "one"])
def test_pairwise_table_with_missing_cases_averages_over_the_shared_draw(outcomes):
    table = pairwise_table(outcomes, n_boot=400, seed=1)
    cases = sorted(set(outcomes["case_id"]))
    values = {(a, b): dict(zip(pair["case_id"], pair["outcome"])) for (a, b), pair in outcomes.groupby(["a", "b"])}
    boots = shared_draw_reference(values, cases, 400, 1)
    missing_somewhere = 0
    for row in table.itertuples():
        boot = boots[(row.a, row.b)]
        missing_somewhere += len(values[(row.a, row.b)]) < len(cases)
        assert row.n == len(values[(row.a, row.b)])
        assert row.win_rate == pytest.approx(np.mean(list(values[(row.a, row.b)].values())))
        assert (row.ci_low, row.ci_high) == pytest.approx(interval_of(boot), abs=1e-12, nan_ok=True)
    assert missing_somewhere >= 2


def test_overall_win_rates_match_the_pivot_table_version():
    outcomes = with_mirrors(pairwise_outcomes(random_rankings(15, "ABCD", reps=2, seed=7, drop=0.3)))
    models = list(dict.fromkeys(list(outcomes["a"]) + list(outcomes["b"])))
    cases = np.sort(outcomes["case_id"].unique())
    keys = list(outcomes.groupby(["a", "b"], sort=False).groups)
    pivot = outcomes.pivot_table(index="case_id", columns=["a", "b"], values="outcome", aggfunc="mean")
    pivot = pivot.reindex(index=cases, columns=pd.MultiIndex.from_tuples(keys))
    present, values = pivot.notna().to_numpy(float), pivot.fillna(0.0).to_numpy(float)
    counts = resample_counts(len(cases), 500, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot_rates = (counts @ values) / (counts @ present)
    table = overall_win_rates(outcomes, n_boot=500, seed=3).set_index("model")
    for model in models:
        columns = [i for i, (a, _b) in enumerate(keys) if a == model]
        expected = interval_allowing_failures(boot_rates[:, columns].mean(axis=1))
        rates = values[:, columns].sum(axis=0) / present[:, columns].sum(axis=0)
        assert table.loc[model, "win_rate"] == pytest.approx(np.mean(rates))
        assert (table.loc[model, "ci_low"], table.loc[model, "ci_high"]) == pytest.approx(expected, abs=1e-12,
                                                                                          nan_ok=True)


def group_frame(seed: int, drop: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(m, f"c{c:02d}", g, float(rng.normal(0.6, 0.3)))
            for g in ["safety", "accuracy"] for c in range(18) for m in "AB"
            if (g == "safety" or c % 3) and rng.random() >= drop]
    return pd.DataFrame(rows, columns=["model", "case_id", "group", "score"])


def test_grouped_scores_with_every_case_are_model_scores_of_the_group():
    frame = group_frame(8, drop=0.0)
    table = grouped_scores(frame, n_boot=300, seed=2).set_index(["model", "group"])
    for (model, group), scores in frame.groupby(["model", "group"]):
        expected = clipped_mean_with_ci(scores["score"], n_boot=300, seed=2)
        assert tuple(table.loc[(model, group)]) == pytest.approx(expected, abs=1e-12)


def test_grouped_scores_with_missing_cases_average_over_the_groups_draw():
    frame = group_frame(9, drop=0.3)
    table = grouped_scores(frame, n_boot=400, seed=6).set_index(["model", "group"])
    for group, scores in frame.groupby("group"):
        cases = list(dict.fromkeys(scores["case_id"]))
        values = {m: dict(zip(s["case_id"], s["score"])) for m, s in scores.groupby("model")}
        boots = shared_draw_reference(values, cases, 400, 6)
        for model, per_case in values.items():
            low, high = interval_of(boots[model])
            assert table.loc[(model, group), "n"] == len(per_case)
            assert table.loc[(model, group), "score"] == pytest.approx(np.clip(np.mean(list(per_case.values())), 0, 1))
            assert (table.loc[(model, group), "ci_low"], table.loc[(model, group), "ci_high"]) == pytest.approx(
                (np.clip(low, 0, 1), np.clip(high, 0, 1)), abs=1e-12, nan_ok=True)


def significance_frames(drop: float, seed: int):
    rng = np.random.default_rng(seed)
    case_scores = pd.DataFrame([(m, f"c{c:02d}", float(rng.normal(0.5 + 0.05 * "ABC".index(m), 0.2)))
                                for c in range(20) for m in "ABC" if rng.random() >= drop],
                               columns=["model", "case_id", "score"])
    group_scores = case_scores.assign(group="safety", score=case_scores["score"] * 0.9)[
        ["model", "case_id", "group", "score"]]
    outcomes = pairwise_outcomes(random_rankings(20, "ABC", reps=2, seed=seed, drop=drop))
    return case_scores, group_scores, outcomes


def test_pairwise_significance_with_every_case_is_each_pairs_own_bootstrap():
    case_scores, group_scores, outcomes = significance_frames(drop=0.0, seed=10)
    table = pairwise_significance(case_scores, group_scores, outcomes, n_boot=300, seed=4)
    wide = case_scores.pivot(index="case_id", columns="model", values="score").sort_index()
    for row in table.itertuples():
        if row.metric == "wins":
            pair = with_mirrors(outcomes)
            values = pair[(pair["a"] == row.a) & (pair["b"] == row.b)].sort_values("case_id")["outcome"].to_numpy()
            assert (row.ci_low, row.ci_high) == pytest.approx(bootstrap_ci(values - 0.5, n_boot=300, seed=4), abs=1e-12)
            continue
        scale = 0.9 if row.metric == "axis:safety" else 1.0
        diff, interval, p_value = paired_bootstrap(wide[row.a] * scale, wide[row.b] * scale, n_boot=300, seed=4)
        assert (row.diff, row.ci_low, row.ci_high, row.p_value) == pytest.approx((diff, *interval, p_value), abs=1e-12)


def test_pairwise_significance_with_missing_cases_counts_empty_resamples_against_the_test():
    case_scores, _groups, _outcomes = significance_frames(drop=0.3, seed=11)
    table = pairwise_significance(case_scores, None, None, n_boot=400, seed=8)
    cases = sorted(set(case_scores["case_id"]))
    wide = case_scores.pivot(index="case_id", columns="model", values="score")
    differences = {}
    for a, b in zip(table["a"], table["b"]):  # pairs in the order models first appear
        both = wide[[a, b]].dropna()
        differences[(a, b)] = dict(zip(both.index, both[a] - both[b]))
    boots = shared_draw_reference(differences, cases, 400, 8)
    assert len(table) == 3
    for row in table.itertuples():
        boot = boots[(row.a, row.b)]
        failed = int(np.isnan(boot).sum())
        far_side = min(int(np.sum(boot <= 0)), int(np.sum(boot >= 0))) + failed
        assert row.n == len(differences[(row.a, row.b)])
        assert row.diff == pytest.approx(np.mean(list(differences[(row.a, row.b)].values())))
        assert (row.ci_low, row.ci_high) == pytest.approx(interval_of(boot), abs=1e-12, nan_ok=True)
        assert row.p_value == pytest.approx(min(1.0, 2 * (far_side + 1) / 401))


def test_vectorised_intervals_match_the_one_column_versions():
    rng = np.random.default_rng(12)
    samples = rng.normal(size=(999, 30))
    samples[rng.random(samples.shape) < 0.01] = np.nan
    samples[:, 4] = np.nan
    samples[:40, 5] = np.nan  # failures beyond both tails: no bound
    expected = np.array([interval_allowing_failures(samples[:, k]) for k in range(30)])
    np.testing.assert_array_equal(intervals_allowing_failures(samples), expected)
    assert np.isnan(expected[5]).all() and not np.isnan(expected[6]).any()
    expected = np.array([percentile_interval(samples[:, k]) for k in range(30)])
    np.testing.assert_array_equal(percentile_intervals(samples), expected)


def test_sign_test_is_scipys_binomial_test():
    for wins in range(40):
        for losses in range(0, 40, 3):
            if wins + losses:
                assert sign_test(wins, losses) == pytest.approx(binomtest(wins, wins + losses, 0.5).pvalue, rel=1e-9)


def test_draws_are_numpys_integers_and_kept_draws_cannot_be_changed():
    expected = np.random.default_rng(21).integers(0, 300, size=(50, 300))
    _resample.forget_draws()
    first = resample_indices(300, 50, 21)
    assert np.array_equal(first, expected) and first.dtype == np.int64
    first[0, 0] = -1  # a caller's copy: changing it changes nothing kept
    assert np.array_equal(resample_indices(300, 50, 21), expected)
    assert not _resample.drawn_counts(300, 50, 21).flags.writeable
    assert np.array_equal(resample_counts(300, 50, 21), [np.bincount(row, minlength=300) for row in expected])
    _resample.forget_draws()
    assert not _resample._kept


def test_power_summary_matches_the_pandas_version():
    rng = np.random.default_rng(13)
    case_scores = pd.DataFrame([(m, f"c{c:02d}", float(rng.random())) for c in range(30) for m in "ABC"
                                if rng.random() > 0.2], columns=["model", "case_id", "score"])
    outcomes = pairwise_outcomes(random_rankings(30, "ABC", reps=2, seed=13, drop=0.2))
    summary = power_summary(case_scores, outcomes)
    wide = case_scores.groupby(["case_id", "model"])["score"].mean().unstack("model")
    largest = 0.0
    for a, b in [("A", "B"), ("A", "C"), ("B", "C")]:
        differences = (wide[a] - wide[b]).dropna().to_numpy()
        largest = max(largest, 2.801585 * np.std(differences, ddof=1) / math.sqrt(differences.size))
    smallest_n = outcomes.groupby(["a", "b"]).size().min()
    assert summary["min_detectable_score_diff"] == pytest.approx(largest, rel=1e-5)
    assert summary["min_detectable_win_rate_diff"] == pytest.approx(2.801585 * 0.5 / math.sqrt(smallest_n), rel=1e-5)
    assert summary["n_cases"] == 30


def test_judge_checks_flip_and_length_rates_match_plain_loops():
    from harness.stats import judge_checks as jc

    rng = np.random.default_rng(14)
    rows, lengths = [], []
    for case in range(40):
        for m in "ABC":
            lengths.append((f"c{case}", m, int(rng.integers(1, 4)) * 100, 0.0))
        for rep in range(int(rng.integers(1, 4))):
            order = list(rng.permutation(list("ABC")))
            ranking = order if rng.random() < 0.5 else sorted(order)
            rows.append((f"c{case}", (f"c{case}",), rep, order, ranking, None if rng.random() > 0.1 else "timeout"))
    judgments = pd.DataFrame(rows, columns=["case_id", "unit", "rep", "order", "ranking", "error"])
    lengths = pd.DataFrame(lengths, columns=["case_id", "model", "n_chars", "markdown_density"])
    done = jc.successful(judgments)
    consistent = [len({tuple(r) for r in case["ranking"]}) == 1
                  for _c, case in done.groupby("case_id") if len(case) >= 2]
    n_chars = lengths.set_index(["case_id", "model"])["n_chars"]
    longer = [n_chars[(c, r[0])] > n_chars[(c, r[1])] for c, r in zip(done["case_id"], done["ranking"])
              if n_chars[(c, r[0])] != n_chars[(c, r[1])]]
    assert jc.flip_check(done, "j")["value"] == pytest.approx(1 - np.mean(consistent))
    assert jc.longer_answer_rate(done, lengths) == pytest.approx(np.mean(longer))


def test_well_behaved_resamples_need_no_single_fit(monkeypatch):
    # The bulk Newton steps must settle ordinary resamples themselves; the single fit is for the
    # separable or ill-conditioned few.
    calls = []
    single = _logistic.fit_logistic
    monkeypatch.setattr(_logistic, "fit_logistic", lambda *a, **k: calls.append(1) or single(*a, **k))
    outcomes = pairwise_outcomes(random_rankings(200, "ABCD", reps=2, seed=15, drop=0.0))
    from harness.stats import bradley_terry
    table = bradley_terry(outcomes, n_boot=300, seed=0)
    assert table["ci_low"].notna().all()
    assert len(calls) == 0


def test_matrix_products_run_on_one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with one_blas_thread():
        blas = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
        assert blas and all(pool["num_threads"] == 1 for pool in blas)
