"""A short Markdown summary of one run, for a CI job summary or a pull-request comment.

Model ids, gate names and reasons come from user files and model runs, so every cell is escaped: a `|`
would split a table cell and `<...>` would be read as HTML by GitHub's renderer.
"""

from __future__ import annotations

from ..results.model import GateVerdict, JudgeInfo, Results, as_results
from . import formatting as fmt
from .view import coverage, ranked_models

_MARKDOWN_PUNCTUATION = "\\`*_[]#|~"


def escape_cell(value) -> str:
    """Text safe inside a Markdown table cell: one line, no markup."""
    text = " ".join(str(value).split())
    text = "".join("\\" + char if char in _MARKDOWN_PUNCTUATION else char for char in text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def table(header: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    """A GitHub table; the columns in `numeric` are right-aligned."""
    align = ["---:" if i in numeric else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _answered(model, results: Results) -> str:
    covered = coverage(model, results)
    return f"{fmt.count(covered['answered'])}/{fmt.count(covered['cases'])}" if covered else fmt.MISSING


def _leaderboard(results: Results) -> list[str]:
    rows = []
    for model, rank in ranked_models(results.models):
        rows.append([
            str(rank) if rank is not None else fmt.MISSING,
            escape_cell(model.id),
            fmt.with_interval(model.score, model.score_ci),
            fmt.with_interval(model.win_rate, model.win_rate_ci, fmt.pct),
            fmt.count(model.n),
            _answered(model, results),
            fmt.count(model.errors),
        ])
    return table(["#", "Model", "Score [95% CI]", "Win rate [95% CI]", "n", "Answered", "Errors"], rows,
                 {0, 2, 3, 4, 5, 6})


def _judge_line(judge: JudgeInfo) -> list[str]:
    if not judge.id:
        return []
    who = f"Judge {escape_cell(judge.id)}"
    audit = judge.audit
    if audit is None:
        return [f"{who}: no audit recorded."]
    if audit.trusted is True:
        return [f"{who}: **trusted** by the audit."]
    if audit.trusted is False:
        lines = [f"{who}: **UNTRUSTED**. Win rates and ratings from its rankings should not be relied on."]
        return lines + [f"- {escape_cell(reason)}" for reason in audit.reasons]
    return [f"{who}: the audit gave no verdict."]


def _gates(gates: list[GateVerdict]) -> list[str]:
    failed = sum(1 for gate in gates if gate.verdict == "fail")
    passed = sum(1 for gate in gates if gate.verdict == "pass")
    other = len(gates) - failed - passed
    tally = f"**Gates: {passed} passed, {failed} failed" + (f", {other} undecided" if other else "") + "**"
    rows = [[
        escape_cell(gate.name),
        fmt.score(gate.figure),
        fmt.score(gate.threshold),
        {"pass": "pass", "fail": "**FAIL**"}.get(gate.verdict, escape_cell(gate.verdict)),
        escape_cell(gate.reason or "") + (f" (warning: {escape_cell(gate.warning)})" if gate.warning else ""),
    ] for gate in gates]
    return [tally, ""] + table(["Gate", "Figure", "Threshold", "Verdict", "Reason"], rows, {1, 2})


def _ifeval(results: Results) -> list[str]:
    names = ("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose")
    rows = [[escape_cell(model_id)] + [fmt.with_interval(getattr(figures, name).accuracy, getattr(figures, name).ci,
                                                         fmt.pct) for name in names]
            for model_id, figures in results.ifeval.items()]
    return table(["IFEval", "Prompt, strict", "Prompt, loose", "Instruction, strict", "Instruction, loose"], rows,
                 {1, 2, 3, 4})


def render_markdown(results: Results) -> str:
    """Leaderboard, judge audit verdict, gate verdicts and power warnings, in that order."""
    results = as_results(results)
    suite, judge = results.suite, results.judge
    version = f" v{suite.version}" if suite.version is not None else ""
    facts = [f"run {escape_cell(results.run_id)}", fmt.timestamp(results.created_at),
             f"{fmt.count(suite.cases)} cases"]
    if judge.id:
        facts.append(f"judge {escape_cell(judge.id)} ({escape_cell(judge.mode or fmt.MISSING)})")
    samples = max((m.samples for m in results.models), default=1)
    if samples > 1:
        facts.append(f"{samples} samples of each case")
    facts.append(f"wall time {fmt.duration(results.wall_time_s)}")
    cost = results.cost
    if cost is not None and cost.total_usd is not None:
        facts.append(f"cost {fmt.usd(cost.spent_usd)} spent, {fmt.usd(cost.total_usd)} with cached calls")
    lines = [f"## bench: {escape_cell(suite.name)}{version}", "", " · ".join(facts), ""]
    lines += _leaderboard(results) + [""]
    if results.ifeval:
        lines += _ifeval(results) + [""]
    judge_lines = _judge_line(judge)
    if judge_lines:
        lines += judge_lines + [""]
    if results.gates:
        lines += _gates(results.gates) + [""]
    warnings = results.power.warnings if results.power else []
    if warnings:
        lines += ["Power warnings:"] + [f"- {escape_cell(warning)}" for warning in warnings] + [""]
    return "\n".join(lines)
