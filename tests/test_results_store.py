"""Results are computed from the store and a run id alone; `bench gate` reads what the run recorded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from harness.cli import main
from harness.results.build import build_results
from harness.results.model import Results
from harness.store import Store
from tests.conftest import write_project

TIMING = {"wall_time_s", "created_at"}


def _run(root: Path, *extra: str) -> tuple[int, Path]:
    code = main(["run", str(root / "suites" / "mini.yaml"), "--config", str(root / "models.yaml"),
                 "--store", str(root / ".bench" / "bench.sqlite"), "--out", str(root / "reports"), "--quiet", *extra])
    (run_dir,) = (root / "reports" / "mini").iterdir()
    return code, run_dir


def _canonical(path: Path) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in TIMING:
        data.pop(key, None)
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def test_bench_report_rebuilds_results_json_from_the_store_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_project(tmp_path, n_cases=5)
    code, run_dir = _run(tmp_path)
    assert code == 0
    original = _canonical(run_dir / "results.json")
    run_id = run_dir.name
    shutil.rmtree(tmp_path / "reports")  # nothing of the report is left to copy from
    assert main(["report", run_id, "--store", str(tmp_path / ".bench" / "bench.sqlite"),
                 "--out", str(tmp_path / "reports")]) == 0
    rebuilt = tmp_path / "reports" / "mini" / run_id / "results.json"
    assert _canonical(rebuilt) == original
    assert (rebuilt.parent / "index.html").is_file()


def test_bench_report_reads_results_json_when_the_store_is_gone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_project(tmp_path, n_cases=3)
    _, run_dir = _run(tmp_path)
    original = _canonical(run_dir / "results.json")
    (run_dir / "index.html").unlink()
    shutil.rmtree(tmp_path / ".bench")
    assert main(["report", str(run_dir), "--store", str(tmp_path / ".bench" / "bench.sqlite")]) == 0
    assert (run_dir / "index.html").is_file()
    assert _canonical(run_dir / "results.json") == original


def test_results_carry_a_snapshot_of_what_the_run_was_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_project(tmp_path, n_cases=2)
    _, run_dir = _run(tmp_path)
    results = Results.model_validate_json((run_dir / "results.json").read_text(encoding="utf-8"))
    assert results.suite.path == "suites/mini.yaml"  # relative to the project, not this machine's folders
    assert len(results.suite.hash) == 64
    assert results.spec.rubric["name"] == "mini" and len(results.spec.rubric["criteria"]) == 4
    assert results.spec.judging["mode"] == "rank" and results.spec.judging["orders"] == 2
    assert results.spec.system_prompt == "Write an SBAR note."
    store = Store(tmp_path / ".bench" / "bench.sqlite")
    try:
        assert build_results(store, run_dir.name).models == results.models
    finally:
        store.close()


def test_editing_the_suite_gates_after_a_run_does_not_change_bench_gate(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    suite = write_project(tmp_path, n_cases=6)  # 6 calls bound a median at 95% (0.5 ** 5 > 0.05 > 0.5 ** 6)
    data = yaml.safe_load(suite.read_text())
    data["gates"] = ["budget:latency_p50_s:good:1000"]
    suite.write_text(yaml.safe_dump(data))
    code, run_dir = _run(tmp_path, "--gate")
    assert code == 0
    assert main(["gate", str(run_dir)]) == 0
    # The suite now asks for a gate that would fail; the run's recorded gate still decides.
    data["gates"] = ["budget:latency_p50_s:good:0"]
    suite.write_text(yaml.safe_dump(data))
    capsys.readouterr()
    assert main(["gate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "budget:latency\\_p50\\_s:good" in out and "1 of 1 gates passed" in out
    saved = json.loads((run_dir / "results.json").read_text())
    assert [g["verdict"] for g in saved["gates"]] == ["pass"]
    assert saved["spec"]["gates"] == [{"name": None, "min_answered": 1.0, "min_graded": 0.98, "required": True,
                                       "type": "budget",
                                       "metric": "latency_p50_s", "model": "good", "max": 1000.0, "min": None}]
    # A gate given on the command line replaces the recorded ones.
    assert main(["gate", str(run_dir), "--gate", "budget:latency_p50_s:good:0"]) == 1
