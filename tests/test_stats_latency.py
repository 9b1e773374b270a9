import math

import numpy as np
import pandas as pd
import pytest

from harness.stats import latency_summary

COLUMNS = ["model", "case_id", "ttft_s", "latency_s", "tokens_per_s", "output_tokens", "error"]


def test_latency_summary_by_hand():
    latencies = pd.DataFrame([
        ("m", "c1", 0.1, 1.0, 100.0, 50, None),
        ("m", "c2", 0.2, 2.0, 120.0, 60, None),
        ("m", "c3", 0.3, 3.0, 110.0, 70, None),
        ("m", "c4", 0.4, 4.0, 90.0, 80, None),
        ("m", "c5", 1.0, 10.0, 130.0, 90, np.nan),
        ("m", "c6", 0.0, 0.01, np.nan, 0, "connection refused"),  # excluded: an error
    ], columns=COLUMNS)
    row = latency_summary(latencies).set_index("model").loc["m"]
    assert row["n_ok"] == 5
    # latencies 1, 2, 3, 4, 10: median 3; the 95th percentile sits at position 0.95 * 4 = 3.8,
    # between 4 and 10: 4 + 0.8 * 6 = 8.8
    assert row["latency_p50_s"] == pytest.approx(3.0)
    assert row["latency_p95_s"] == pytest.approx(8.8)
    assert row["ttft_p50_s"] == pytest.approx(0.3)
    assert row["ttft_p95_s"] == pytest.approx(0.4 + 0.8 * 0.6)
    assert row["tokens_per_s"] == pytest.approx(110.0)  # median of 90, 100, 110, 120, 130
    assert row["output_tokens_mean"] == pytest.approx(70.0)


def test_missing_ttft_is_left_out_of_that_figure_only():
    latencies = pd.DataFrame([
        ("m", "c1", None, 1.0, 10.0, 5, None),
        ("m", "c2", 0.5, 3.0, 20.0, 7, None),
    ], columns=COLUMNS)
    row = latency_summary(latencies).iloc[0]
    assert row["ttft_p50_s"] == pytest.approx(0.5)
    assert row["latency_p50_s"] == pytest.approx(2.0)
    assert row["n_ok"] == 2


def test_a_model_whose_calls_all_failed():
    latencies = pd.DataFrame([
        ("ok", "c1", 0.1, 1.0, 50.0, 10, None),
        ("broken", "c1", 0.0, 0.02, None, None, "timeout"),
    ], columns=COLUMNS)
    table = latency_summary(latencies).set_index("model")
    assert list(table.columns) == ["n_ok", "ttft_p50_s", "ttft_p95_s", "latency_p50_s", "latency_p95_s",
                                   "tokens_per_s", "output_tokens_mean"]
    assert table.loc["broken", "n_ok"] == 0
    assert all(math.isnan(v) for v in table.loc["broken"].drop("n_ok"))
    assert table.loc["ok", "latency_p95_s"] == pytest.approx(1.0)
