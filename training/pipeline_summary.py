"""What the pipeline says about its gates and its ladder, as rows (pipeline.json, the page) and as Markdown
(stdout, gates.md, ladder.md).

A gate row carries the verdict's figure and threshold, the estimate and interval the figure comes from (the
paired difference, the win rate, the mean KL or top-1 agreement), whether the gate is required or advisory,
what it rests on, and whether its figure could be established at all (an untrusted judge, an exam not
passed, missing data or too little coverage leave it unestablished).
"""

from __future__ import annotations

from typing import Any

from harness.gates.evaluate import beats_metric, significance_metric, unestablished
from harness.report import formatting as fmt
from harness.report.markdown import escape_cell, table


def significant_interval(value: Any, ci: Any) -> str:
    return fmt.with_interval(value, ci, fmt.significant)


def _oriented(rows, a: str, b: str, flip) -> Any:
    for row in rows:
        if (row.a, row.b) == (a, b):
            return row
        if (row.a, row.b) == (b, a):
            return flip(row)
    return None


def gate_interval(results, gate) -> tuple[float | None, list[float] | None, str | None]:
    """(estimate, interval, what they are) behind a gate's figure; Nones when the run has no such figure."""
    if gate.type == "fidelity":
        row = results.fidelity.model(gate.candidate, gate.reference) if results.fidelity else None
        if row is None:
            return None, None, None
        if gate.max_kl is not None:
            return row.mean_kl, row.mean_kl_ci, "mean KL (nats)"
        return row.top1, row.top1_ci, "top-1 agreement"
    if gate.type == "budget":
        return None, None, None
    metric = significance_metric(gate.axis if gate.type == "not_worse" else beats_metric(results, gate))
    if metric == "win_rate":
        row = _oriented(results.pairwise, gate.candidate, gate.baseline,
                        lambda r: r.model_copy(update={"win_rate": None if r.win_rate is None else 1 - r.win_rate,
                                                       "ci": [1 - r.ci[1], 1 - r.ci[0]] if r.ci else None}))
        return (row.win_rate, row.ci, "win rate") if row else (None, None, None)
    rows = [r for r in results.significance or [] if r.metric == metric]
    row = _oriented(rows, gate.candidate, gate.baseline,
                    lambda r: r.model_copy(update={"diff": None if r.diff is None else -r.diff,
                                                   "ci": [-r.ci[1], -r.ci[0]] if r.ci else None}))
    return (row.diff, row.ci, f"paired difference, {metric}") if row else (None, None, None)


def gate_rows(step: str, results, gates: list, verdicts: list) -> list[dict[str, Any]]:
    rows = []
    for gate, verdict in zip(gates, verdicts):
        estimate, interval, what = gate_interval(results, gate)
        why_not = unestablished(results, gate, verdict)
        rows.append({
            "step": step, "name": verdict.name, "type": verdict.type,
            "candidate": getattr(gate, "candidate", None) or getattr(gate, "model", None),
            "baseline": getattr(gate, "baseline", None) or getattr(gate, "reference", None),
            "rests_on": list(verdict.rests_on), "required": verdict.required, "figure": verdict.figure,
            "threshold": verdict.threshold, "op": verdict.op, "estimate": estimate, "interval": interval,
            "interval_of": what, "verdict": verdict.verdict, "reason": verdict.reason, "warning": verdict.warning,
            "established": why_not is None, "not_established": why_not})
    return rows


def gates_markdown(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        threshold = "" if r["threshold"] is None else f"{r['op'] or ''} {fmt.compact(r['threshold'])}".strip()
        estimate = significant_interval(r["estimate"], r["interval"]) if r["interval_of"] else "-"
        body.append([escape_cell(r["name"]), ", ".join(r["rests_on"]), "required" if r["required"] else "advisory",
                     estimate, fmt.significant(r["figure"]), threshold,
                     {"pass": "PASS", "fail": "**FAIL**", "error": "**ERROR**"}[r["verdict"]],
                     "yes" if r["established"] else "**no**", escape_cell(r["reason"] or "")])
    header = ["Gate", "Rests on", "Required", "Estimate [95% CI]", "Figure", "Threshold", "Verdict", "Established",
              "Reason"]
    return "\n".join(table(header, body, {3, 4})) + "\n"


def summary_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Which gates were advisory, and which could not be established (and why)."""
    lines = []
    advisory = [r for r in rows if not r["required"]]
    if advisory:
        lines.append("Advisory (reported, never blocking): " + "; ".join(
            f"{r['name']} ({r['step']}): {r['verdict']}" for r in advisory))
    missing = [r for r in rows if not r["established"]]
    if missing:
        lines.append("Could not be established:")
        lines += [f"- {r['name']} ({r['step']}, {'required' if r['required'] else 'advisory'}): "
                  f"{r['not_established']}" for r in missing]
    required = [r for r in rows if r["required"]]
    passed = sum(r["verdict"] == "pass" for r in required)
    lines.append(f"{passed} of {len(required)} required gates passed; {len(advisory)} advisory")
    return lines


# ---------------------------------------------------------------- the ladder

def ladder_rows(results, order: list[str], parents: dict[str, str], passed: dict[str, bool],
                sizes: dict[str, float]) -> list[dict[str, Any]]:
    """Per model of the ladder: size, decode speed, the check-only score with its interval, and its fidelity
    against its parent (mean KL, top-1) with its own perplexity on the same answers."""
    section = results.fidelity
    own_perplexity = {r.id: (r.perplexity, r.perplexity_ci) for r in (section.references if section else [])}
    rows = []
    for model_id in order:
        model = results.model(model_id)
        checks = model.checks if model else None
        fid = section.model(model_id, parents.get(model_id)) if section and model_id in parents else None
        if fid is not None and fid.reason is None:
            own_perplexity[model_id] = (fid.perplexity, fid.perplexity_ci)
        perplexity, perplexity_ci = own_perplexity.get(model_id, (None, None))
        rows.append({
            "id": model_id, "parent": parents.get(model_id), "size_mib": sizes.get(model_id),
            "tokens_per_s": model.latency.tokens_per_s if model else None,
            "checks": checks.score if checks else None, "checks_ci": checks.ci if checks else None,
            "score": model.score if model else None, "score_ci": model.score_ci if model else None,
            "mean_kl": fid.mean_kl if fid else None, "mean_kl_ci": fid.mean_kl_ci if fid else None,
            "top1": fid.top1 if fid else None, "top1_ci": fid.top1_ci if fid else None,
            "perplexity": perplexity, "perplexity_ci": perplexity_ci,
            "fidelity_reason": fid.reason if fid else None,
            "gates": None if model_id not in parents else ("pass" if passed.get(model_id) else "FAIL")})
    # the perplexity of a model that is only ever a reference comes from the references list, filled above
    for row in rows:
        if row["perplexity"] is None and row["id"] in own_perplexity:
            row["perplexity"], row["perplexity_ci"] = own_perplexity[row["id"]]
    return rows


def ladder_markdown(rows: list[dict[str, Any]]) -> str:
    two = fmt.fixed(2)
    body = [[escape_cell(r["id"]), escape_cell(r["parent"] or ""), fmt.fixed(1)(r["size_mib"]),
             fmt.fixed(0)(r["tokens_per_s"]), fmt.with_interval(r["checks"], r["checks_ci"], two),
             significant_interval(r["mean_kl"], r["mean_kl_ci"]), fmt.pct_with_interval(r["top1"], r["top1_ci"]),
             fmt.with_interval(r["perplexity"], r["perplexity_ci"], two), r["gates"] or ""] for r in rows]
    header = ["model", "parent", "MiB", "tokens/s", "check-only score [95% CI]", "mean KL vs parent [95% CI]",
              "top-1 vs parent [95% CI]", "perplexity [95% CI]", "gates"]
    return "\n".join(table(header, body, {2, 3, 4, 5, 6, 7})) + "\n"
