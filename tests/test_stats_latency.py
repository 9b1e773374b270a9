import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from harness.stats import latency_summary
from harness.stats.intervals import quantile_lower_bound, quantile_upper_bound, smallest_n_for_quantile_bound

COLUMNS = ["model", "case_id", "ttft_s", "latency_s", "tokens_per_s", "output_tokens", "error"]


def test_latency_summary_by_hand():
    latencies = pd.DataFrame([
        ("m", "c1", 0.1, 1.0, 100.0, 50, None),
        ("m", "c2", 0.2, 2.0, 120.0, 60, None),
        ("m", "c3", 0.3, 3.0, 110.0, 70, None),
        ("m", "c4", 0.4, 4.0, 90.0, 80, None),
        ("m", "c5", 1.0, 10.0, 130.0, 90, np.nan),
    ], columns=COLUMNS)
    row = latency_summary(latencies).set_index("model").loc["m"]
    assert row["n_ok"] == 5 and row["failed"] == 0 and not row["ttft_lower_bound"]
    # latencies 1, 2, 3, 4, 10: median 3; the 95th percentile sits at position 0.95 * 4 = 3.8,
    # between 4 and 10: 4 + 0.8 * 6 = 8.8
    assert row["latency_p50_s"] == pytest.approx(3.0)
    assert row["latency_p95_s"] == pytest.approx(8.8)
    assert row["ttft_p50_s"] == pytest.approx(0.3)
    assert row["ttft_p95_s"] == pytest.approx(0.4 + 0.8 * 0.6)
    assert row["tokens_per_s"] == pytest.approx(110.0)  # median of 90, 100, 110, 120, 130
    assert row["output_tokens_mean"] == pytest.approx(70.0)


def test_timeouts_are_counted_at_their_elapsed_time():
    # The reproduction: 11% of calls time out at 30 s. Over the successful calls alone the p95 is 6.98 s;
    # counting the timeouts it is 30 s.
    ok = np.linspace(1.0, 1.0 + 5.98 / 0.95, 89)
    assert np.percentile(ok, 95) == pytest.approx(6.98)  # what was reported before
    rows = [("m", f"c{i}", 0.1, float(v), 50.0, 40, None) for i, v in enumerate(ok)]
    rows += [("m", f"t{i}", None, 30.0, None, None, "timed out after 30s") for i in range(11)]
    row = latency_summary(pd.DataFrame(rows, columns=COLUMNS)).iloc[0]
    assert row["calls"] == 100 and row["failed"] == 11 and row["n_ok"] == 89
    assert row["latency_p95_s"] == pytest.approx(30.0)
    # A timed-out call never gave a first token: counted at 30 s, so the TTFT figures are lower bounds.
    assert row["ttft_p95_s"] == pytest.approx(30.0) and row["ttft_lower_bound"]
    assert row["tokens_per_s"] == pytest.approx(50.0)  # decode rate: successful answers only


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
    assert table.loc["broken", "n_ok"] == 0 and table.loc["broken", "failed"] == 1
    assert table.loc["broken", "latency_p50_s"] == pytest.approx(0.02)  # its real (instant) failure time
    assert math.isnan(table.loc["broken", "tokens_per_s"]) and math.isnan(table.loc["broken", "output_tokens_mean"])
    assert table.loc["ok", "latency_p95_s"] == pytest.approx(1.0)


def test_quantile_upper_bound_by_order_statistics():
    values = list(range(1, 101))  # 1..100
    # The bound is the k-th smallest value, k the least rank with P(Bin(100, 0.95) <= k - 1) >= 0.95.
    k = next(k for k in range(1, 101) if binom.cdf(k - 1, 100, 0.95) >= 0.95)
    assert k == 99
    assert quantile_upper_bound(values, 0.95) == 99.0
    # The median: P(Bin(100, 0.5) <= k - 1) >= 0.95 first at k = 59.
    assert quantile_upper_bound(values, 0.5) == 59.0
    assert quantile_lower_bound(values, 0.5) == 42.0
    # 40 calls cannot bound a 95th percentile at 95%: 0.95 ** 40 = 0.13 > 0.05; 59 can (0.95 ** 59 = 0.0485).
    assert smallest_n_for_quantile_bound(0.95) == 59
    assert quantile_upper_bound(range(40), 0.95) is None
    assert quantile_upper_bound(range(59), 0.95) == 58.0
    assert quantile_upper_bound([], 0.5) is None


def test_the_upper_bound_rarely_passes_a_p95_that_is_over_budget():
    """A model whose true p95 is 10% over the limit: the point estimate on 40 calls passes about half the
    time; the upper bound never can on 40 calls, and on 200 calls passes at most 5% of the time."""
    rng = np.random.default_rng(7)
    sigma = 0.5
    true_p95 = math.exp(sigma * 1.6448536)  # lognormal(0, sigma)
    limit = true_p95 / 1.1
    point_40 = np.mean([np.percentile(rng.lognormal(0, sigma, 40), 95) <= limit for _ in range(2000)])
    assert 0.3 < point_40 < 0.6
    assert quantile_upper_bound(rng.lognormal(0, sigma, 40), 0.95) is None
    bound_200 = np.mean([(quantile_upper_bound(rng.lognormal(0, sigma, 200), 0.95) or math.inf) <= limit
                         for _ in range(1000)])
    assert bound_200 <= 0.05
