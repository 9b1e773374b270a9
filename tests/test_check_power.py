"""The design figures of the check-only scores (power.pairs, metric checks:score and checks:axis:X): the spread
of the paired differences and the smallest difference the suite resolves, as for the rubric's own metrics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import t as student_t

from tests.conftest import BAD, GOOD, write_project
from tests.helpers.runs import run_suite


def test_check_only_metrics_have_design_figures(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # 'mixed' answers the first three cases as 'good' does and the last three as 'bad' does
    rules = "".join(f"\n      - {{contains: 'number {i}', response: \"{GOOD if i < 3 else BAD}\"}}" for i in range(6))
    suite = write_project(tmp_path, n_cases=6, extra_models=f"  mixed:\n    kind: mock\n    rules:{rules}\n")
    results, _ = run_suite(suite, models_path=tmp_path / "models.yaml", model_ids=["good", "mixed"], judge="none",
                           store_path=tmp_path / "s.sqlite", reports_dir=tmp_path / "reports", quiet=True)
    pairs = {r["metric"]: r for r in results["power"]["pairs"]}
    assert {"checks:score", "checks:axis:structure", "checks:axis:safety"} <= set(pairs)
    # check-only per-case scores: GOOD meets headings (4) and safe advice (3) of 7 positive points: 1; BAD meets
    # only the diagnosis (-5): -5/7. The paired differences good - mixed: 0, 0, 0, 12/7, 12/7, 12/7.
    differences = np.array([0, 0, 0, 12 / 7, 12 / 7, 12 / 7])
    sd = np.std(differences, ddof=1)
    row = pairs["checks:score"]
    assert (row["a"], row["b"], row["n"]) == ("good", "mixed", 6)
    assert row["sd"] == pytest.approx(sd)
    assert row["min_detectable"] == pytest.approx((student_t.ppf(0.975, 5) + student_t.ppf(0.8, 5)) * sd / np.sqrt(6))
    significance = {r["metric"]: r for r in results["significance"]}
    assert significance["checks:score"]["diff"] == pytest.approx(differences.mean())
