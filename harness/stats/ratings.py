"""Bradley-Terry ratings from pairwise outcomes, plain and with style control.

Bradley-Terry: P(a beats b) = 1 / (1 + exp(theta_b - theta_a)), fitted by maximum likelihood
with a tie as half a win and half a loss. Strengths are shown on an Elo-like scale: 400 points
are a factor of 10 in the odds, and the mean rating is 1000.

Style control (as in style-controlled arena ratings) adds covariates to the same logistic model:
the normalized differences in answer length and in markdown density between a and b. The model
strengths then measure what is left of a preference once the judge's taste for long or heavily
formatted answers is accounted for, and the covariates' coefficients show how strong that taste is.

A rating is infinite when a model, or a group of models, never lost to the rest; such a figure is
reported as NaN, and bootstrap resamples where it happens widen the interval (see
`_resample.interval_allowing_failures`) instead of being quietly dropped.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._logistic import fit_logistic
from ._resample import interval_allowing_failures, resample_counts
from .winrate import with_mirrors

RATING_COLUMNS = ["model", "rating", "ci_low", "ci_high"]
LENGTH_CONTROLLED_COLUMNS = ["model", "baseline", "win_rate", "ci_low", "ci_high"]
ELO_PER_LOG_ODDS = 400 / math.log(10)
MEAN_RATING = 1000.0
STYLE_FEATURES = {"length": "n_chars", "markdown": "markdown_density"}


def bradley_terry(outcomes: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                  alpha: float = 0.05) -> pd.DataFrame:
    """One row per model: Bradley-Terry rating (mean 1000) and a bootstrap interval over cases."""
    models, rows = _unordered(outcomes)
    if len(models) < 2:
        return pd.DataFrame({"model": models, "rating": np.nan, "ci_low": np.nan, "ci_high": np.nan},
                            columns=RATING_COLUMNS)
    cases = np.sort(rows["case_id"].unique())
    pairs = list(rows.groupby(["i", "j"]).groups)
    # cases x pairs: a's win mass and loss mass in each case (0 where the pair was not judged)
    table = rows.pivot_table(index="case_id", columns=["i", "j"], values="outcome", aggfunc="mean")
    table = table.reindex(index=cases, columns=pd.MultiIndex.from_tuples(pairs))
    case_wins = table.fillna(0.0).to_numpy(float)
    case_losses = (1.0 - table).fillna(0.0).to_numpy(float)
    pair_index = np.array(pairs, dtype=int)

    def ratings(beta: np.ndarray | None) -> np.ndarray:
        return np.full(len(models), np.nan) if beta is None else _to_ratings(np.append(beta, 0.0))

    full_beta = _bt_fit(len(models), pair_index, case_wins.sum(axis=0), case_losses.sum(axis=0))
    counts = resample_counts(len(cases), n_boot, seed)
    boot_wins, boot_losses = counts @ case_wins, counts @ case_losses
    boot = np.array([ratings(_bt_fit(len(models), pair_index, boot_wins[r], boot_losses[r], full_beta))
                     for r in range(n_boot)])
    return _rating_table(models, ratings(full_beta), boot, alpha, enough_cases=len(cases) >= 2)


def style_controlled_bt(outcomes: pd.DataFrame, lengths: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                        alpha: float = 0.05) -> tuple[pd.DataFrame, dict[str, float | None]]:
    """Bradley-Terry ratings with length and markdown covariates, and the covariates' coefficients.

    Each covariate is (value_a - value_b) / (value_a + value_b) (0 when both are 0), divided by
    its root mean square over the comparisons; a coefficient is the change in log-odds that a
    wins per one such unit. A covariate that never differs cannot be estimated: its coefficient
    is None and it is left out of the fit. Comparisons lacking a length for either answer are
    left out.
    """
    models, rows = _unordered(outcomes)
    rows = _with_features(rows, lengths)
    names = [name for name in STYLE_FEATURES if np.any(rows[name].to_numpy(float) != 0)] if len(rows) else []
    empty = {name: None for name in STYLE_FEATURES}
    if len(models) < 2 or rows.empty:
        table = pd.DataFrame({"model": models, "rating": np.nan, "ci_low": np.nan, "ci_high": np.nan},
                             columns=RATING_COLUMNS)
        return table, empty

    strengths = np.zeros((len(rows), len(models)))
    strengths[np.arange(len(rows)), rows["i"].to_numpy(int)] = 1.0
    strengths[np.arange(len(rows)), rows["j"].to_numpy(int)] = -1.0
    features = rows[names].to_numpy(float)
    features = features / np.sqrt(np.mean(features ** 2, axis=0))
    design = np.hstack([strengths[:, :-1], features])  # the last model is the reference, theta = 0
    outcome = rows["outcome"].to_numpy(float)

    cases = np.sort(rows["case_id"].unique())
    row_case = np.searchsorted(cases, rows["case_id"].to_numpy())

    def fit(weights: np.ndarray, start: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray]:
        beta = fit_logistic(design, weights * outcome, weights * (1 - outcome), start)
        if beta is None:
            return None, np.full(len(models) + len(names), np.nan)
        return beta, np.concatenate([_to_ratings(np.append(beta[: len(models) - 1], 0.0)), beta[len(models) - 1:]])

    full_beta, full = fit(np.ones(len(rows)))
    counts = resample_counts(len(cases), n_boot, seed)
    boot = np.array([fit(counts[r, row_case].astype(float), full_beta)[1] for r in range(n_boot)])
    table = _rating_table(models, full[: len(models)], boot[:, : len(models)], alpha, enough_cases=len(cases) >= 2)
    coefficients = dict(empty)
    for k, name in enumerate(names):
        value = full[len(models) + k]
        coefficients[name] = None if np.isnan(value) else float(value)
    return table, coefficients


def length_controlled_win_rate(outcomes: pd.DataFrame, lengths: pd.DataFrame, baseline: str,
                               n_boot: int = 2000, seed: int = 0, alpha: float = 0.05) -> pd.DataFrame:
    """Each model's win rate against `baseline` had both answers been equally long.

    Per model, a logistic model P(model beats baseline) = sigmoid(b0 + b1 * d) over the cases
    judged for the pair, with d the normalized length difference (n_model - n_base) /
    (n_model + n_base); the controlled win rate is the prediction at d = 0, sigmoid(b0). NaN
    when the fit has no finite maximum (the model won, or lost, every case) or no case is left.
    """
    mirrored = with_mirrors(outcomes) if not outcomes.empty else outcomes
    models = [m for m in dict.fromkeys(list(mirrored["a"]) + list(mirrored["b"])) if m != baseline]
    n_chars = lengths.groupby(["case_id", "model"])["n_chars"].mean()
    result = []
    for model in models:
        pair = mirrored[(mirrored["a"] == model) & (mirrored["b"] == baseline)].sort_values("case_id")
        length_model = _lookup(n_chars, pair["case_id"], pair["a"])
        length_base = _lookup(n_chars, pair["case_id"], pair["b"])
        known = ~(np.isnan(length_model) | np.isnan(length_base))
        outcome = pair["outcome"].to_numpy(float)[known]
        difference = _normalized_difference(length_model[known], length_base[known])
        result.append((model, baseline, *_controlled_rate(outcome, difference, n_boot, seed, alpha)))
    return pd.DataFrame(result, columns=LENGTH_CONTROLLED_COLUMNS)


def _controlled_rate(outcome: np.ndarray, difference: np.ndarray, n_boot: int, seed: int,
                     alpha: float) -> tuple[float, float, float]:
    nan = float("nan")
    if outcome.size == 0:
        return (nan, nan, nan)
    columns = [np.ones(outcome.size)]
    if np.any(difference != 0):
        columns.append(difference / np.sqrt(np.mean(difference ** 2)))
    design = np.column_stack(columns)

    def intercept(weights: np.ndarray, start: np.ndarray | None = None) -> np.ndarray | None:
        return fit_logistic(design, weights * outcome, weights * (1 - outcome), start)

    def rate(beta: np.ndarray | None) -> float:
        return nan if beta is None else float(1 / (1 + math.exp(-beta[0])))

    full_beta = intercept(np.ones(outcome.size))
    point = rate(full_beta)
    if outcome.size < 2:
        return (point, nan, nan)
    counts = resample_counts(outcome.size, n_boot, seed).astype(float)
    boot = np.array([rate(intercept(counts[r], full_beta)) for r in range(n_boot)])
    return (point, *interval_allowing_failures(boot, alpha))


def _bt_fit(n_models: int, pairs: np.ndarray, wins: np.ndarray, losses: np.ndarray,
            start: np.ndarray | None = None) -> np.ndarray | None:
    """Log-odds strengths of all but the last model (the reference, 0) for aggregated pair results.

    None when the maximum likelihood is infinite. It is finite exactly when every model can be
    reached from every other by following "beat, or drew with" (the comparison graph is strongly
    connected); checking the graph first spares the fit a walk off to infinity.
    """
    from scipy.sparse.csgraph import connected_components

    beats = np.zeros((n_models, n_models))
    beats[pairs[:, 0], pairs[:, 1]] = wins > 0
    beats[pairs[:, 1], pairs[:, 0]] = losses > 0
    n_components, _ = connected_components(beats, directed=True, connection="strong")
    if n_components != 1:
        return None
    design = np.zeros((len(pairs), n_models))
    design[np.arange(len(pairs)), pairs[:, 0]] = 1.0
    design[np.arange(len(pairs)), pairs[:, 1]] = -1.0
    return fit_logistic(design[:, :-1], wins, losses, start)


def _to_ratings(theta: np.ndarray) -> np.ndarray:
    elo = ELO_PER_LOG_ODDS * theta
    return MEAN_RATING + elo - elo.mean()


def _rating_table(models: list, ratings: np.ndarray, boot: np.ndarray, alpha: float,
                  enough_cases: bool) -> pd.DataFrame:
    rows = []
    for k, model in enumerate(models):
        low, high = interval_allowing_failures(boot[:, k], alpha) if enough_cases else (np.nan, np.nan)
        rows.append((model, float(ratings[k]), low, high))
    return pd.DataFrame(rows, columns=RATING_COLUMNS)


def _unordered(outcomes: pd.DataFrame) -> tuple[list, pd.DataFrame]:
    """Models in order of appearance, and one row per case and unordered pair, as indices i < j."""
    if outcomes.empty:
        return [], pd.DataFrame(columns=["case_id", "a", "b", "i", "j", "outcome"])
    mirrored = with_mirrors(outcomes)
    models = list(dict.fromkeys(list(mirrored["a"]) + list(mirrored["b"])))
    index = {model: k for k, model in enumerate(models)}
    rows = mirrored.assign(i=mirrored["a"].map(index), j=mirrored["b"].map(index))
    rows = rows[rows["i"] < rows["j"]].sort_values(["case_id", "i", "j"]).reset_index(drop=True)
    return models, rows


def _with_features(rows: pd.DataFrame, lengths: pd.DataFrame) -> pd.DataFrame:
    """Add the normalized style differences of each comparison; drop comparisons lacking lengths."""
    per_answer = lengths.groupby(["case_id", "model"])[list(STYLE_FEATURES.values())].mean()
    rows = rows.copy()
    for name, column in STYLE_FEATURES.items():
        value_a = _lookup(per_answer[column], rows["case_id"], rows["a"])
        value_b = _lookup(per_answer[column], rows["case_id"], rows["b"])
        rows[name] = _normalized_difference(value_a, value_b)
    return rows.dropna(subset=list(STYLE_FEATURES)).reset_index(drop=True)


def _lookup(per_answer: pd.Series, case_ids, models) -> np.ndarray:
    """Values of a (case_id, model)-indexed series for the given answers; NaN where absent."""
    keys = pd.MultiIndex.from_arrays([np.asarray(case_ids), np.asarray(models)])
    return per_answer.reindex(keys).to_numpy(float)


def _normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b), 0 where both are 0; NaN where either is missing."""
    total = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total == 0, 0.0, (a - b) / np.where(total == 0, 1.0, total))
