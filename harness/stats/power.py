"""How small a difference could this run have detected? Normal-approximation power figures.

A paired comparison of n cases with differences of standard deviation sd detects (at two-sided
level alpha, with the given power) a mean difference of about
(z_{1 - alpha/2} + z_{power}) * sd / sqrt(n). A win rate is a mean of outcomes in [0, 1] whose
standard deviation is at most 0.5, so the same formula with sd = 0.5 bounds the detectable
distance of a win rate from one half. Observed differences below these figures are reported, so
that "no significant difference" is not read as "no difference".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._values import wide_scores, with_keys


def min_detectable_score_diff(paired_sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """(z_{1-alpha/2} + z_{power}) * paired_sd / sqrt(n); NaN when n < 1 or sd is unknown."""
    from scipy.stats import norm

    if n is None or n < 1 or paired_sd is None or np.isnan(paired_sd):
        return float("nan")
    return float((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * paired_sd / math.sqrt(n))


def min_detectable_win_rate_diff(n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest detectable distance of a win rate from 0.5 over n cases (sd 0.5, the largest possible)."""
    return min_detectable_score_diff(0.5, n, alpha, power)


def power_summary(case_scores: pd.DataFrame, outcomes: pd.DataFrame | None, alpha: float = 0.05,
                  power: float = 0.8) -> dict:
    """Detectable differences for this run, and a warning per pair whose observed gap is smaller.

    `min_detectable_score_diff` is the largest over pairs of each pair's own figure (its paired
    sd over the cases both models answered, and that number of cases): the least favourable
    pair, usually the one whose differences spread most, so every pair could detect at least
    this. Likewise `min_detectable_win_rate_diff` is taken at the smallest number of judged cases
    of any pair. Each pair's warning compares it with its own figure. Figures that cannot be
    computed (no pair with 2 cases, no judged pair) are None.
    """
    model_order = _model_order(case_scores, outcomes)
    score_pairs = _score_pairs(case_scores, model_order, alpha, power)
    win_pairs = _win_pairs(outcomes, model_order, alpha, power)
    warnings = []
    for pair in dict.fromkeys(list(score_pairs) + list(win_pairs)):
        parts = []
        if pair in score_pairs:
            observed, detectable = score_pairs[pair]
            if observed < detectable:
                parts.append(f"score difference {observed:.3f} is below the smallest detectable "
                             f"({detectable:.3f})")
        if pair in win_pairs:
            observed, detectable = win_pairs[pair]
            if observed < detectable:
                parts.append(f"win rate is {observed:.3f} from 0.5, below the smallest detectable "
                             f"({detectable:.3f})")
        if parts:
            warnings.append(f"{pair[0]} vs {pair[1]}: " + "; ".join(parts))
    case_ids = [case_scores["case_id"]] if case_scores is not None else []
    if outcomes is not None:
        case_ids.append(outcomes["case_id"])
    n_cases = len(pd.unique(pd.concat(case_ids, ignore_index=True))) if case_ids else 0
    return {
        "n_cases": n_cases,
        "alpha": alpha,
        "power": power,
        "min_detectable_score_diff": _largest(d for _o, d in score_pairs.values()),
        "min_detectable_win_rate_diff": _largest(d for _o, d in win_pairs.values()),
        "warnings": warnings,
    }


def _score_pairs(case_scores: pd.DataFrame | None, model_order: list, alpha: float, power: float) -> dict:
    """(a, b) -> (observed |mean difference|, detectable difference) for pairs with >= 2 shared cases."""
    if case_scores is None or case_scores.empty:
        return {}
    _cases, scored, wide = wide_scores(case_scores)
    column = {model: k for k, model in enumerate(scored)}
    models = [m for m in model_order if m in column]
    pairs = {}
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            differences = wide[:, column[a]] - wide[:, column[b]]
            differences = differences[~np.isnan(differences)]
            if differences.size >= 2:
                detectable = min_detectable_score_diff(float(np.std(differences, ddof=1)), differences.size,
                                                       alpha, power)
                pairs[(a, b)] = (abs(float(differences.mean())), detectable)
    return pairs


def _win_pairs(outcomes: pd.DataFrame | None, model_order: list, alpha: float, power: float) -> dict:
    """(a, b) -> (observed |win rate - 0.5|, detectable distance), one entry per unordered pair."""
    if outcomes is None or outcomes.empty:
        return {}
    rank = {model: k for k, model in enumerate(model_order)}
    outcomes = with_keys(outcomes, ["a", "b"])
    a_codes, a_names = pd.factorize(outcomes["a"])
    b_codes, b_names = pd.factorize(outcomes["b"])
    pair_codes, pair_ids = pd.factorize(a_codes.astype(np.int64) * len(b_names) + b_codes)  # first appearance
    sums = np.bincount(pair_codes, weights=outcomes["outcome"].to_numpy(float), minlength=len(pair_ids))
    counts = np.bincount(pair_codes, minlength=len(pair_ids))
    pairs = {}
    for k, pair_id in enumerate(pair_ids):
        a, b = a_names[pair_id // len(b_names)], b_names[pair_id % len(b_names)]
        if rank.get(a, len(rank)) > rank.get(b, len(rank)):
            continue  # the mirror row (b, a) carries the same distance from one half
        distance = abs(float(sums[k] / counts[k]) - 0.5)
        pairs[(a, b)] = (distance, min_detectable_win_rate_diff(int(counts[k]), alpha, power))
    return pairs


def _model_order(case_scores: pd.DataFrame | None, outcomes: pd.DataFrame | None) -> list:
    columns = [case_scores["model"]] if case_scores is not None else []
    if outcomes is not None:
        columns += [outcomes["a"], outcomes["b"]]
    return list(pd.unique(pd.concat(columns, ignore_index=True))) if columns else []


def _largest(values) -> float | None:
    values = [v for v in values if not np.isnan(v)]
    return max(values) if values else None
