"""Latency per model: medians and 95th percentiles, with failed calls counted, never left out.

A failed or timed-out call is counted at its elapsed time: leaving it out would make a backend that times out
look fast. For the total latency that is its true time. A failed call never gave a first token, so its TTFT is at
least its elapsed time: counted at that time, the TTFT figures become lower bounds (`ttft_lower_bound`).
Beside each percentile, a distribution-free one-sided upper bound (order statistics) is what a latency budget
is held to; for the decode rate, where more is better, a lower bound. Percentiles use numpy's default linear
interpolation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._values import has_error
from .intervals import quantile_lower_bound, quantile_upper_bound

LATENCY_COLUMNS = ["model", "n_ok", "calls", "failed", "ttft_p50_s", "ttft_p95_s", "latency_p50_s",
                   "latency_p95_s", "ttft_p50_upper_s", "ttft_p95_upper_s", "latency_p50_upper_s",
                   "latency_p95_upper_s", "tokens_per_s", "tokens_per_s_lower", "output_tokens_mean",
                   "ttft_lower_bound"]


def latency_summary(latencies: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """One row per model over every answer call, failed ones at their elapsed time.

    tokens_per_s is the median over successful answers of each answer's decode rate (a failed call decoded
    nothing). Missing values (a backend that does not stream has no ttft) are left out of that figure only."""
    rows = []
    for model, calls in latencies.groupby("model", sort=False):
        failed = np.array([has_error(e) for e in calls["error"]], dtype=bool)
        ok = calls[~failed]
        elapsed = _numbers(calls["latency_s"])
        ttft = _numbers(ok["ttft_s"])
        failed_elapsed = _numbers(calls.loc[failed, "latency_s"])
        ttft_all = np.concatenate([ttft, failed_elapsed])
        rate = _numbers(ok["tokens_per_s"])
        rows.append((
            model, int(len(ok)), int(len(calls)), int(failed.sum()),
            _percentile(ttft_all, 50), _percentile(ttft_all, 95),
            _percentile(elapsed, 50), _percentile(elapsed, 95),
            _bound(quantile_upper_bound(ttft_all, 0.5, confidence)),
            _bound(quantile_upper_bound(ttft_all, 0.95, confidence)),
            _bound(quantile_upper_bound(elapsed, 0.5, confidence)),
            _bound(quantile_upper_bound(elapsed, 0.95, confidence)),
            _percentile(rate, 50), _bound(quantile_lower_bound(rate, 0.5, confidence)),
            _mean(ok["output_tokens"]),
            bool(failed_elapsed.size > 0),  # failed calls with an elapsed time are in the TTFT figures
        ))
    return pd.DataFrame(rows, columns=LATENCY_COLUMNS)


def _numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").dropna().to_numpy(float)


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else float("nan")


def _bound(value: float | None) -> float:
    return float("nan") if value is None else value


def _mean(values: pd.Series) -> float:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return float(values.mean()) if len(values) else float("nan")
