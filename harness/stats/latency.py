"""Latency per model over successful answers: medians and 95th percentiles.

An errored call is left out rather than counted at its (often instant) failure time, which would
make a failing backend look fast. Percentiles use numpy's default linear interpolation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._values import has_errors

LATENCY_COLUMNS = ["model", "n_ok", "ttft_p50_s", "ttft_p95_s", "latency_p50_s", "latency_p95_s",
                   "tokens_per_s", "output_tokens_mean"]


def latency_summary(latencies: pd.DataFrame) -> pd.DataFrame:
    """One row per model; a model whose every call failed has n_ok 0 and NaN figures.

    tokens_per_s is the median over answers of each answer's decode rate. Missing values (a
    backend that does not stream has no ttft) are left out of that figure only.
    """
    rows = []
    for model, calls in latencies.groupby("model", sort=False):
        ok = calls[~has_errors(calls["error"])]
        rows.append((
            model,
            int(len(ok)),
            _percentile(ok["ttft_s"], 50),
            _percentile(ok["ttft_s"], 95),
            _percentile(ok["latency_s"], 50),
            _percentile(ok["latency_s"], 95),
            _percentile(ok["tokens_per_s"], 50),
            _mean(ok["output_tokens"]),
        ))
    return pd.DataFrame(rows, columns=LATENCY_COLUMNS)


def _percentile(values: pd.Series, q: float) -> float:
    values = pd.to_numeric(values, errors="coerce").dropna().to_numpy(float)
    return float(np.percentile(values, q)) if values.size else float("nan")


def _mean(values: pd.Series) -> float:
    values = pd.to_numeric(values, errors="coerce").dropna().to_numpy(float)
    return float(values.mean()) if values.size else float("nan")
