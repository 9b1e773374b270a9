"""Bradley-Terry ratings from pairwise outcomes, plain and with style control.

Bradley-Terry: P(a beats b) = 1 / (1 + exp(theta_b - theta_a)), fitted by maximum likelihood
with a tie as half a win and half a loss. Strengths are shown on an Elo-like scale: 400 points
are a factor of 10 in the odds, and the mean rating is 1000.

Style control (as in style-controlled arena ratings) adds covariates to the same logistic model:
the normalized differences in answer length and in markdown density between a and b. The model
strengths then measure what is left of a preference once the judge's taste for long or heavily
formatted answers is accounted for, and the covariates' coefficients show how strong that taste is.

Weighted outcomes (a `weight` column, harness.stats.winrate: the games a case's verdicts count as) enter every
fit as win and loss masses multiplied by the weight, as Arena-Hard counts a strong preference as several battles.

A rating is infinite when a model, or a group of models, never lost to the rest; such a figure is
reported as NaN, and bootstrap resamples where it happens widen the interval (see
`_resample.interval_allowing_failures`) instead of being quietly dropped.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from ._blas import single_threaded_blas
from ._logistic import _identified, _used_rows, fit_logistic, fit_logistic_resamples, is_separable
from ._resample import drawn_counts, interval_allowing_failures
from ._values import with_keys
from .winrate import with_mirrors

RATING_COLUMNS = ["model", "rating", "ci_low", "ci_high"]
LENGTH_CONTROLLED_COLUMNS = ["model", "baseline", "win_rate", "ci_low", "ci_high"]
ELO_PER_LOG_ODDS = 400 / math.log(10)
MEAN_RATING = 1000.0
STYLE_FEATURES = {"length": "n_chars", "markdown": "markdown_density"}


@single_threaded_blas
def bradley_terry(outcomes: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                  alpha: float = 0.05) -> pd.DataFrame:
    """One row per model: Bradley-Terry rating (mean 1000) and a bootstrap interval over cases."""
    comparisons = _unordered(outcomes)
    models = comparisons.models
    if len(models) < 2:
        return pd.DataFrame({"model": models, "rating": np.nan, "ci_low": np.nan, "ci_high": np.nan},
                            columns=RATING_COLUMNS)
    # cases x pairs (i, j), sorted: a's win mass and loss mass in each case (0 where not judged)
    pair_codes, pair_ids = pd.factorize(comparisons.i * len(models) + comparisons.j, sort=True)
    pair_index = np.column_stack([pair_ids // len(models), pair_ids % len(models)]).astype(int)
    n_cases = len(comparisons.case_ids)
    cell = comparisons.case * len(pair_ids) + pair_codes
    case_wins = np.bincount(cell, weights=comparisons.wins, minlength=n_cases * len(pair_ids))
    case_losses = np.bincount(cell, weights=comparisons.losses, minlength=n_cases * len(pair_ids))
    case_wins, case_losses = case_wins.reshape(n_cases, -1), case_losses.reshape(n_cases, -1)
    cases = comparisons.case_ids

    full_beta = _bt_fit(len(models), pair_index, case_wins.sum(axis=0), case_losses.sum(axis=0))
    full = np.full(len(models), np.nan) if full_beta is None else _to_ratings(np.append(full_beta, 0.0))
    counts = drawn_counts(len(cases), n_boot, seed).astype(float)
    # a resample has a finite maximum exactly when its comparison graph is strongly connected
    connected = _strongly_connected(len(models), pair_index, counts @ case_wins > 0, counts @ case_losses > 0)
    betas = np.full((n_boot, len(models) - 1), np.nan)
    betas[connected] = fit_logistic_resamples(_bt_design(len(models), pair_index), case_wins, case_losses,
                                              counts[connected], full_beta)
    boot = _to_ratings(np.hstack([betas, np.zeros((n_boot, 1))]))
    return _rating_table(models, full, boot, alpha, enough_cases=len(cases) >= 2)


@single_threaded_blas
def style_controlled_bt(outcomes: pd.DataFrame, lengths: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                        alpha: float = 0.05) -> tuple[pd.DataFrame, dict[str, float | None]]:
    """Bradley-Terry ratings with length and markdown covariates, and the covariates' coefficients.

    Each covariate is (value_a - value_b) / (value_a + value_b) (0 when both are 0), divided by
    its root mean square over the comparisons; a coefficient is the change in log-odds that a
    wins per one such unit. A covariate that never differs cannot be estimated: its coefficient
    is None and it is left out of the fit. Comparisons lacking a length for either answer are
    left out.
    """
    comparisons = _unordered(outcomes)
    models = comparisons.models
    differences = {name: _answer_difference(lengths, column, comparisons) for name, column in STYLE_FEATURES.items()}
    known = ~np.isnan(differences["length"]) & ~np.isnan(differences["markdown"])
    names = [name for name in STYLE_FEATURES if np.any(differences[name][known] != 0)]
    empty = {name: None for name in STYLE_FEATURES}
    if len(models) < 2 or not known.any():
        table = pd.DataFrame({"model": models, "rating": np.nan, "ci_low": np.nan, "ci_high": np.nan},
                             columns=RATING_COLUMNS)
        return table, empty

    n_rows = int(known.sum())
    strengths = np.zeros((n_rows, len(models)))
    strengths[np.arange(n_rows), comparisons.i[known]] = 1.0
    strengths[np.arange(n_rows), comparisons.j[known]] = -1.0
    features = np.column_stack([differences[name][known] for name in names]) if names else np.zeros((n_rows, 0))
    features = features / np.sqrt(np.mean(features ** 2, axis=0))
    design = np.hstack([strengths[:, :-1], features])  # the last model is the reference, theta = 0
    outcome, wins, losses = comparisons.outcome[known], comparisons.wins[known], comparisons.losses[known]

    # cases with a comparison left, in order; each row's position among them
    row_case, cases = pd.factorize(comparisons.case[known], sort=True)

    def figures(betas: np.ndarray) -> np.ndarray:
        """Ratings of the models, then the covariates' coefficients, per fit (NaN where none)."""
        strengths = np.hstack([betas[:, : len(models) - 1], np.zeros((len(betas), 1))])
        return np.hstack([_to_ratings(strengths), betas[:, len(models) - 1:]])

    full_beta = fit_logistic(design, wins, losses)
    full = figures(np.full((1, design.shape[1]), np.nan) if full_beta is None else full_beta[None, :])[0]
    counts = drawn_counts(len(cases), n_boot, seed).astype(float)
    wins_by_case, losses_by_case = _by_case(row_case, len(cases), wins, losses)
    boot = figures(_resampled_fits(design, wins_by_case, losses_by_case, counts, full_beta, outcome))
    table = _rating_table(models, full[: len(models)], boot[:, : len(models)], alpha, enough_cases=len(cases) >= 2)
    coefficients = dict(empty)
    for k, name in enumerate(names):
        value = full[len(models) + k]
        coefficients[name] = None if np.isnan(value) else float(value)
    return table, coefficients


@single_threaded_blas
def length_controlled_win_rate(outcomes: pd.DataFrame, lengths: pd.DataFrame, baseline: str,
                               n_boot: int = 2000, seed: int = 0, alpha: float = 0.05) -> pd.DataFrame:
    """Each model's win rate against `baseline` had both answers been equally long.

    Per model, a logistic model P(model beats baseline) = sigmoid(b0 + b1 * d) over the cases
    judged for the pair, with d the normalized length difference (n_model - n_base) /
    (n_model + n_base); the controlled win rate is the prediction at d = 0, sigmoid(b0). NaN
    when the fit has no finite maximum (the model won, or lost, every case) or no case is left.
    """
    comparisons = _mirrored(outcomes)
    difference = _answer_difference(lengths, "n_chars", comparisons)
    base = comparisons.models.index(baseline) if baseline in comparisons.models else -1
    result = []
    for k, model in enumerate(comparisons.models):
        if model == baseline:
            continue
        # the pair's cases in sorted order (rows are sorted by case)
        pair = (comparisons.i == k) & (comparisons.j == base) & ~np.isnan(difference)
        rate = _controlled_rate(comparisons.outcome[pair], difference[pair], n_boot, seed, alpha,
                                comparisons.weight[pair])
        result.append((model, baseline, *rate))
    return pd.DataFrame(result, columns=LENGTH_CONTROLLED_COLUMNS)


def _controlled_rate(outcome: np.ndarray, difference: np.ndarray, n_boot: int, seed: int,
                     alpha: float, weight: np.ndarray | None = None) -> tuple[float, float, float]:
    nan = float("nan")
    if outcome.size == 0:
        return (nan, nan, nan)
    columns = [np.ones(outcome.size)]
    if np.any(difference != 0):
        columns.append(difference / np.sqrt(np.mean(difference ** 2)))
    design = np.column_stack(columns)

    weight = np.ones(outcome.size) if weight is None else weight
    full_beta = fit_logistic(design, weight * outcome, weight * (1 - outcome))
    point = nan if full_beta is None else float(1 / (1 + math.exp(-full_beta[0])))
    if outcome.size < 2:
        return (point, nan, nan)
    counts = drawn_counts(outcome.size, n_boot, seed).astype(float)
    wins_by_case, losses_by_case = _by_case(np.arange(outcome.size), outcome.size, weight * outcome,
                                            weight * (1 - outcome))
    betas = _resampled_fits(design, wins_by_case, losses_by_case, counts, full_beta, outcome)
    boot = 1 / (1 + np.exp(-betas[:, 0]))
    return (point, *interval_allowing_failures(boot, alpha))


def _resampled_fits(design: np.ndarray, wins_by_case, losses_by_case, counts: np.ndarray,
                    full_beta: np.ndarray | None, outcome: np.ndarray) -> np.ndarray:
    """`fit_logistic` of every resample, NaN where none; all NaN at once when the full data have none.

    A resample keeps a subset of the rows. Data that are separable stay separable (or lose
    identification) on any subset, and a design without full rank keeps lacking it, so when the full
    data have no finite maximum for either reason no resample has one, and none is fitted.
    """
    if full_beta is None and (not _identified_rows(design, outcome) or is_separable(design, outcome, 1 - outcome)):
        return np.full((counts.shape[0], design.shape[1]), np.nan)
    return fit_logistic_resamples(design, wins_by_case, losses_by_case, counts, full_beta)


def _by_case(row_case: np.ndarray, n_cases: int, wins: np.ndarray, losses: np.ndarray):
    """(cases, rows) sparse matrices of each row's win and loss mass, the row belonging to one case."""
    from scipy.sparse import csr_array

    columns = np.arange(row_case.size)
    return (csr_array((wins, (row_case, columns)), shape=(n_cases, row_case.size)),
            csr_array((losses, (row_case, columns)), shape=(n_cases, row_case.size)))


def _identified_rows(design: np.ndarray, outcome: np.ndarray) -> bool:
    used, _wins, _losses = _used_rows(design, outcome, 1 - outcome)
    return used.shape[0] > 0 and _identified(used)


def _bt_fit(n_models: int, pairs: np.ndarray, wins: np.ndarray, losses: np.ndarray,
            start: np.ndarray | None = None) -> np.ndarray | None:
    """Log-odds strengths of all but the last model (the reference, 0) for aggregated pair results.

    None when the maximum likelihood is infinite. It is finite exactly when every model can be
    reached from every other by following "beat, or drew with" (the comparison graph is strongly
    connected); checking the graph first spares the fit a walk off to infinity.
    """
    if not _strongly_connected(n_models, pairs, wins[None, :] > 0, losses[None, :] > 0)[0]:
        return None
    return fit_logistic(_bt_design(n_models, pairs), wins, losses, start)


def _bt_design(n_models: int, pairs: np.ndarray) -> np.ndarray:
    """One row per pair (i, j): +1 for i, -1 for j; the last model's column is dropped (its strength is 0)."""
    design = np.zeros((len(pairs), n_models))
    design[np.arange(len(pairs)), pairs[:, 0]] = 1.0
    design[np.arange(len(pairs)), pairs[:, 1]] = -1.0
    return design[:, :-1]


def _strongly_connected(n_models: int, pairs: np.ndarray, won: np.ndarray, lost: np.ndarray) -> np.ndarray:
    """Per resample (rows of `won` and `lost`, resamples x pairs): can every model reach every other
    by following "beat, or drew with"? Boolean reachability by repeated squaring, all resamples at once."""
    reach = np.zeros((won.shape[0], n_models, n_models))
    reach[:, pairs[:, 0], pairs[:, 1]] = won
    reach[:, pairs[:, 1], pairs[:, 0]] = lost
    reach[:, np.arange(n_models), np.arange(n_models)] = 1.0
    for _ in range(max(1, int(np.ceil(np.log2(max(n_models, 2)))))):
        reach = (reach @ reach > 0).astype(float)
    return reach.reshape(won.shape[0], -1).all(axis=1)


def _to_ratings(theta: np.ndarray) -> np.ndarray:
    """Elo-scale ratings with mean 1000, per row of strengths (one row per fit)."""
    elo = ELO_PER_LOG_ODDS * theta
    return MEAN_RATING + elo - elo.mean(axis=-1, keepdims=True)


def _rating_table(models: list, ratings: np.ndarray, boot: np.ndarray, alpha: float,
                  enough_cases: bool) -> pd.DataFrame:
    rows = []
    for k, model in enumerate(models):
        low, high = interval_allowing_failures(boot[:, k], alpha) if enough_cases else (np.nan, np.nan)
        rows.append((model, float(ratings[k]), low, high))
    return pd.DataFrame(rows, columns=RATING_COLUMNS)


class _Comparisons(NamedTuple):
    """Outcomes as arrays: one entry per case and ordered pair (i, j) of model indices."""
    models: list  # in order of first appearance, as a then as b
    case_ids: pd.Index  # sorted
    case: np.ndarray  # position in case_ids
    i: np.ndarray
    j: np.ndarray
    outcome: np.ndarray  # i's share of the win
    weight: np.ndarray  # the games the case's verdicts count as (1 unless outcomes are weighted)

    @property
    def wins(self) -> np.ndarray:
        return self.weight * self.outcome

    @property
    def losses(self) -> np.ndarray:
        return self.weight * (1.0 - self.outcome)


def _mirrored(outcomes: pd.DataFrame) -> _Comparisons:
    """Every case and ordered pair, mirrors added, sorted by case, then i, then j."""
    if outcomes.empty:
        nothing = np.array([], dtype=int)
        return _Comparisons([], pd.Index([]), nothing, nothing, nothing, np.array([]), np.array([]))
    mirrored = with_keys(with_mirrors(outcomes), ["case_id", "a", "b"])
    # models in order of first appearance as a, then as b
    model, names = pd.factorize(pd.concat([mirrored["a"], mirrored["b"]], ignore_index=True))
    i, j = model[: len(mirrored)], model[len(mirrored):]
    case, case_ids = pd.factorize(mirrored["case_id"], sort=True)
    order = np.lexsort((j, i, case))
    weight = mirrored["weight"].to_numpy(float) if "weight" in mirrored.columns else np.ones(len(mirrored))
    return _Comparisons(list(names), case_ids, case[order], i[order], j[order],
                        mirrored["outcome"].to_numpy(float)[order], weight[order])


def _unordered(outcomes: pd.DataFrame) -> _Comparisons:
    """One entry per case and unordered pair, as indices i < j, sorted by case, then i, then j."""
    every = _mirrored(outcomes)
    keep = every.i < every.j
    return every._replace(case=every.case[keep], i=every.i[keep], j=every.j[keep], outcome=every.outcome[keep],
                          weight=every.weight[keep])


def _answer_difference(lengths: pd.DataFrame, column: str, comparisons: _Comparisons) -> np.ndarray:
    """Per comparison, the normalized difference of one answer feature between i and j; NaN where
    either answer has none. Several rows for one answer are averaged."""
    n_cases, n_models = len(comparisons.case_ids), len(comparisons.models)
    case = comparisons.case_ids.get_indexer(lengths["case_id"]) if n_cases else np.full(len(lengths), -1)
    model = pd.Index(comparisons.models).get_indexer(lengths["model"]) if n_models else np.full(len(lengths), -1)
    values = pd.to_numeric(lengths[column], errors="coerce").to_numpy(float)
    keep = (case >= 0) & (model >= 0) & ~np.isnan(values)
    cell = case[keep] * n_models + model[keep]
    sums = np.bincount(cell, weights=values[keep], minlength=n_cases * n_models)
    counts = np.bincount(cell, minlength=n_cases * n_models)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_answer = (sums / counts).reshape(n_cases, n_models)
    return _normalized_difference(per_answer[comparisons.case, comparisons.i],
                                  per_answer[comparisons.case, comparisons.j])


def _normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b), 0 where both are 0; NaN where either is missing."""
    total = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total == 0, 0.0, (a - b) / np.where(total == 0, 1.0, total))
