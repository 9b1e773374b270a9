"""Win rates from the judge's rankings.

The unit of evidence is the case, not the judgment: a case judged in two orders gives one
outcome per pair of models, the share of its repetitions in which one model ranked above the
other (equal ranks count half). Two orders that disagree therefore make a tie, 0.5, which is
what a judge with a position bias has actually told us. Intervals resample cases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._resample import interval_allowing_failures, resample_counts
from .scores import bootstrap_ci

OUTCOME_COLUMNS = ["case_id", "a", "b", "outcome"]
PAIRWISE_COLUMNS = ["a", "b", "n", "wins", "losses", "ties", "win_rate", "ci_low", "ci_high"]
OVERALL_COLUMNS = ["model", "win_rate", "ci_low", "ci_high"]


def pairwise_outcomes(rankings: pd.DataFrame) -> pd.DataFrame:
    """Per case and ordered pair (a, b), a != b: share of the case's reps in which a beat b.

    Only repetitions in which both models were ranked count. Both (a, b) and (b, a) appear,
    with outcomes that add up to 1.
    """
    ranks = rankings[["case_id", "rep", "model", "rank"]]
    pairs = ranks.merge(ranks, on=["case_id", "rep"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["model_a"] != pairs["model_b"]]
    if pairs.empty:
        return pd.DataFrame(columns=OUTCOME_COLUMNS).astype({"outcome": float})
    rank_a, rank_b = pairs["rank_a"].to_numpy(float), pairs["rank_b"].to_numpy(float)
    beat = np.where(rank_a < rank_b, 1.0, np.where(rank_a == rank_b, 0.5, 0.0))
    per_rep = pd.DataFrame({"case_id": pairs["case_id"].to_numpy(), "a": pairs["model_a"].to_numpy(),
                            "b": pairs["model_b"].to_numpy(), "outcome": beat})
    outcomes = per_rep.groupby(["case_id", "a", "b"], as_index=False)["outcome"].mean()
    return outcomes[OUTCOME_COLUMNS].reset_index(drop=True)


def classify_outcomes(outcomes) -> tuple[int, int, int]:
    """(wins, losses, ties): a case is decisive when its outcome is above or below one half."""
    values = np.asarray(outcomes, dtype=float)
    ties = np.isclose(values, 0.5)
    return (int(np.sum((values > 0.5) & ~ties)), int(np.sum((values < 0.5) & ~ties)), int(np.sum(ties)))


def pairwise_table(outcomes: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                   alpha: float = 0.05) -> pd.DataFrame:
    """One row per ordered pair: cases, decisive wins and losses, ties, mean outcome and interval.

    Cases are sorted before resampling, so (a, b) and (b, a) resample the same cases and their
    intervals mirror each other around one half.
    """
    rows = []
    for (a, b), pair in outcomes.groupby(["a", "b"], sort=False):
        values = pair.sort_values("case_id")["outcome"].to_numpy(float)
        wins, losses, ties = classify_outcomes(values)
        low, high = bootstrap_ci(values, np.mean, n_boot, seed, alpha)
        rows.append((a, b, int(values.size), wins, losses, ties, float(values.mean()), low, high))
    return pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)


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
    cases = np.sort(outcomes["case_id"].unique())
    pair_keys = list(outcomes.groupby(["a", "b"], sort=False).groups)
    # cases x ordered pairs: outcome sum and presence; missing (case, pair) contributes nothing
    table = outcomes.pivot_table(index="case_id", columns=["a", "b"], values="outcome", aggfunc="mean")
    table = table.reindex(index=cases, columns=pd.MultiIndex.from_tuples(pair_keys, names=["a", "b"]))
    present = table.notna().to_numpy(float)
    values = table.fillna(0.0).to_numpy(float)

    counts = resample_counts(len(cases), n_boot, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot_pair_rates = (counts @ values) / (counts @ present)  # (n_boot, pairs); NaN if pair unseen
        full_pair_rates = values.sum(axis=0) / present.sum(axis=0)

    rows = []
    for model in models:
        columns = [i for i, (a, _b) in enumerate(pair_keys) if a == model]
        point = float(np.mean(full_pair_rates[columns])) if columns else float("nan")
        # a resample that missed every case of some opponent has no figure (NaN)
        boot = boot_pair_rates[:, columns].mean(axis=1) if columns else np.array([])
        low, high = interval_allowing_failures(boot, alpha) if len(cases) >= 2 else (float("nan"), float("nan"))
        rows.append((model, point, low, high))
    return pd.DataFrame(rows, columns=OVERALL_COLUMNS)


def mean_ranks(rankings: pd.DataFrame) -> pd.DataFrame:
    """Mean rank per model over all judged repetitions (1 = best)."""
    means = rankings.groupby("model", sort=False)["rank"].mean()
    return pd.DataFrame({"model": means.index.to_list(), "mean_rank": means.to_numpy(float)})


def with_mirrors(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Add (b, a) with outcome 1 - x for every (a, b) whose mirror is missing."""
    mirrored = outcomes.rename(columns={"a": "b", "b": "a"}).assign(outcome=lambda t: 1.0 - t["outcome"])
    combined = pd.concat([outcomes[OUTCOME_COLUMNS], mirrored[OUTCOME_COLUMNS]], ignore_index=True)
    return combined.drop_duplicates(subset=["case_id", "a", "b"], keep="first").reset_index(drop=True)


def _models_in(outcomes: pd.DataFrame) -> list:
    return list(dict.fromkeys(list(outcomes["a"]) + list(outcomes["b"])))
