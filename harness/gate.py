"""Quality gates: declared in a suite (`gates:`) or on the command line, evaluated on a finished run.

Each gate asks one question of results.json (docs/results.md) and answers pass, fail or error:

- `beats`: the candidate's pairwise win rate against the baseline has its interval's lower bound above 0.5
  (`test: ci`, the default), or its Holm-adjusted sign-test p below `alpha` with the candidate ahead
  (`test: p`).
- `not_worse`: non-inferiority on a rubric axis (or `score`, the overall score): the lower bound of the
  difference candidate - baseline is above -margin. The paired interval from results["significance"] is
  used when the run has one; otherwise the two models' own intervals give a conservative bound.
- `budget`: a latency, throughput, cost or size figure within a limit (`max`, or `min` for tokens_per_s).

The comparative gates are conservative on purpose. They fail when the judge audit marks the judge untrusted
(if the figure rests on the judge), and when the observed difference is smaller than the suite can detect
(results["power"]). A figure a gate needs that is missing makes it error; it never passes by default.

Short forms for the command line (model ids must not contain ':' there; use the mapping form otherwise):
    beats:CANDIDATE:BASELINE[:p[:ALPHA]]
    not-worse:AXIS:CANDIDATE:BASELINE:MARGIN
    budget:METRIC:MODEL:LIMIT
    {type: beats, candidate: a, baseline: b}          (a YAML mapping, as in a suite file)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from .errors import ConfigError

# Figures a budget gate can read: where they live in a results.json model entry, and which way is better.
LATENCY_METRICS = ("ttft_p50_s", "ttft_p95_s", "latency_p50_s", "latency_p95_s", "tokens_per_s")
BUDGET_METRICS = (*LATENCY_METRICS, "size_mib", "cost_usd")
HIGHER_IS_BETTER = {"tokens_per_s"}


# ---------------------------------------------------------------- gate specs

class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.default_name()

    def default_name(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


class BeatsGate(_Spec):
    type: Literal["beats"]
    candidate: str
    baseline: str
    test: Literal["ci", "p"] = "ci"
    alpha: float = Field(0.05, gt=0, lt=1)

    def default_name(self) -> str:
        return f"beats:{self.candidate}:{self.baseline}"


class NotWorseGate(_Spec):
    type: Literal["not_worse"]
    axis: str  # a rubric axis, or "score" for the overall score
    candidate: str
    baseline: str
    margin: float = Field(ge=0, le=1)

    def default_name(self) -> str:
        return f"not-worse:{self.axis}:{self.candidate}:{self.baseline}"


class BudgetGate(_Spec):
    type: Literal["budget"]
    metric: Literal[BUDGET_METRICS]  # type: ignore[valid-type]
    model: str
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _one_limit(self):
        if (self.max is None) == (self.min is None):
            raise ValueError("give exactly one of 'max' and 'min'")
        return self

    @property
    def limit(self) -> float:
        return self.max if self.max is not None else self.min

    def default_name(self) -> str:
        return f"budget:{self.metric}:{self.model}"


Gate = Annotated[Union[BeatsGate, NotWorseGate, BudgetGate], Field(discriminator="type")]
_GATE = TypeAdapter(Gate)


def parse_gates(specs: list[dict | str], source: str) -> list[Gate]:
    """Turn suite `gates:` entries or command-line expressions into gates. Strict: any unknown key, missing
    field or bad value raises ConfigError naming `source` and the key (gates.<i>.<field>)."""
    if specs is None:
        return []
    if not isinstance(specs, list):
        raise ConfigError("expected a list of gates", path=source, key="gates")
    gates = []
    for index, spec in enumerate(specs):
        at = f"gates.{index}"
        raw = _expand_expression(spec, source, at) if isinstance(spec, str) else spec
        if not isinstance(raw, dict):
            raise ConfigError("expected a mapping or a gate expression", path=source, key=at)
        try:
            gates.append(_GATE.validate_python(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = [str(p) for p in err["loc"] if str(p) not in ("beats", "not_worse", "budget")]
            msg = {"extra_forbidden": "unknown key", "missing": "missing required field"}.get(
                err["type"], err["msg"].removeprefix("Value error, "))
            if err["type"] == "union_tag_invalid":
                msg = f"unknown gate type {raw.get('type')!r} (known: beats, not_worse, budget)"
                loc = ["type"]
            elif err["type"] == "union_tag_not_found":
                msg, loc = "missing required field", ["type"]
            raise ConfigError(msg, path=source, key=".".join([at, *loc])) from None
    return gates


def _expand_expression(expr: str, source: str, at: str) -> dict[str, Any]:
    text = expr.strip()
    if text.startswith("{"):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid gate mapping: {str(exc).splitlines()[0]}", path=source, key=at) from None
    parts = text.split(":")
    kind = parts[0].replace("-", "_")
    usage = {
        "beats": "beats:CANDIDATE:BASELINE[:p[:ALPHA]]",
        "not_worse": "not-worse:AXIS:CANDIDATE:BASELINE:MARGIN",
        "budget": "budget:METRIC:MODEL:LIMIT",
    }
    if kind not in usage:
        raise ConfigError(f"unknown gate type {parts[0]!r} in {expr!r} (known: beats, not-worse, budget)",
                          path=source, key=at)

    def bad(why: str) -> ConfigError:
        return ConfigError(f"{why} in {expr!r}; expected {usage[kind]}", path=source, key=at)

    if any(not p for p in parts):
        raise bad("an empty field")
    if kind == "beats":
        if len(parts) not in (3, 4, 5) or (len(parts) > 3 and parts[3] not in ("ci", "p")):
            raise bad("wrong fields")
        spec: dict[str, Any] = {"type": "beats", "candidate": parts[1], "baseline": parts[2]}
        if len(parts) > 3:
            spec["test"] = parts[3]
        if len(parts) == 5:
            spec["alpha"] = _number(parts[4], bad)
        return spec
    if kind == "not_worse":
        if len(parts) != 5:
            raise bad("wrong number of fields")
        return {"type": "not_worse", "axis": parts[1], "candidate": parts[2], "baseline": parts[3],
                "margin": _number(parts[4], bad)}
    if len(parts) != 4:
        raise bad("wrong number of fields")
    direction = "min" if parts[1] in HIGHER_IS_BETTER else "max"
    return {"type": "budget", "metric": parts[1], "model": parts[2], direction: _number(parts[3], bad)}


def _number(text: str, bad) -> float:
    try:
        value = float(text)
    except ValueError:
        raise bad(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise bad(f"{text!r} is not a finite number")
    return value


# ---------------------------------------------------------------- evaluation

class _Missing(Exception):
    """A figure the gate needs is not in the results: the verdict is "error"."""


def evaluate_gates(results: dict, gates: list[Gate]) -> list[dict]:
    """One verdict per gate: {name, type, figure, threshold, op, verdict, reason}; `op` says how the figure must
    compare with the threshold for the gate's own criterion (before the judge and power conditions)."""
    evaluators = {"beats": _beats, "not_worse": _not_worse, "budget": _budget}
    verdicts = []
    for gate in gates:
        row = {"name": gate.label, "type": gate.type, "figure": None, "threshold": None, "op": None}
        try:
            figure, threshold, op, failures, passed_because = evaluators[gate.type](results, gate)
        except _Missing as missing:
            row.update(verdict="error", reason=str(missing))
        else:
            row.update(figure=figure, threshold=threshold, op=op)
            if failures:
                row.update(verdict="fail", reason="; ".join(failures))
            else:
                row.update(verdict="pass", reason=passed_because)
        verdicts.append(row)
    return verdicts


def _beats(results: dict, gate: BeatsGate):
    _model(results, gate.candidate)
    _model(results, gate.baseline)
    pair = _pairwise(results, gate.candidate, gate.baseline)
    failures = _judge_failures(results, "a win rate")
    win_rate = _number_at(pair, "win_rate", "pairwise win_rate")
    because = ""
    if gate.test == "ci":
        ci = _interval(pair.get("ci"), "pairwise win-rate interval")
        figure, threshold, op = ci[0], 0.5, ">"
        if ci[0] > 0.5:
            because = f"win-rate interval {_ci(ci)} clears 0.5"
        else:
            failures.append(f"win-rate interval {_ci(ci)} does not clear 0.5")
    else:
        p = _number_at(pair, "p_adjusted", "pairwise p_adjusted")
        figure, threshold, op = p, gate.alpha, "<"
        if win_rate <= 0.5:
            failures.append(f"the candidate is not ahead (win rate {_f(win_rate)})")
        elif p >= gate.alpha:
            failures.append(f"adjusted p {_f(p)} is not below {_f(gate.alpha)}")
        because = f"adjusted p {_f(p)} < {_f(gate.alpha)} with win rate {_f(win_rate)}"
    failures += _power_failures(results, "min_detectable_win_rate_diff", win_rate - 0.5,
                                "win-rate lead over 0.5")
    return figure, threshold, op, failures, because


def _not_worse(results: dict, gate: NotWorseGate):
    candidate = _model(results, gate.candidate)
    baseline = _model(results, gate.baseline)
    metric = "score" if gate.axis == "score" else f"axis:{gate.axis}"
    row = _significance(results, metric, gate.candidate, gate.baseline)
    if row is not None:
        lower = _interval(row.get("ci"), f"significance {metric} interval")[0]
        diff = _number_at(row, "diff", f"significance {metric} diff")
        how = f"paired difference {_f(diff)}, interval low {_f(lower)} (paired, from the significance table)"
    else:
        cand_score, cand_ci = _axis_figures(candidate, gate.axis)
        base_score, base_ci = _axis_figures(baseline, gate.axis)
        diff = cand_score - base_score
        lower = cand_ci[0] - base_ci[1]
        how = (f"difference {_f(diff)}, bound {_f(lower)} = candidate low {_f(cand_ci[0])} - baseline high "
               f"{_f(base_ci[1])} (unpaired intervals: the run has no paired {metric} row; conservative)")
    failures = []
    if _axis_rests_on_judge(results, gate.axis, (gate.candidate, gate.baseline)):
        failures += _judge_failures(results, f"the judge-graded {gate.axis} figure")
    if lower <= -gate.margin:
        failures.append(f"{how}: not above -{_f(gate.margin)}")
    # Non-inferiority is a claim about the margin: the estimate must clear the boundary by more than the
    # smallest difference this suite can resolve, or the pass would be noise.
    failures += _power_failures(results, "min_detectable_score_diff", diff + gate.margin,
                                f"lead over the non-inferiority boundary -{_f(gate.margin)}")
    return lower, -gate.margin, ">", failures, f"{how}: above -{_f(gate.margin)}"


def _budget(results: dict, gate: BudgetGate):
    model = _model(results, gate.model)
    if gate.metric in LATENCY_METRICS:
        value = (model.get("latency") or {}).get(gate.metric)
    else:
        value = model.get(gate.metric)
    if value is None:
        where = "the export step records it (bench pipeline)" if gate.metric == "size_mib" else "no successful answers?"
        raise _Missing(f"{gate.metric} of '{gate.model}' is not in the results ({where})")
    if gate.max is not None:
        ok, op, words = value <= gate.max, "<=", "at most"
    else:
        ok, op, words = value >= gate.min, ">=", "at least"
    said = f"{gate.metric} of '{gate.model}' is {_f(value)}; the budget is {words} {_f(gate.limit)}"
    return value, gate.limit, op, ([] if ok else [said]), said


# ---------------------------------------------------------------- reading results

def _model(results: dict, model_id: str) -> dict:
    for model in results.get("models") or []:
        if model.get("id") == model_id:
            return model
    known = ", ".join(m.get("id", "?") for m in results.get("models") or []) or "none"
    raise _Missing(f"model '{model_id}' is not in this run (models: {known})")


def _pairwise(results: dict, a: str, b: str) -> dict:
    for row in results.get("pairwise") or []:
        if row.get("a") == a and row.get("b") == b:
            return row
        if row.get("a") == b and row.get("b") == a:
            flipped = dict(row, a=a, b=b)
            if row.get("win_rate") is not None:
                flipped["win_rate"] = 1.0 - row["win_rate"]
            if row.get("ci") and None not in row["ci"]:
                flipped["ci"] = [1.0 - row["ci"][1], 1.0 - row["ci"][0]]
            return flipped
    raise _Missing(f"no pairwise row for '{a}' vs '{b}' (was the run judged?)")


def _significance(results: dict, metric: str, a: str, b: str) -> dict | None:
    for row in results.get("significance") or []:
        if row.get("metric") != metric:
            continue
        if row.get("a") == a and row.get("b") == b:
            return row
        if row.get("a") == b and row.get("b") == a and row.get("diff") is not None and row.get("ci"):
            if None in row["ci"]:
                return dict(row, diff=-row["diff"])
            return dict(row, a=a, b=b, diff=-row["diff"], ci=[-row["ci"][1], -row["ci"][0]])
    return None


def _axis_figures(model: dict, axis: str) -> tuple[float, list[float]]:
    if axis == "score":
        score, ci = model.get("score"), model.get("score_ci")
    else:
        figures = (model.get("axes") or {}).get(axis)
        if figures is None:
            raise _Missing(f"axis '{axis}' is not scored for '{model.get('id')}' "
                           f"(axes: {', '.join(model.get('axes') or {}) or 'none'})")
        score, ci = figures.get("score"), figures.get("ci")
    if score is None:
        raise _Missing(f"the {axis} score of '{model.get('id')}' is missing")
    return score, _interval(ci, f"{axis} interval of '{model.get('id')}'")


def _axis_rests_on_judge(results: dict, axis: str, model_ids: tuple[str, ...]) -> bool:
    """True when any criterion behind this axis (any axis for "score") was graded by the judge. Without
    per-case detail the answer is unknown, and unknown counts as resting on the judge."""
    cases = results.get("cases")
    if not cases:
        return True
    for case in cases:
        for model_id in model_ids:
            answer = (case.get("answers") or {}).get(model_id) or {}
            for criterion in answer.get("criteria") or []:
                if (axis == "score" or criterion.get("axis") == axis) and criterion.get("source") in ("judge", "error"):
                    return True
    return False


def _judge_failures(results: dict, what: str) -> list[str]:
    judge = results.get("judge")
    if not judge:
        raise _Missing(f"the run has no judge, and {what} rests on one")
    audit = judge.get("audit")
    if not isinstance(audit, dict) or not isinstance(audit.get("trusted"), bool):
        raise _Missing("the judge audit (judge.audit.trusted) is missing: a gate that rests on the judge "
                       "cannot pass without it")
    if audit["trusted"]:
        return []
    reasons = "; ".join(audit.get("reasons") or []) or "no reason given"
    return [f"the judge audit marks judge '{judge.get('id', '?')}' untrusted ({reasons})"]


def _power_failures(results: dict, field: str, observed: float, what: str) -> list[str]:
    power = results.get("power")
    smallest = power.get(field) if isinstance(power, dict) else None
    if smallest is None:
        raise _Missing(f"power.{field} is missing: without it a small difference cannot be told from noise")
    if observed < smallest:
        return [f"the {what} ({_f(observed)}) is below the smallest difference this suite can detect "
                f"({_f(smallest)}, n={power.get('n_cases', '?')})"]
    return []


def _number_at(row: dict, key: str, what: str) -> float:
    value = row.get(key)
    if value is None:
        raise _Missing(f"{what} is missing")
    return value


def _interval(ci: Any, what: str) -> list[float]:
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or None in ci:
        raise _Missing(f"the {what} is missing")
    return [float(ci[0]), float(ci[1])]


def _f(x: float) -> str:
    if abs(x) >= 1e6:
        return f"{x:.3g}"
    text = f"{x:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _ci(ci: list[float]) -> str:
    return f"[{_f(ci[0])}, {_f(ci[1])}]"


# ---------------------------------------------------------------- outputs

def exit_code(gate_results: list[dict]) -> int:
    """0 when every gate passed, 1 when any failed or errored (bad input never gets here: ConfigError, 2)."""
    return 0 if all(g["verdict"] == "pass" for g in gate_results) else 1


def gates_markdown(gate_results: list[dict]) -> str:
    lines = ["| Gate | Type | Figure | Threshold | Verdict | Reason |", "|---|---|---|---|---|---|"]
    for g in gate_results:
        figure = "" if g.get("figure") is None else _f(g["figure"])
        threshold = "" if g.get("threshold") is None else f"{g.get('op') or ''} {_f(g['threshold'])}".strip()
        verdict = {"pass": "PASS", "fail": "**FAIL**", "error": "**ERROR**"}[g["verdict"]]
        cells = [g["name"], g["type"], figure, threshold, verdict, g.get("reason") or ""]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_junit(gate_results: list[dict], path: Path, suite_name: str = "bench gates") -> None:
    """One testcase per gate: a failed gate is a <failure>, an errored one an <error>."""
    failures = sum(g["verdict"] == "fail" for g in gate_results)
    errors = sum(g["verdict"] == "error" for g in gate_results)
    root = ET.Element("testsuites", name="bench", tests=str(len(gate_results)), failures=str(failures),
                      errors=str(errors))
    suite = ET.SubElement(root, "testsuite", name=suite_name, tests=str(len(gate_results)),
                          failures=str(failures), errors=str(errors), skipped="0", time="0")
    for g in gate_results:
        case = ET.SubElement(suite, "testcase", classname=f"bench.gate.{g['type']}", name=g["name"], time="0")
        if g["verdict"] in ("fail", "error"):
            child = ET.SubElement(case, "failure" if g["verdict"] == "fail" else "error",
                                  message=g.get("reason") or "", type=g["verdict"])
            child.text = g.get("reason") or ""
        figure = "n/a" if g.get("figure") is None else _f(g["figure"])
        threshold = "n/a" if g.get("threshold") is None else f"{g.get('op') or ''} {_f(g['threshold'])}"
        ET.SubElement(case, "system-out").text = f"figure {figure}; threshold {threshold}; {g.get('reason') or ''}"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


# ---------------------------------------------------------------- command line

def add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN",
                        help="a run directory, its results.json, or a run id under the reports directory")
    add_gate_options(parser)
    parser.add_argument("--reports-dir", type=Path, default=Path("reports"), help="where run ids are looked up")


def add_gate_options(parser: argparse.ArgumentParser) -> None:
    """The options `bench gate` shares with `bench run --gate`."""
    parser.add_argument("--gate", dest="gate_specs", action="append", default=[], metavar="EXPR",
                        help="a gate expression (replaces the suite's gates when given): beats:CAND:BASE[:p[:ALPHA]], "
                             "not-worse:AXIS:CAND:BASE:MARGIN, budget:METRIC:MODEL:LIMIT, or a YAML mapping")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write the verdicts as JUnit XML")
    parser.add_argument("--summary", type=Path, metavar="FILE",
                        help="append the Markdown table to FILE (e.g. $GITHUB_STEP_SUMMARY)")


def gate_command(args: argparse.Namespace) -> int:
    results_path = resolve_run(args.run, getattr(args, "reports_dir", Path("reports")))
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", path=str(results_path), line=exc.lineno) from None
    code = apply_gates(results, results_path=results_path, cli_specs=args.gate_specs, junit=args.junit,
                       summary=args.summary)
    if (results_path.parent / "index.html").is_file():
        from .report import write_report

        write_report(results, results_path.parent)  # the HTML report and summary.md show the verdicts too
    return code


def apply_gates(results: dict, *, results_path: Path | None = None, cli_specs: list[str] = (),
                junit: Path | None = None, summary: Path | None = None, out=None) -> int:
    """Evaluate the command-line gates, or else the suite's, record them in results.json (so the report shows
    them), write the requested summaries, print the table and return the exit code."""
    gates = parse_gates(list(cli_specs), "--gate") if cli_specs else suite_gates(results)
    if not gates:
        raise ConfigError("no gates to evaluate: declare `gates:` in the suite or give --gate EXPR")
    verdicts = evaluate_gates(results, gates)
    record_gates(results, verdicts, results_path=results_path, junit=junit, summary=summary, out=out)
    return exit_code(verdicts)


def record_gates(results: dict, verdicts: list[dict], *, results_path: Path | None = None,
                 junit: Path | None = None, summary: Path | None = None, out=None, title: str | None = None) -> None:
    """Put the verdicts in results["gates"] (and results.json), write JUnit XML and the Markdown summary when
    asked, and print the table."""
    out = out or sys.stdout
    results["gates"] = verdicts
    if results_path is not None:
        _write_json_atomic(Path(results_path), results)
    suite_name = (results.get("suite") or {}).get("name", "?")
    table = gates_markdown(verdicts)
    if junit:
        write_junit(verdicts, junit, suite_name=f"bench gates: {suite_name}")
    if summary:
        Path(summary).parent.mkdir(parents=True, exist_ok=True)
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(f"### {title or 'Gates'}: {suite_name} (run {results.get('run_id', '?')})\n\n{table}\n")
    print(table, file=out, end="")
    passed = sum(v["verdict"] == "pass" for v in verdicts)
    print(f"{passed} of {len(verdicts)} gates passed", file=out)


def suite_gates(results: dict) -> list[Gate]:
    """The gates declared in the suite file the run recorded."""
    from .config import load_yaml

    suite_path = (results.get("suite") or {}).get("path")
    if not suite_path:
        raise ConfigError("the run does not record its suite file; give gates with --gate")
    path = Path(suite_path)
    if not path.exists():
        raise ConfigError("the suite file recorded in the run is not found; give gates with --gate", path=str(path))
    data, _ = load_yaml(path)
    return parse_gates((data or {}).get("gates") or [], str(path))


def resolve_run(run: str, reports_dir: Path = Path("reports")) -> Path:
    """RUN as a results.json path, a run directory, or a run id (reports/<suite>/<run-id>/)."""
    candidate = Path(run)
    if candidate.is_file():
        return candidate
    if (candidate / "results.json").is_file():
        return candidate / "results.json"
    matches = sorted(Path(reports_dir).glob(f"*/{run}/results.json"))
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ConfigError(f"run id '{run}' is ambiguous: {', '.join(str(m.parent) for m in matches)}")
    raise ConfigError(f"no run '{run}': not a results.json, a run directory, or a run id under {reports_dir}/")


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
