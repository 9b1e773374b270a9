"""Win rates from the judge's rankings.

The unit of evidence is the case, not the judgment: a case judged in two orders gives one
outcome per pair of models, the share of its repetitions in which one model ranked above the
other (equal ranks count half). Two orders that disagree therefore make a tie, 0.5, which is
what a judge with a position bias has actually told us. Intervals resample cases.

Weighted verdicts (Arena-Hard's convention that a strong preference counts as several games): a ranking
may carry a `weight`, the number of games its verdict counts as. A case's outcome is then the weighted
share of its games, and a win rate pools games over cases, sum(weight x outcome) / sum(weight), still
resampling cases. With every weight 1 this is the plain mean over cases.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ._blas import single_threaded_blas
from ._resample import (drawn_counts, interval_allowing_failures, intervals_allowing_failures, percentile_intervals,
                        resampled_means)
from ._values import with_keys

OUTCOME_COLUMNS = ["case_id", "a", "b", "outcome"]
PAIRWISE_COLUMNS = ["a", "b", "n", "wins", "losses", "ties", "win_rate", "ci_low", "ci_high"]
OVERALL_COLUMNS = ["model", "win_rate", "ci_low", "ci_high"]


def pairwise_outcomes(rankings: pd.DataFrame) -> pd.DataFrame:
    """Per case and ordered pair (a, b), a != b: share of the case's reps in which a beat b.

    Only repetitions in which both models were ranked count. Both (a, b) and (b, a) appear,
    with outcomes that add up to 1. Rows are sorted by case, then a, then b. The work is one
    (repetitions, models, models) comparison, linear in the number of rankings.

    With a `weight` column (one value per rep: the games its verdict counts as), each rep counts
    that many times, and the output has a `weight` column too: the mean weight of the case's reps
    for that pair, which is how much the case counts in a pooled win rate.
    """
    case_codes, case_ids = pd.factorize(rankings["case_id"], sort=True, use_na_sentinel=False)
    rep_codes, reps = pd.factorize(rankings["rep"], use_na_sentinel=False)
    model_codes, models = pd.factorize(rankings["model"], sort=True, use_na_sentinel=False)
    n_models, n_reps = len(models), max(len(reps), 1)
    if n_models < 2:
        return pd.DataFrame(columns=OUTCOME_COLUMNS).astype({"outcome": float})
    # one row of ranks per judged (case, rep), sorted by case
    judged, judged_codes = np.unique(case_codes.astype(np.int64) * n_reps + rep_codes, return_inverse=True)
    ranks = np.full((judged.size, n_models), np.nan)
    ranks[judged_codes, model_codes] = rankings["rank"].to_numpy(float)
    judged_case = judged // n_reps
    weighted = "weight" in rankings.columns
    games = np.ones(judged.size)
    if weighted:
        games[judged_codes] = rankings["weight"].to_numpy(float)
    rank_a, rank_b = ranks[:, :, None], ranks[:, None, :]
    with np.errstate(invalid="ignore"):
        beat = np.where(rank_a < rank_b, 1.0, np.where(rank_a == rank_b, 0.5, 0.0))
    both = ~(np.isnan(rank_a) | np.isnan(rank_b))
    # judged rows come sorted by case, and every case has one: sum each case's block of rows
    starts = np.flatnonzero(np.diff(judged_case, prepend=-1))
    beat_sum = np.add.reduceat(np.where(both, beat, 0.0) * games[:, None, None], starts, axis=0)
    game_sum = np.add.reduceat(both * games[:, None, None], starts, axis=0)
    both_count = np.add.reduceat(both.astype(float), starts, axis=0)
    both_count[:, np.arange(n_models), np.arange(n_models)] = 0  # a model is not its own opponent
    case, a, b = np.nonzero(both_count)
    columns = OUTCOME_COLUMNS + (["weight"] if weighted else [])
    if case.size == 0:
        return pd.DataFrame(columns=columns).astype({"outcome": float})
    out = pd.DataFrame({"case_id": case_ids.take(case), "a": models.take(a), "b": models.take(b),
                        "outcome": beat_sum[case, a, b] / game_sum[case, a, b]})
    if weighted:
        out["weight"] = game_sum[case, a, b] / both_count[case, a, b]
    return out


def classify_outcomes(outcomes) -> tuple[int, int, int]:
    """(wins, losses, ties): a case is decisive when its outcome is above or below one half."""
    values = np.asarray(outcomes, dtype=float)
    ties = np.isclose(values, 0.5)
    return (int(np.sum((values > 0.5) & ~ties)), int(np.sum((values < 0.5) & ~ties)), int(np.sum(ties)))


@single_threaded_blas
def pairwise_table(outcomes: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                   alpha: float = 0.05) -> pd.DataFrame:
    """One row per ordered pair: cases, decisive wins and losses, ties, mean outcome and interval.

    Every pair resamples the same draw of the judged cases (sorted), each pair's figure the mean
    over the drawn cases it was judged on; so (a, b) and (b, a) mirror each other around one half,
    and a pair judged on every case gets the percentile interval of resampling its own outcomes.
    A pair missing some cases can draw none of them: such a resample has no figure, and the
    interval is computed as if it lay beyond either bound (`interval_allowing_failures`).
    """
    if outcomes.empty:
        return pd.DataFrame(columns=PAIRWISE_COLUMNS)
    table = _case_pair_table(outcomes)
    values, present = table.sums, table.weights
    n = table.counts.sum(axis=0)
    decisive = np.isclose(table.outcome, 0.5)
    wins = np.bincount(table.pair, weights=(table.outcome > 0.5) & ~decisive, minlength=len(table.keys))
    losses = np.bincount(table.pair, weights=(table.outcome < 0.5) & ~decisive, minlength=len(table.keys))
    ties = np.bincount(table.pair, weights=decisive, minlength=len(table.keys))
    intervals = _pair_intervals(values, present, n, n_boot, seed, alpha)
    rows = [(a, b, int(n[k]), int(wins[k]), int(losses[k]), int(ties[k]), float(values[:, k].sum() / present[:, k].sum()),
             float(intervals[k, 0]), float(intervals[k, 1])) for k, (a, b) in enumerate(table.keys)]
    return pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)


@single_threaded_blas
def overall_win_rates(outcomes: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                      alpha: float = 0.05) -> pd.DataFrame:
    """Each model's mean over opponents of its pairwise win rate, with a paired bootstrap.

    Each resample draws cases once and every pair uses those same cases, so the correlation
    between a model's pairwise win rates (they share its answers) is kept in the interval.
    """
    outcomes = with_mirrors(outcomes)
    models = _models_in(outcomes)
    if not models:
        return pd.DataFrame(columns=OVERALL_COLUMNS)
    table = _case_pair_table(outcomes)
    # cases x ordered pairs: a case judged twice for one pair counts once, at its (weighted) mean outcome and
    # its mean weight
    with np.errstate(invalid="ignore", divide="ignore"):
        present = np.where(table.counts > 0, table.weights / np.maximum(table.counts, 1), 0.0)
        values = np.where(table.counts > 0, table.sums / np.maximum(table.counts, 1), 0.0)
        full_pair_rates = values.sum(axis=0) / present.sum(axis=0)
    boot_pair_rates = resampled_means(drawn_counts(table.n_cases, n_boot, seed), values, present)

    rows = []
    for model in models:
        columns = [i for i, (a, _b) in enumerate(table.keys) if a == model]
        point = float(np.mean(full_pair_rates[columns])) if columns else float("nan")
        # a resample that missed every case of some opponent has no figure (NaN)
        boot = boot_pair_rates[:, columns].mean(axis=1) if columns else np.array([])
        low, high = interval_allowing_failures(boot, alpha) if table.n_cases >= 2 else (float("nan"), float("nan"))
        rows.append((model, point, low, high))
    return pd.DataFrame(rows, columns=OVERALL_COLUMNS)


def mean_ranks(rankings: pd.DataFrame) -> pd.DataFrame:
    """Mean rank per model over all judged repetitions (1 = best)."""
    means = rankings.groupby("model", sort=False)["rank"].mean()
    return pd.DataFrame({"model": means.index.to_list(), "mean_rank": means.to_numpy(float)})


def with_mirrors(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Add (b, a) with outcome 1 - x for every (a, b) whose mirror is missing."""
    case, _cases = pd.factorize(outcomes["case_id"], use_na_sentinel=False)
    model, models = pd.factorize(pd.concat([outcomes["a"], outcomes["b"]], ignore_index=True),
                                 use_na_sentinel=False)
    a, b = model[: len(outcomes)].astype(np.int64), model[len(outcomes):].astype(np.int64)
    width = max(len(models), 1)
    given_keys, mirror_keys = (case * width + a) * width + b, (case * width + b) * width + a
    rows, mirrors = _first_occurrences(given_keys, mirror_keys, (case.max(initial=0) + 1) * width * width)
    columns = OUTCOME_COLUMNS + (["weight"] if "weight" in outcomes.columns else [])
    given = outcomes[columns] if rows.all() else outcomes.loc[rows, columns]
    if not mirrors.any():
        return given.reset_index(drop=True)
    added = outcomes.loc[mirrors, columns].rename(columns={"a": "b", "b": "a"})
    added = added.assign(outcome=1.0 - added["outcome"])[columns]
    return pd.concat([given, added], ignore_index=True)


def _first_occurrences(given: np.ndarray, mirrors: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Which given keys are first of their kind, and which mirror keys are new after all given ones."""
    if n_keys <= 50_000_000:  # a table of every possible key is small: count instead of hashing
        if np.bincount(given, minlength=n_keys).max(initial=0) <= 1:
            seen = np.zeros(n_keys, dtype=bool)
            seen[given] = True
            new = ~seen[mirrors]
            if np.bincount(mirrors[new], minlength=n_keys).max(initial=0) <= 1:
                return np.ones(given.size, dtype=bool), new
    keep = ~pd.Index(np.concatenate([given, mirrors])).duplicated(keep="first")
    return keep[: given.size], keep[given.size:]


class _CasePairTable(NamedTuple):
    """Outcomes laid out as cases (sorted) x ordered pairs (in order of first appearance)."""
    keys: list  # (a, b) per column
    n_cases: int
    sums: np.ndarray  # (cases, pairs): sum of the (weighted) outcomes of a case and pair
    counts: np.ndarray  # (cases, pairs): how many outcomes that case and pair have (usually 0 or 1)
    weights: np.ndarray  # (cases, pairs): sum of their weights (the counts when outcomes are unweighted)
    pair: np.ndarray  # per outcome row: its column
    outcome: np.ndarray  # per outcome row: its value


def _case_pair_table(outcomes: pd.DataFrame) -> _CasePairTable:
    outcomes = with_keys(outcomes, ["case_id", "a", "b"])
    case_codes, cases = pd.factorize(outcomes["case_id"], sort=True)
    a_codes, a_names = pd.factorize(outcomes["a"])
    b_codes, b_names = pd.factorize(outcomes["b"])
    pair_codes, pair_ids = pd.factorize(a_codes.astype(np.int64) * len(b_names) + b_codes)
    keys = [(a_names[i // len(b_names)], b_names[i % len(b_names)]) for i in pair_ids]
    outcome = outcomes["outcome"].to_numpy(float)
    weight = outcomes["weight"].to_numpy(float) if "weight" in outcomes.columns else np.ones(len(outcome))
    cell = case_codes.astype(np.int64) * len(keys) + pair_codes
    size = len(cases) * len(keys)
    shape = (len(cases), len(keys))
    sums = np.bincount(cell, weights=weight * outcome, minlength=size).reshape(shape)
    counts = np.bincount(cell, minlength=size).reshape(shape).astype(float)
    weights = np.bincount(cell, weights=weight, minlength=size).reshape(shape)
    return _CasePairTable(keys, len(cases), sums, counts, weights, pair_codes, outcome)


def _pair_intervals(values: np.ndarray, present: np.ndarray, n: np.ndarray, n_boot: int, seed: int,
                    alpha: float) -> np.ndarray:
    """(pairs, 2) intervals of each column's mean over one shared draw of the cases (rows)."""
    intervals = np.full((values.shape[1], 2), np.nan)
    usable = n >= 2  # one case has no spread to resample
    if values.shape[0] == 0 or not usable.any():
        return intervals
    boot = resampled_means(drawn_counts(values.shape[0], n_boot, seed), values[:, usable], present[:, usable])
    complete = ~np.isnan(boot).any(axis=0)
    found = np.full((boot.shape[1], 2), np.nan)
    found[complete] = percentile_intervals(boot[:, complete], alpha)
    found[~complete] = intervals_allowing_failures(boot[:, ~complete], alpha)
    intervals[usable] = found
    return intervals


def _models_in(outcomes: pd.DataFrame) -> list:
    return list(pd.unique(pd.concat([outcomes["a"], outcomes["b"]], ignore_index=True)))
