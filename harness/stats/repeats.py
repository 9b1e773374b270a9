"""Repeated samples of the same case (`--repeat N`): the case stays the unit, and the samples say how
consistent a model is.

- `case_means`: each (model, case)'s mean over its samples, the values the case-level bootstrap resamples.
- `consistency`: per model, the share of (case, criterion) whose samples all meet it or all miss it.
- `pass_hat_k`: per model, the chance that k samples of a case all pass, averaged over cases: for a case with c
  passes in n samples, C(c, k) / C(n, k) (the unbiased estimate; tau-bench's pass^k).
- `variance_split`: per model, the variance of the scores within cases and between cases, the one-way
  random-effects ANOVA split (unequal sample counts allowed).
"""

from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd


def case_means(scores: pd.DataFrame) -> pd.DataFrame:
    """[model, case_id, score] with one row per (model, case): the mean over the case's samples."""
    return scores.groupby(["model", "case_id"], sort=False, as_index=False)["score"].mean()


def consistency(verdicts: pd.DataFrame) -> pd.DataFrame:
    """verdicts: [model, case_id, sample, criterion, met] -> [model, units, consistent, share]."""
    rows = []
    for model, mine in verdicts.dropna(subset=["met"]).groupby("model", sort=False):
        per_unit = mine.groupby(["case_id", "criterion"])["met"].agg(lambda m: m.nunique() == 1)
        samples = mine.groupby(["case_id", "criterion"])["sample"].nunique()
        per_unit = per_unit[samples >= 2]
        rows.append((model, int(len(per_unit)), int(per_unit.sum()),
                     float(per_unit.mean()) if len(per_unit) else float("nan")))
    return pd.DataFrame(rows, columns=["model", "units", "consistent", "share"])


def pass_hat_k(passed: pd.DataFrame, k: int) -> pd.DataFrame:
    """passed: [model, case_id, sample, passed] -> [model, k, cases, pass_hat_k]; a case with fewer than k
    samples is left out (it cannot say whether k in a row pass)."""
    rows = []
    for model, mine in passed.groupby("model", sort=False):
        per_case = mine.groupby("case_id")["passed"].agg(["sum", "count"])
        usable = per_case[per_case["count"] >= k]
        values = [comb(int(c), k) / comb(int(n), k) for c, n in zip(usable["sum"], usable["count"])]
        rows.append((model, k, len(values), float(np.mean(values)) if values else float("nan")))
    return pd.DataFrame(rows, columns=["model", "k", "cases", "pass_hat_k"])


def variance_split(scores: pd.DataFrame) -> pd.DataFrame:
    """scores: [model, case_id, sample, score] -> [model, cases, within, between, share_within]: how much of the
    spread of a model's scores comes from sampling the same case again, and how much from the cases.

    The one-way random-effects ANOVA estimates, which also hold when cases have different numbers of samples
    (a failed or ungraded sample is left out): within = MS_within (the pooled variance of samples around their
    case's mean), between = (MS_between - MS_within) / n0 with n0 = (N - sum n_i^2 / N) / (k - 1), floored at 0.
    With the same n samples in every case these are the mean of the cases' sample variances and the variance of
    the case means less within / n. NaN when fewer than 2 cases, or no case with 2 samples."""
    rows = []
    for model, mine in scores.dropna(subset=["score"]).groupby("model", sort=False):
        groups = [g["score"].to_numpy(float) for _, g in mine.groupby("case_id", sort=False)]
        sizes = np.array([len(g) for g in groups], dtype=float)
        k, total = len(groups), float(sizes.sum())
        if k < 2 or total - k < 1:
            rows.append((model, k, float("nan"), float("nan"), float("nan")))
            continue
        means = np.array([g.mean() for g in groups])
        grand = float(np.concatenate(groups).mean())
        within = float(sum(((g - g.mean()) ** 2).sum() for g in groups) / (total - k))
        ms_between = float((sizes * (means - grand) ** 2).sum() / (k - 1))
        n0 = (total - float((sizes ** 2).sum()) / total) / (k - 1)
        between = max((ms_between - within) / n0, 0.0)
        spread = within + between
        rows.append((model, k, within, between, within / spread if spread > 0 else float("nan")))
    return pd.DataFrame(rows, columns=["model", "cases", "within", "between", "share_within"])
