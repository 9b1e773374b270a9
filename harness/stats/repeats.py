"""Repeated samples of the same case (`--repeat N`): the case stays the unit, and the samples say how
consistent a model is.

- `case_means`: each (model, case)'s mean over its samples, the values the case-level bootstrap resamples.
- `consistency`: per model, the share of (case, criterion) whose samples all meet it or all miss it.
- `pass_hat_k`: per model, the chance that k samples of a case all pass, averaged over cases: for a case with c
  passes in n samples, C(c, k) / C(n, k) (the unbiased estimate; tau-bench's pass^k).
- `variance_split`: per model, the variance of the scores within cases (the mean of each case's sample
  variance) and between cases (the variance of the case means less the within part's share of it), a one-way
  random-effects split.
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
    """scores: [model, case_id, sample, score] -> [model, within, between, share_within]: how much of the
    spread of a model's scores comes from sampling the same case again, and how much from the cases."""
    rows = []
    for model, mine in scores.groupby("model", sort=False):
        groups = [g["score"].to_numpy(float) for _, g in mine.groupby("case_id") if len(g) >= 2]
        if len(groups) < 2:
            rows.append((model, float("nan"), float("nan"), float("nan")))
            continue
        within = float(np.mean([np.var(g, ddof=1) for g in groups]))
        n_bar = float(np.mean([len(g) for g in groups]))
        between = max(float(np.var([g.mean() for g in groups], ddof=1)) - within / n_bar, 0.0)
        total = within + between
        rows.append((model, within, between, within / total if total > 0 else float("nan")))
    return pd.DataFrame(rows, columns=["model", "within", "between", "share_within"])
