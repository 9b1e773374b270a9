"""The rating fits of all bootstrap resamples at once, against plain per-resample references.

Each reference here is the slow way, written out: loop over the resamples, build the weighted
data, maximize the likelihood with scipy.optimize (analytic gradient and Hessian), decide
separability with scipy's graph or LP tools. The fast paths must give the same figures.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from harness.stats import bradley_terry, length_controlled_win_rate, pairwise_outcomes, style_controlled_bt
from harness.stats._logistic import fit_logistic, fit_logistic_resamples, is_separable
from harness.stats._resample import interval_allowing_failures, resample_counts

ELO = 400 / math.log(10)


def scipy_fit(design, wins, losses):
    """Maximum likelihood by scipy's trust-region Newton method on the negative log-likelihood."""
    def negative_log_likelihood(beta):
        margin = design @ beta
        return wins @ np.logaddexp(0, -margin) + losses @ np.logaddexp(0, margin)

    def gradient(beta):
        p = 1 / (1 + np.exp(-(design @ beta)))
        return -design.T @ (wins - (wins + losses) * p)

    def hessian(beta):
        p = 1 / (1 + np.exp(-(design @ beta)))
        return (design * ((wins + losses) * p * (1 - p))[:, None]).T @ design

    result = minimize(negative_log_likelihood, np.zeros(design.shape[1]), jac=gradient, hess=hessian,
                      method="trust-exact", options={"gtol": 1e-11})
    return result.x


def rankings(strengths: dict, n_cases: int, reps: int, seed: int, drop: float = 0.0) -> pd.DataFrame:
    """Plackett-Luce rankings; each answer is missing from a ranking with probability `drop`."""
    rng = np.random.default_rng(seed)
    rows = []
    for case in range(n_cases):
        for rep in range(reps):
            shown = [m for m in strengths if rng.random() >= drop]
            noisy = {m: strengths[m] + rng.gumbel() for m in shown}
            for rank, model in enumerate(sorted(noisy, key=noisy.get, reverse=True), start=1):
                rows.append((f"c{case:03d}", rep, model, rank))
    return pd.DataFrame(rows, columns=["case_id", "rep", "model", "rank"])


def lengths_for(outcomes: pd.DataFrame, seed: int, verbose: dict) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    models = sorted(set(outcomes["a"]) | set(outcomes["b"]))
    rows = [(case, m, int(rng.integers(100, 900) * verbose.get(m, 1.0)), float(rng.gamma(2.0, 0.5)))
            for case in sorted(set(outcomes["case_id"])) for m in models]
    return pd.DataFrame(rows, columns=["case_id", "model", "n_chars", "markdown_density"])


def test_resampled_fits_match_scipy_on_every_resample():
    rng = np.random.default_rng(0)
    n_cases, rows_per_case = 40, 3
    design = np.column_stack([rng.normal(size=n_cases * rows_per_case), rng.normal(size=n_cases * rows_per_case)])
    outcome = (rng.random(design.shape[0]) < 1 / (1 + np.exp(-(design @ [0.8, -0.5])))).astype(float)
    outcome[rng.random(design.shape[0]) < 0.1] = 0.5
    row_case = np.repeat(np.arange(n_cases), rows_per_case)
    wins_by_case = csr_array((outcome, (row_case, np.arange(design.shape[0]))), shape=(n_cases, design.shape[0]))
    losses_by_case = csr_array((1 - outcome, (row_case, np.arange(design.shape[0]))),
                               shape=(n_cases, design.shape[0]))
    counts = resample_counts(n_cases, 60, seed=1)
    start = fit_logistic(design, outcome, 1 - outcome)
    fast = fit_logistic_resamples(design, wins_by_case, losses_by_case, counts, start)
    for r in range(counts.shape[0]):
        weights = counts[r, row_case].astype(float)
        expected = scipy_fit(design, weights * outcome, weights * (1 - outcome))
        assert fast[r] == pytest.approx(expected, abs=1e-6)


def test_resampled_fits_leave_separable_resamples_without_an_estimate():
    # 8 cases, one row each: a resample that happens to draw only wins (or only the cases where the
    # covariate orders the outcomes) has no finite maximum
    design = np.column_stack([np.ones(8), [-1.5, -1.0, -0.4, 0.1, 0.3, 0.9, 1.2, 2.0]])
    outcome = np.array([0, 0, 1, 0, 1, 0, 1, 1], dtype=float)
    identity = csr_array(np.eye(8))
    counts = resample_counts(8, 300, seed=2)
    start = fit_logistic(design, outcome, 1 - outcome)
    fast = fit_logistic_resamples(design, identity * outcome[None, :], identity * (1 - outcome)[None, :],
                                  counts, start)
    failed = 0
    for r in range(counts.shape[0]):
        wins, losses = counts[r] * outcome, counts[r] * (1 - outcome)
        used = (wins + losses) > 0
        unfit = np.linalg.matrix_rank(design[used]) < 2 or is_separable(design, wins, losses)
        failed += unfit
        if unfit:
            assert np.isnan(fast[r]).all()
        else:
            assert fast[r] == pytest.approx(scipy_fit(design, wins, losses), abs=1e-6)
    assert 20 < failed < 280  # both kinds of resample were exercised


def reference_bradley_terry(outcomes: pd.DataFrame, n_boot: int, seed: int):
    """Ratings and intervals the slow way: a graph check and a scipy fit per resample."""
    models = list(dict.fromkeys(list(outcomes["a"]) + list(outcomes["b"])))
    index = {m: k for k, m in enumerate(models)}
    rows = outcomes[[index[a] < index[b] for a, b in zip(outcomes["a"], outcomes["b"])]]
    cases = sorted(set(rows["case_id"]))
    pairs = sorted({(index[a], index[b]) for a, b in zip(rows["a"], rows["b"])})
    case_position, pair_position = {c: k for k, c in enumerate(cases)}, {p: k for k, p in enumerate(pairs)}
    case_wins = np.zeros((len(cases), len(pairs)))
    case_losses = np.zeros((len(cases), len(pairs)))
    for case, a, b, outcome in rows[["case_id", "a", "b", "outcome"]].itertuples(index=False):
        k = pair_position[(index[a], index[b])]
        case_wins[case_position[case], k] += outcome
        case_losses[case_position[case], k] += 1 - outcome
    design = np.zeros((len(pairs), len(models)))
    for k, (i, j) in enumerate(pairs):
        design[k, i], design[k, j] = 1.0, -1.0

    def ratings(wins, losses):
        beats = np.zeros((len(models), len(models)))
        for k, (i, j) in enumerate(pairs):
            beats[i, j] = beats[i, j] or wins[k] > 0
            beats[j, i] = beats[j, i] or losses[k] > 0
        if connected_components(beats, directed=True, connection="strong")[0] != 1:
            return np.full(len(models), np.nan)
        theta = np.append(scipy_fit(design[:, :-1], wins, losses), 0.0)
        return 1000 + ELO * (theta - theta.mean())

    full = ratings(case_wins.sum(axis=0), case_losses.sum(axis=0))
    counts = resample_counts(len(cases), n_boot, seed)
    boot = np.array([ratings(counts[r] @ case_wins, counts[r] @ case_losses) for r in range(n_boot)])
    return models, full, [interval_allowing_failures(boot[:, k]) for k in range(len(models))]


@pytest.mark.parametrize("drop", [0.0, 0.3])
def test_bradley_terry_matches_the_per_resample_reference(drop):
    outcomes = pairwise_outcomes(rankings({"A": 0.0, "B": 0.4, "C": 0.9, "D": 1.3}, n_cases=50, reps=2, seed=3,
                                          drop=drop))
    table = bradley_terry(outcomes, n_boot=80, seed=7)
    models, full, intervals = reference_bradley_terry(outcomes, n_boot=80, seed=7)
    assert list(table["model"]) == models
    assert list(table["rating"]) == pytest.approx(list(full), abs=1e-4)  # 1e-4 Elo is 6e-7 log-odds
    for k in range(len(models)):
        expected = pytest.approx(list(intervals[k]), abs=1e-4, nan_ok=True)
        assert [table.loc[k, "ci_low"], table.loc[k, "ci_high"]] == expected


def test_bradley_terry_widens_for_resamples_where_a_model_never_lost():
    # B beats A in only 2 of 12 cases: some resamples draw neither, and A's rating there is infinite
    rows = [(f"c{i:02d}", "A", "B", 1.0) for i in range(10)] + [("c10", "A", "B", 0.0), ("c11", "A", "B", 0.0)]
    outcomes = pd.DataFrame(rows, columns=["case_id", "a", "b", "outcome"])
    table = bradley_terry(outcomes, n_boot=400, seed=0)
    _models, full, intervals = reference_bradley_terry(pairwise_outcomes_from(outcomes), n_boot=400, seed=0)
    assert list(table["rating"]) == pytest.approx(list(full), abs=1e-4)
    for k in range(2):
        expected = pytest.approx(list(intervals[k]), abs=1e-4, nan_ok=True)
        assert [table.loc[k, "ci_low"], table.loc[k, "ci_high"]] == expected
    assert math.isnan(table.loc[0, "ci_high"])  # (11/12)^12 = 35% of resamples have no B win


def pairwise_outcomes_from(outcomes: pd.DataFrame) -> pd.DataFrame:
    mirrored = outcomes.rename(columns={"a": "b", "b": "a"}).assign(outcome=1 - outcomes["outcome"])
    return pd.concat([outcomes, mirrored[outcomes.columns]], ignore_index=True)


def style_reference(outcomes, lengths, n_boot, seed):
    """Style-controlled ratings and coefficients, one scipy fit per resample."""
    models = list(dict.fromkeys(list(outcomes["a"]) + list(outcomes["b"])))
    index = {m: k for k, m in enumerate(models)}
    per_answer = lengths.groupby(["case_id", "model"])[["n_chars", "markdown_density"]].mean()
    rows = []
    for case, a, b, outcome in outcomes[["case_id", "a", "b", "outcome"]].itertuples(index=False):
        if index[a] < index[b]:
            x, y = per_answer.loc[(case, a)], per_answer.loc[(case, b)]
            features = [(x[c] - y[c]) / (x[c] + y[c]) if x[c] + y[c] else 0.0 for c in ["n_chars", "markdown_density"]]
            rows.append((case, index[a], index[b], outcome, *features))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    cases = sorted({r[0] for r in rows})
    row_case = np.array([cases.index(r[0]) for r in rows])
    features = np.array([r[4:] for r in rows])
    features = features / np.sqrt(np.mean(features ** 2, axis=0))
    design = np.zeros((len(rows), len(models)))
    design[np.arange(len(rows)), [r[1] for r in rows]] = 1
    design[np.arange(len(rows)), [r[2] for r in rows]] = -1
    design = np.hstack([design[:, :-1], features])
    outcome = np.array([r[3] for r in rows])

    def figures(weights):
        beta = scipy_fit(design, weights * outcome, weights * (1 - outcome))
        theta = np.append(beta[: len(models) - 1], 0.0)
        return np.concatenate([1000 + ELO * (theta - theta.mean()), beta[len(models) - 1:]])

    full = figures(np.ones(len(rows)))
    counts = resample_counts(len(cases), n_boot, seed)
    boot = np.array([figures(counts[r, row_case].astype(float)) for r in range(n_boot)])
    return models, full, [interval_allowing_failures(boot[:, k]) for k in range(len(models))]


def test_style_controlled_bt_matches_the_per_resample_reference():
    outcomes = pairwise_outcomes(rankings({"A": 0.0, "B": 0.5, "C": 1.0}, n_cases=40, reps=2, seed=5))
    lengths = lengths_for(outcomes, seed=6, verbose={"A": 1.6})
    table, coefficients = style_controlled_bt(outcomes, lengths, n_boot=60, seed=9)
    models, full, intervals = style_reference(outcomes, lengths, n_boot=60, seed=9)
    assert list(table["model"]) == models
    assert list(table["rating"]) == pytest.approx(list(full[: len(models)]), abs=1e-4)
    assert [coefficients["length"], coefficients["markdown"]] == pytest.approx(list(full[len(models):]), abs=1e-6)
    for k in range(len(models)):
        assert [table.loc[k, "ci_low"], table.loc[k, "ci_high"]] == pytest.approx(list(intervals[k]), abs=1e-4)


def test_length_controlled_win_rate_matches_the_per_resample_reference():
    outcomes = pairwise_outcomes(rankings({"base": 0.0, "tuned": 0.6}, n_cases=45, reps=2, seed=11))
    lengths = lengths_for(outcomes, seed=12, verbose={"tuned": 1.4})
    row = length_controlled_win_rate(outcomes, lengths, baseline="base", n_boot=80, seed=4).iloc[0]
    pair = outcomes[(outcomes["a"] == "tuned") & (outcomes["b"] == "base")].sort_values("case_id")
    n_chars = lengths.set_index(["case_id", "model"])["n_chars"]
    mine = np.array([n_chars[(c, "tuned")] for c in pair["case_id"]], dtype=float)
    base = np.array([n_chars[(c, "base")] for c in pair["case_id"]], dtype=float)
    difference = (mine - base) / (mine + base)
    design = np.column_stack([np.ones(len(pair)), difference / np.sqrt(np.mean(difference ** 2))])
    outcome = pair["outcome"].to_numpy(float)
    counts = resample_counts(len(pair), 80, seed=4)
    boot = [1 / (1 + math.exp(-scipy_fit(design, c * outcome, c * (1 - outcome))[0])) for c in counts]
    assert row["win_rate"] == pytest.approx(1 / (1 + math.exp(-scipy_fit(design, outcome, 1 - outcome)[0])), abs=1e-7)
    assert [row["ci_low"], row["ci_high"]] == pytest.approx(list(interval_allowing_failures(np.array(boot))), abs=1e-7)


def test_a_judge_that_only_reads_length_gives_no_controlled_figures_at_once():
    # The mock judge's "longest" policy: length decides every comparison, so the fits that control
    # for length are separable on the full data and on every resample.
    rng = np.random.default_rng(8)
    length = {(f"c{i:03d}", m): int(rng.integers(100, 1000)) for i in range(300) for m in "ABC"}
    rows = []
    for case in sorted({c for c, _m in length}):
        for rep in range(2):
            for rank, model in enumerate(sorted("ABC", key=lambda m: -length[(case, m)]), start=1):
                rows.append((case, rep, model, rank))
    outcomes = pairwise_outcomes(pd.DataFrame(rows, columns=["case_id", "rep", "model", "rank"]))
    lengths = pd.DataFrame([(c, m, n, 0.0) for (c, m), n in length.items()],
                           columns=["case_id", "model", "n_chars", "markdown_density"])
    table = length_controlled_win_rate(outcomes, lengths, baseline="A", n_boot=500, seed=0)
    assert table[["win_rate", "ci_low", "ci_high"]].isna().all().all()
    styled, coefficients = style_controlled_bt(outcomes, lengths, n_boot=500, seed=0)
    assert styled[["rating", "ci_low", "ci_high"]].isna().all().all()
    assert coefficients == {"length": None, "markdown": None}
