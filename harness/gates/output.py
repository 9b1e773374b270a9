"""Gate verdicts as a Markdown table (a CI job summary or a pull-request comment) and as JUnit XML, with the
report's escaping: gate names and reasons come from user files and model runs."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from ..report.formatting import compact as _f
from ..report.markdown import escape_cell, table
from ..results.model import GateVerdict

VERDICT_WORDS = {"pass": "PASS", "fail": "**FAIL**", "error": "**ERROR**"}


def gates_markdown(verdicts: list[GateVerdict]) -> str:
    rows = []
    for v in verdicts:
        figure = "" if v.figure is None else _f(v.figure)
        threshold = "" if v.threshold is None else f"{v.op or ''} {_f(v.threshold)}".strip()
        rows.append([escape_cell(v.name), escape_cell(v.type), figure, threshold, VERDICT_WORDS[v.verdict],
                     escape_cell(v.reason or "")])
    return "\n".join(table(["Gate", "Type", "Figure", "Threshold", "Verdict", "Reason"], rows, {2})) + "\n"


def write_junit(verdicts: list[GateVerdict], path: Path, suite_name: str = "bench gates") -> None:
    """One testcase per gate: a failed gate is a <failure>, an errored one an <error>."""
    failures = sum(v.verdict == "fail" for v in verdicts)
    errors = sum(v.verdict == "error" for v in verdicts)
    root = ET.Element("testsuites", name="bench", tests=str(len(verdicts)), failures=str(failures),
                      errors=str(errors))
    suite = ET.SubElement(root, "testsuite", name=suite_name, tests=str(len(verdicts)),
                          failures=str(failures), errors=str(errors), skipped="0", time="0")
    for v in verdicts:
        case = ET.SubElement(suite, "testcase", classname=f"bench.gate.{v.type}", name=v.name, time="0")
        if v.verdict in ("fail", "error"):
            child = ET.SubElement(case, "failure" if v.verdict == "fail" else "error", message=v.reason or "",
                                  type=v.verdict)
            child.text = v.reason or ""
        figure = "n/a" if v.figure is None else _f(v.figure)
        threshold = "n/a" if v.threshold is None else f"{v.op or ''} {_f(v.threshold)}"
        ET.SubElement(case, "system-out").text = f"figure {figure}; threshold {threshold}; {v.reason or ''}"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def report_verdicts(verdicts: list[GateVerdict], *, suite_name: str, run_id: str, junit: Path | None = None,
                    summary: Path | None = None, title: str | None = None, out=None) -> None:
    """Print the table and the tally; write JUnit XML and append the Markdown to `summary` when asked."""
    out = out or sys.stdout
    text = gates_markdown(verdicts)
    if junit:
        write_junit(verdicts, junit, suite_name=f"bench gates: {suite_name}")
    if summary:
        Path(summary).parent.mkdir(parents=True, exist_ok=True)
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(f"### {title or 'Gates'}: {suite_name} (run {run_id})\n\n{text}\n")
    print(text, file=out, end="")
    passed = sum(v.verdict == "pass" for v in verdicts)
    print(f"{passed} of {len(verdicts)} gates passed", file=out)
