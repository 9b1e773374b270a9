"""A short Markdown summary of one run, for a CI job summary or a pull-request comment.

Model ids, gate names and reasons come from user files and model runs, so every cell is escaped: a `|`
would split a table cell and `<...>` would be read as HTML by GitHub's renderer.
"""

from __future__ import annotations

from . import formatting as fmt
from .jsonsafe import json_safe
from .view import check_results, ranked_models

_MARKDOWN_PUNCTUATION = "\\`*_[]#|~"


def escape_cell(value) -> str:
    """Text safe inside a Markdown table cell: one line, no markup."""
    text = " ".join(str(value).split())
    text = "".join("\\" + char if char in _MARKDOWN_PUNCTUATION else char for char in text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(header: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    """A GitHub table; the columns in `numeric` are right-aligned."""
    align = ["---:" if i in numeric else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _leaderboard(models: list[dict]) -> list[str]:
    rows = []
    for model in ranked_models(models):
        rows.append([
            str(model["rank"]) if model["rank"] is not None else fmt.MISSING,
            escape_cell(model["id"]),
            fmt.with_interval(model.get("score"), model.get("score_ci")),
            fmt.with_interval(model.get("win_rate"), model.get("win_rate_ci"), fmt.pct),
            fmt.count(model.get("n")),
            fmt.count(model.get("errors")),
        ])
    return _table(["#", "Model", "Score [95% CI]", "Win rate [95% CI]", "n", "Errors"], rows, {0, 2, 3, 4, 5})


def _judge_line(judge: dict) -> list[str]:
    if not judge.get("id"):
        return []
    who = f"Judge {escape_cell(judge['id'])}"
    audit = judge.get("audit") if isinstance(judge.get("audit"), dict) else None
    if audit is None:
        return [f"{who}: no audit recorded."]
    if audit.get("trusted") is True:
        return [f"{who}: **trusted** by the audit."]
    if audit.get("trusted") is False:
        reasons = [escape_cell(reason) for reason in audit.get("reasons") or []]
        lines = [f"{who}: **UNTRUSTED**. Win rates and ratings from its rankings should not be relied on."]
        return lines + [f"- {reason}" for reason in reasons]
    return [f"{who}: the audit gave no verdict."]


def _gates(gates: list[dict]) -> list[str]:
    failed = sum(1 for gate in gates if gate.get("verdict") == "fail")
    passed = sum(1 for gate in gates if gate.get("verdict") == "pass")
    other = len(gates) - failed - passed
    tally = f"**Gates: {passed} passed, {failed} failed" + (f", {other} undecided" if other else "") + "**"
    rows = [[
        escape_cell(gate.get("name") or fmt.MISSING),
        fmt.score(gate.get("figure")),
        fmt.score(gate.get("threshold")),
        {"pass": "pass", "fail": "**FAIL**"}.get(gate.get("verdict"), escape_cell(gate.get("verdict") or fmt.MISSING)),
        escape_cell(gate.get("reason") or ""),
    ] for gate in gates]
    return [tally, ""] + _table(["Gate", "Figure", "Threshold", "Verdict", "Reason"], rows, {1, 2})


def render_markdown(results: dict) -> str:
    """Leaderboard, judge audit verdict, gate verdicts and power warnings, in that order."""
    results = json_safe(results)
    check_results(results)
    suite, judge = results["suite"], results.get("judge") if isinstance(results.get("judge"), dict) else {}
    version = f" v{suite['version']}" if suite.get("version") is not None else ""
    facts = [f"run {escape_cell(results['run_id'])}", fmt.timestamp(results.get("created_at")),
             f"{fmt.count(suite.get('cases'))} cases"]
    if judge.get("id"):
        facts.append(f"judge {escape_cell(judge['id'])} ({escape_cell(judge.get('mode') or fmt.MISSING)})")
    facts.append(f"wall time {fmt.duration(results.get('wall_time_s'))}")
    lines = [f"## bench: {escape_cell(suite['name'])}{version}", "", " · ".join(facts), ""]
    lines += _leaderboard(results["models"]) + [""]
    judge_lines = _judge_line(judge)
    if judge_lines:
        lines += judge_lines + [""]
    gates = [gate for gate in results.get("gates") or [] if isinstance(gate, dict)]
    if gates:
        lines += _gates(gates) + [""]
    power = results.get("power") if isinstance(results.get("power"), dict) else {}
    warnings = power.get("warnings") or []
    if warnings:
        lines += ["Power warnings:"] + [f"- {escape_cell(warning)}" for warning in warnings] + [""]
    return "\n".join(lines)
