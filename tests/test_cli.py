"""The CLI's front door: fast help, no heavy imports, listing commands."""

from __future__ import annotations

import json
import subprocess
import sys

from harness.cli import main


def test_help_imports_neither_torch_nor_llama_cpp():
    code = ("import sys; from harness.cli import build_parser; build_parser().format_help(); "
            "bad = [m for m in ('torch', 'llama_cpp', 'transformers', 'openai', 'anthropic', 'pandas', 'scipy') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_help_lists_commands(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    for command in ("run", "report", "models", "suites", "gate"):
        assert command in out


def test_models_and_suites_listing(mock_project, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "good" in out and "mock" in out
    assert main(["models", "--check"]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "mock:" in out
    assert main(["suites"]) == 0
    assert "mini" in capsys.readouterr().out


def test_report_rewrites_a_finished_run(mock_project, capsys):
    assert main(["run", "mini", "--quiet"]) == 0
    run_dir = next((mock_project.parent.parent / "reports" / "mini").iterdir())
    (run_dir / "index.html").unlink()
    assert main(["report", run_dir.name]) == 0
    assert (run_dir / "index.html").is_file()
    assert main(["report", "no-such-run"]) == 2


def test_run_with_gate_exit_codes(mock_project, capsys):
    # good beats bad on every case with a consistent judge, but 6 cases cannot establish that judge's trust.
    code = main(["run", "mini", "--quiet", "--gate", "beats:good:bad", "--junit", "gates.xml"])
    out = capsys.readouterr().out
    assert code == 1 and "fail" in out
    assert (mock_project.parent.parent / "gates.xml").is_file()
    run_dir = next((mock_project.parent.parent / "reports" / "mini").iterdir())
    assert "gates" in (run_dir / "results.json").read_text()
    # 6 calls bound a median at 95% confidence (a p95 needs 59).
    code = main(["run", "mini", "--quiet", "--gate", "budget:latency_p50_s:good:5.0"])
    assert code == 0
    code = main(["run", "mini", "--quiet", "--gate", "beats:good"])
    assert code == 2


def test_judge_none_runs_answers_and_checks_only(mock_project, capsys):
    from harness.adapters import mock
    mock.CALLS.clear()
    assert main(["run", "mini", "--quiet", "--judge", "none"]) == 0
    assert mock.CALLS["judge"] == 0 and mock.CALLS["good"] == 6
    results = json.loads(next((mock_project.parent.parent / "reports" / "mini").glob("*/results.json")).read_text())
    assert results["judge"]["id"] is None and results["models"][0]["win_rate"] is None
    skipped = [c for c in results["cases"][0]["answers"]["good"]["criteria"] if c["source"] == "skipped"]
    assert [c["id"] for c in skipped] == ["recommends"]
