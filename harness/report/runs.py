"""The index of every run under a reports folder: reports/<suite>/<run-id>/results.json -> reports/index.html.

A results.json that cannot be read is listed with the reason instead of stopping the index: one broken
run must not hide the others.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from ..errors import ConfigError
from ..results.model import as_results
from .trends import leaderboards, model_scores
from .view import ranked_models


def _gate_tally(gates) -> dict | None:
    if not gates:
        return None
    verdicts = [gate.verdict for gate in gates]
    return {"passed": verdicts.count("pass"), "failed": verdicts.count("fail"), "total": len(verdicts)}


def run_summary(results_path: Path, reports_root: Path) -> dict:
    """One row of the index. Links are relative to reports_root and built from the folder names, never
    from the file's content."""
    run_dir = results_path.parent
    relative = run_dir.relative_to(reports_root)
    report = run_dir / "index.html"
    target = report if report.exists() else results_path
    row = {
        "suite": relative.parts[0], "suite_version": None, "run_id": relative.parts[1], "created_at": None,
        "models": [], "best": None, "judge": None, "judge_trusted": None, "gates": None, "suite_hash": None,
        "scores": [],
        "href": "/".join(quote(part) for part in relative.parts + (target.name,)), "error": None,
    }
    try:
        results = as_results(results_path.read_text(encoding="utf-8"), str(results_path))
    except (OSError, UnicodeDecodeError, ConfigError) as exc:
        return {**row, "error": f"results.json could not be read: {exc}"}
    ranked = ranked_models(results.models)
    best = ranked[0] if ranked and ranked[0][1] is not None else None
    return {
        **row,
        "suite": results.suite.name, "suite_version": results.suite.version, "run_id": results.run_id,
        "created_at": results.created_at, "models": [model.id for model in results.models],
        "best": {"id": best[0].id, "score": best[0].score} if best else None,
        "judge": results.judge.id, "judge_trusted": results.judge.audit.trusted if results.judge.audit else None,
        "gates": _gate_tally(results.gates), "suite_hash": results.suite.hash, "scores": model_scores(results),
    }


def collect_runs(reports_root: Path) -> list[dict]:
    """Every run under reports_root, newest first; unreadable runs last."""
    reports_root = Path(reports_root)
    runs = [run_summary(path, reports_root) for path in sorted(reports_root.glob("*/*/results.json"))]
    readable = [run for run in runs if not run["error"]]
    readable.sort(key=lambda run: str(run["created_at"] or ""), reverse=True)
    return readable + [run for run in runs if run["error"]]


def write_runs_index(reports_root: Path) -> Path:
    """Write reports_root/index.html: a leaderboard per suite over its runs, then every run; return its path."""
    from ..files import atomic_write_text
    from .html import render_runs_index

    reports_root = Path(reports_root)
    runs = collect_runs(reports_root)
    return atomic_write_text(reports_root / "index.html", render_runs_index(runs, leaderboards(runs)))
