"""The pipeline's page: work_dir/pipeline.html, one self-contained file (inline style and SVG, no link
outside it but to the evaluations' own reports), rendered with the report's jinja2 environment (autoescape,
strict undefined) and number formatting, and the report's plots for the loss curves and the ladder.

It shows the lineage base -> SFT -> QAT -> exports with each step's gates (figure, interval, verdict, required
or advisory, what it rests on, whether it could be established), the held-out perplexity of the SFT step,
the loss curves from the recipes' manifests, the ladder, and the wall time of every step.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.files import atomic_write_text


def _manifest(path: str | None) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
    except (OSError, json.JSONDecodeError):
        return {}


def lineage_rows(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The lineage as rows in tree order, each with its depth, the step that made it, its gates and their
    overall verdict (required gates only decide)."""
    nodes = state.get("lineage") or []
    gates_of: dict[str, list[dict]] = {}
    for row in state.get("gates") or []:
        gates_of.setdefault(row["candidate"], []).append(row)
    children: dict[str | None, list[dict]] = {}
    for node in nodes:
        children.setdefault(node["parent"], []).append(node)
    ran = {s["step"] for s in state.get("steps") or []}
    out: list[dict[str, Any]] = []

    def visit(node: dict, depth: int) -> None:
        gates = gates_of.get(node["id"], [])
        required = [g for g in gates if g["required"]]
        verdict = None if not required else ("pass" if all(g["verdict"] == "pass" for g in required) else "fail")
        step = node["step"]
        if node.get("via_qat"):
            step = "qat + export"
        out.append({"id": node["id"], "parent": node["parent"], "depth": depth, "step": step, "gates": gates,
                    "verdict": verdict, "promoted": node["id"] == state.get("promoted")})
        for child in children.get(node["id"], []):
            visit(child, depth + 1)

    for root in children.get(None, []):
        visit(root, 0)
    if "qat" in ran and not any(n.get("via_qat") for n in nodes):
        out.append({"id": "(QAT checkpoint)", "parent": None, "depth": 0, "step": "qat", "gates": [],
                    "verdict": None, "promoted": False})
    return out


def page_view(state: dict[str, Any], page_dir: Path) -> dict[str, Any]:
    from harness.report.plots import (QuantLevel, loss_curves_plot, loss_series_from_manifest,
                                      quantization_ladder_plot)
    from harness.report.formatting import significant

    manifests = state.get("manifests") or {}
    series, notes = [], []
    for step in ("sft", "qat"):
        if manifests.get(step):
            try:
                series += loss_series_from_manifest(Path(manifests[step]))
            except ConfigError as exc:
                notes.append(f"{step}: {exc}")
    ladder = state.get("ladder") or []
    levels = [QuantLevel(label=r["id"], size_mib=r["size_mib"], score=r["checks"],
                         score_low=(r["checks_ci"] or [None, None])[0], score_high=(r["checks_ci"] or [None, None])[1],
                         tokens_per_s=r["tokens_per_s"], mean_kl=r["mean_kl"]) for r in ladder]
    sft = _manifest(manifests.get("sft"))
    evaluations = [{**e, "link": os.path.relpath(e["report"], page_dir)} for e in state.get("evaluations") or []]
    return {
        "config": state.get("config"), "promoted": state.get("promoted"), "promote_id": state.get("promote_id"),
        "why_not": state.get("why_not"), "lineage": lineage_rows(state), "gates": state.get("gates") or [],
        "advisory": [g for g in state.get("gates") or [] if not g["required"]],
        "unestablished": [g for g in state.get("gates") or [] if not g["established"]],
        "ladder": ladder, "steps": state.get("steps") or [], "timings": state.get("timings") or {},
        "evaluations": evaluations, "heldout": sft.get("heldout_perplexity"),
        "heldout_loss": sft.get("held_out_answer_loss"),
        "loss_plot": loss_curves_plot(series) if series else None, "loss_notes": notes,
        "ladder_plot": quantization_ladder_plot(levels) if levels else None, "sig": significant,
    }


def render_page(state: dict[str, Any], page_dir: Path) -> str:
    from harness import __version__
    from harness.report.html import environment

    return environment().get_template("pipeline.html").render(view=page_view(state, page_dir),
                                                               bench_version=__version__)


def write_page(state: dict[str, Any], path: Path) -> Path:
    path = Path(path)
    return atomic_write_text(path, render_page(state, path.parent))
