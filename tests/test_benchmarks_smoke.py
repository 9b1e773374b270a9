"""The benchmark script's sections still call into the package as it is (they are not run in full here: they
measure speed, which a test must not assert)."""

from __future__ import annotations

import sqlite3

from benchmarks.projects import write_mock_project
from benchmarks.run import _answers_stage


def test_the_answers_stage_benchmark_asks_flags_and_stores_every_answer(tmp_path):
    project = write_mock_project(tmp_path / "p", n_cases=6, n_models=2, judge=False)
    store = tmp_path / "s.sqlite"
    wall, cpu, calls = _answers_stage(project, store, "fresh")
    assert calls == 12 and wall >= 0 and cpu >= 0
    rows = sqlite3.connect(store).execute("SELECT COUNT(*), COUNT(flags) FROM answers WHERE run_id = 'fresh'")
    assert rows.fetchone() == (12, 12)
