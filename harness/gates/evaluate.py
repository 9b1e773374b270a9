"""Gate evaluation: pure functions over a Results, one verdict per gate: pass, fail or error.

- `beats`: the candidate's pairwise win rate against the baseline has its interval's lower bound above 0.5
  (`test: ci`, the default), or its Holm-adjusted sign-test p below `alpha` with the candidate ahead
  (`test: p`). A run without a judge (`metric: auto`), or `metric: score`, measures it by the paired score difference
  instead: its interval above 0, or its Holm-adjusted p below `alpha` with the candidate ahead.
- `not_worse`: non-inferiority on a rubric axis (or `score`, the overall score): the lower bound of the
  difference candidate - baseline is above -margin. The paired interval from the significance table is used
  when the run has one; otherwise the two models' own intervals give a conservative bound.
- `budget`: a latency, throughput, cost or size figure within a limit (`max`, or `min` for tokens_per_s). A
  latency or throughput budget on a model whose timings bench did not measure (answers from a file) errors.
- `fidelity`: the candidate's token distribution against its reference (the run's fidelity section): the upper
  bound of mean KL within `max_kl`, the lower bound of top-1 agreement at least `min_top1`. It rests on the
  models' probabilities alone, never on the judge.

Every gate fails, with the reason, when a model it reads has answered fewer cases than `min_answered` (1.0 by
default) or has fewer fully graded than `min_graded` (0.98): a model cannot pass by skipping the hard cases.
A comparative gate fails when the judge audit does not trust the judge (if the figure rests on the judge).
A gate passes on its own test; when the suite is too small to resolve what the gate asks, the verdict carries
a warning (a design figure from n and the spread of the paired differences), not a different verdict.
A figure a gate needs that is missing, NaN or infinite makes it error; it never passes by default.
"""

from __future__ import annotations

from ..fidelity.gate import MissingFidelity, run_gate_coverage, run_gate_figures
from ..report.formatting import compact as _f
from ..report.formatting import compact_interval as _ci
import math

from ..results.model import GateVerdict, ModelResult, PairwiseRow, Results, SignificanceRow
from .spec import LATENCY_METRICS, BeatsGate, BudgetGate, Gate, NotWorseGate, parse_gates

# A latency budget is held to the percentile's upper confidence bound, a throughput budget to its lower bound.
BOUNDS = {"ttft_p50_s": "ttft_p50_upper_s", "ttft_p95_s": "ttft_p95_upper_s", "latency_p50_s": "latency_p50_upper_s",
          "latency_p95_s": "latency_p95_upper_s", "tokens_per_s": "tokens_per_s_lower"}


class _Missing(Exception):
    """A figure the gate needs is not in the results: the verdict is "error"."""


def evaluate_gates(results: Results, gates: list[Gate]) -> list[GateVerdict]:
    """One verdict per gate; `op` says how the figure must compare with the threshold for the gate's own
    criterion (before the judge and power conditions)."""
    evaluators = {"beats": _beats, "not_worse": _not_worse, "budget": _budget, "fidelity": run_gate_figures}
    verdicts = []
    for gate in gates:
        try:
            coverage = _coverage_failures(results, gate)
            if coverage:  # too little data: the gate fails on that alone, whatever else it would read
                verdicts.append(GateVerdict(name=gate.label, type=gate.type, verdict="fail", reason="; ".join(coverage)))
                continue
            figure, threshold, op, failures, passed_because, *warning = evaluators[gate.type](results, gate)
        except (_Missing, MissingFidelity) as missing:
            verdicts.append(GateVerdict(name=gate.label, type=gate.type, verdict="error", reason=str(missing)))
            continue
        if figure is None or not math.isfinite(figure):
            verdicts.append(GateVerdict(name=gate.label, type=gate.type, verdict="error",
                                        reason=f"the figure is not a finite number ({figure})"))
            continue
        verdicts.append(GateVerdict(name=gate.label, type=gate.type, figure=figure, threshold=threshold, op=op,
                                    verdict="fail" if failures else "pass",
                                    reason="; ".join(failures) if failures else passed_because,
                                    warning=warning[0] if warning else None))
    for gate, verdict in zip(gates, verdicts):
        verdict.required, verdict.rests_on = gate.required, rests_on(results, gate)
        shortfall = _label_shortfall(results, gate) if verdict.verdict == "pass" else None
        if shortfall:
            verdict.verdict, verdict.reason = "fail", shortfall
    return verdicts


def _label_shortfall(results: Results, gate: Gate) -> str | None:
    """A gate that asks for the judge's agreement with human labels fails when it is not shown."""
    wanted = getattr(gate, "min_label_agreement", None)
    if wanted is None or "judge" not in rests_on(results, gate):
        return None
    audit = results.judge.audit
    found = [a for a in (audit.label_agreement if audit else []) if a.ci]
    if not found:
        return f"the gate asks for agreement with human labels of at least {_f(wanted)}, and the run has none"
    low = min(a.ci[0] for a in found)
    if low < wanted:
        return (f"the judge's agreement with human labels has a lower bound of {_f(low)}, below the "
                f"{_f(wanted)} the gate asks")
    return None


def beats_metric(results: Results, gate: BeatsGate) -> str:
    """What a beats gate compares: its metric, where auto is the win rate when the run has a judge and the paired
    score difference otherwise (a run without a judge has no win rate)."""
    if gate.metric != "auto":
        return gate.metric
    return "win_rate" if results.judge.id is not None else "score"


def rests_on(results: Results, gate: Gate) -> list[str]:
    """What the gate's figure comes from: checks (code), judge, measurements (latency, size, cost)."""
    if gate.type in ("budget", "fidelity"):
        return ["measurements"] if gate.type == "budget" else ["fidelity"]
    axis = gate.axis if gate.type == "not_worse" else beats_metric(results, gate)
    if axis == "checks" or axis.startswith("checks:"):
        return ["checks"]
    if axis in ("win_rate", "judge") or axis.startswith("judge:"):
        return ["judge"]
    return ["checks", "judge"] if _axis_rests_on_judge(results, axis, (gate.candidate, gate.baseline)) else ["checks"]


def _coverage_failures(results: Results, gate: Gate) -> list[str]:
    if gate.type == "fidelity":
        return run_gate_coverage(results, gate)  # harness.fidelity.gate
    ids = [gate.model] if gate.type == "budget" else [gate.candidate, gate.baseline]
    # A figure decided by code needs the answers, not the judge's grading of them.
    code_only = gate.type != "budget" and rests_on(results, gate) == ["checks"]
    failures = []
    for model_id in ids:
        model = _model(results, model_id)
        if not model.cases:
            failures.append(f"'{model_id}' has no cases recorded (coverage unknown)")
            continue
        answered, graded = model.answered / model.cases, model.graded / model.cases
        if answered < gate.min_answered:
            failures.append(f"'{model_id}' answered {model.answered} of {model.cases} cases (coverage "
                            f"{_f(answered)}, the gate needs {_f(gate.min_answered)})")
        elif graded < gate.min_graded and not code_only:
            failures.append(f"'{model_id}' has {model.graded} of {model.cases} cases fully graded (coverage "
                            f"{_f(graded)}, the gate needs {_f(gate.min_graded)})")
    return failures


def recorded_verdicts(results: Results) -> list[GateVerdict] | None:
    """The verdicts of the gates the run recorded (its spec), or None when it recorded none."""
    specs = results.spec.gates if results.spec else []
    return evaluate_gates(results, parse_gates(specs, f"run {results.run_id}")) if specs else None


def unestablished(results: Results, gate: Gate, verdict: GateVerdict) -> str | None:
    """Why the gate's figure could not be established (missing data, too little coverage, a judge not shown to
    be capable), or None when its verdict stands on the figure's merits."""
    if verdict.verdict == "error":
        return verdict.reason
    try:
        reasons = _coverage_failures(results, gate)
        if not reasons and "judge" in rests_on(results, gate):
            reasons = _judge_failures(results, "the figure")
    except _Missing as missing:
        return str(missing)
    return "; ".join(reasons) or None


def exit_code(verdicts: list[GateVerdict]) -> int:
    """0 when every required gate passed, 1 when one failed or errored (bad input never gets here: ConfigError,
    2). Advisory gates are reported, never decide."""
    return 0 if all(v.verdict == "pass" for v in verdicts if v.required) else 1


def _beats(results: Results, gate: BeatsGate):
    _model(results, gate.candidate)
    _model(results, gate.baseline)
    metric = beats_metric(results, gate)
    if metric != "win_rate":
        return _beats_on_scores(results, gate, metric)
    pair = _pairwise(results, gate.candidate, gate.baseline)
    failures = _judge_failures(results, "a win rate")
    _number(pair.win_rate, "pairwise win_rate")
    because = ""
    if gate.test == "ci":
        ci = _interval(pair.ci, "pairwise win-rate interval")
        figure, threshold, op = ci[0], 0.5, ">"
        if ci[0] > 0.5:
            because = f"win-rate interval {_ci(ci)} clears 0.5"
        else:
            failures.append(f"win-rate interval {_ci(ci)} does not clear 0.5")
    else:
        # The sign test's own statistic gives the direction: the cases won outright against those lost.
        p = _number(pair.p_adjusted, "pairwise p_adjusted")
        wins, losses = _number(pair.wins, "pairwise wins"), _number(pair.losses, "pairwise losses")
        figure, threshold, op = p, gate.alpha, "<"
        if wins <= losses:
            failures.append(f"the candidate is not ahead: it won {wins:g} cases and lost {losses:g}")
        elif p >= gate.alpha:
            failures.append(f"adjusted p {_f(p)} is not below {_f(gate.alpha)}")
        because = f"adjusted p {_f(p)} < {_f(gate.alpha)}, {wins:g} cases won and {losses:g} lost"
    return figure, threshold, op, failures, because


def _beats_on_scores(results: Results, gate: BeatsGate, axis: str):
    """beats on a judge score: the paired difference over shared cases is above 0 (its interval's lower bound,
    or a Holm-adjusted p below alpha with the candidate ahead)."""
    metric = significance_metric(axis)
    row = _significance(results, metric, gate.candidate, gate.baseline)
    if row is None:
        raise _Missing(f"no paired {metric} row for '{gate.candidate}' vs '{gate.baseline}' (was the run scored? "
                       "did any case have both answered and fully graded?)")
    failures = []
    if metric.startswith("judge") or (metric == "score" and _axis_rests_on_judge(
            results, "score", (gate.candidate, gate.baseline))):
        failures += _judge_failures(results, f"the {metric} figure")
    diff = _number(row.diff, f"{metric} difference")
    if gate.test == "ci":
        low = _interval(row.ci, f"{metric} interval")[0]
        if low <= 0:
            failures.append(f"paired {metric} difference {_f(diff)}, interval {_ci(row.ci)} does not clear 0")
        return low, 0.0, ">", failures, f"paired {metric} difference {_f(diff)}, interval {_ci(row.ci)} clears 0"
    p = _number(row.p_adjusted, f"{metric} p_adjusted")
    if diff <= 0:
        failures.append(f"the candidate is not ahead on {metric} (difference {_f(diff)})")
    elif p >= gate.alpha:
        failures.append(f"adjusted p {_f(p)} is not below {_f(gate.alpha)}")
    return p, gate.alpha, "<", failures, f"adjusted p {_f(p)} < {_f(gate.alpha)}, {metric} difference {_f(diff)}"


def significance_metric(axis: str) -> str:
    """The significance table's name for a gate's axis or metric: score, an axis, judge (overall),
    judge:<axis>, checks, checks:<axis>; win_rate stays itself (it is read from the pairwise table)."""
    if axis in ("score", "win_rate"):
        return axis
    if axis in ("judge", "checks"):
        return "judge:overall" if axis == "judge" else "checks:score"
    if axis.startswith(("judge:", "checks:")):
        kind, name = axis.split(":", 1)
        return f"{kind}:axis:{name}"
    return f"axis:{axis}"


def _not_worse(results: Results, gate: NotWorseGate):
    candidate = _model(results, gate.candidate)
    baseline = _model(results, gate.baseline)
    metric = significance_metric(gate.axis)
    row = _significance(results, metric, gate.candidate, gate.baseline)
    if row is not None:
        lower = _interval(row.ci, f"significance {metric} interval")[0]
        diff = _number(row.diff, f"significance {metric} diff")
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
    return lower, -gate.margin, ">", failures, f"{how}: above -{_f(gate.margin)}", \
        _margin_warning(results, metric, gate)


def _budget(results: Results, gate: BudgetGate):
    model = _model(results, gate.model)
    bound = ""
    if gate.metric in LATENCY_METRICS:
        if not model.latency.measured:  # a file's own timings are not a measurement a budget can rest on
            raise _Missing(f"{gate.metric} of '{gate.model}' was not measured by bench (answers read from a file)")
        point = getattr(model.latency, gate.metric)
        bound_name = BOUNDS[gate.metric]
        value = getattr(model.latency, bound_name)
        if value is None and point is not None:
            raise _Missing(f"{gate.metric} of '{gate.model}' is {_f(point)} over {model.latency.calls} calls, too few "
                           f"to bound it at 95% confidence; a budget is held to the bound (give more cases)")
        bound = f" at its {'upper' if gate.max is not None else 'lower'} 95% confidence bound"
    else:
        value = getattr(model, gate.metric)
    if value is None:
        where = "the kind records it for weights files" if gate.metric == "size_mib" else "no successful answers?"
        raise _Missing(f"{gate.metric} of '{gate.model}' is not in the results ({where})")
    if gate.max is not None:
        ok, op, words = value <= gate.max, "<=", "at most"
    else:
        ok, op, words = value >= gate.min, ">=", "at least"
    said = f"{gate.metric} of '{gate.model}' is {_f(value)}{bound}; the budget is {words} {_f(gate.limit)}"
    return value, gate.limit, op, ([] if ok else [said]), said


# ---------------------------------------------------------------- reading results

def _model(results: Results, model_id: str) -> ModelResult:
    model = results.model(model_id)
    if model is None:
        known = ", ".join(m.id for m in results.models) or "none"
        raise _Missing(f"model '{model_id}' is not in this run (models: {known})")
    return model


def _pairwise(results: Results, a: str, b: str) -> PairwiseRow:
    for row in results.pairwise:
        if row.a == a and row.b == b:
            return row
        if row.a == b and row.b == a:
            return row.model_copy(update={
                "a": a, "b": b, "wins": row.losses, "losses": row.wins,
                "win_rate": None if row.win_rate is None else 1.0 - row.win_rate,
                "ci": [1.0 - row.ci[1], 1.0 - row.ci[0]] if row.ci else row.ci})
    raise _Missing(f"no pairwise row for '{a}' vs '{b}' (was the run judged?)")


def _significance(results: Results, metric: str, a: str, b: str) -> SignificanceRow | None:
    for row in results.significance or []:
        if row.metric != metric:
            continue
        if row.a == a and row.b == b:
            return row
        if row.a == b and row.b == a and row.diff is not None and row.ci is not None:
            return row.model_copy(update={"a": a, "b": b, "diff": -row.diff, "ci": [-row.ci[1], -row.ci[0]]})
    return None


def _axis_figures(model: ModelResult, axis: str) -> tuple[float, list[float]]:
    if axis == "checks" or axis.startswith("checks:"):
        figures = model.checks if axis == "checks" else (model.checks.axes.get(axis[7:]) if model.checks else None)
        if figures is None or figures.score is None:
            raise _Missing(f"the {axis} score of '{model.id}' is missing (no criterion decided by code?)")
        return figures.score, _interval(figures.ci, f"{axis} interval of '{model.id}'")
    if axis == "judge" or axis.startswith("judge:"):
        scored = model.judge_scores
        figures = None if scored is None else scored.overall if axis == "judge" else scored.axes.get(axis[6:])
        if figures is None or figures.score is None:
            raise _Missing(f"the {axis} score of '{model.id}' is missing (was the run scored?)")
        return figures.score, _interval(figures.ci, f"{axis} interval of '{model.id}'")
    if axis == "score":
        score, ci = model.score, model.score_ci
    else:
        figures = model.axes.get(axis)
        if figures is None:
            raise _Missing(f"axis '{axis}' is not scored for '{model.id}' (axes: {', '.join(model.axes) or 'none'})")
        score, ci = figures.score, figures.ci
    if score is None:
        raise _Missing(f"the {axis} score of '{model.id}' is missing")
    return score, _interval(ci, f"{axis} interval of '{model.id}'")


def _axis_rests_on_judge(results: Results, axis: str, model_ids: tuple[str, ...]) -> bool:
    """True when any criterion behind this axis (any axis for "score") was graded by the judge. Without
    per-case detail the answer is unknown, and unknown counts as resting on the judge."""
    if axis == "checks" or axis.startswith("checks:"):
        return False
    if not results.cases or axis == "judge" or axis.startswith("judge:"):
        return True
    for case in results.cases:
        for model_id in model_ids:
            answer = case.answers.get(model_id)
            samples = [answer, *((case.samples or {}).get(model_id) or [])] if answer else []  # every repeat
            for criterion in (c for a in samples for c in a.criteria):
                if (axis == "score" or criterion.axis == axis) and criterion.source in ("judge", "error"):
                    return True
    return False


def _judge_failures(results: Results, what: str) -> list[str]:
    judge = results.judge
    if judge.id is None and judge.audit is None:
        raise _Missing(f"the run has no judge, and {what} rests on one")
    if judge.audit is None or judge.audit.trusted is None:
        raise _Missing("the judge audit (judge.audit.trusted) is missing: a gate that rests on the judge "
                       "cannot pass without it")
    failures = []
    if not judge.audit.trusted:
        reasons = "; ".join(judge.audit.reasons) or "no reason given"
        failures.append(f"the judge audit marks judge '{judge.id or '?'}' untrusted ({reasons})")
    exam = judge.exam
    if exam is None or not exam.judgments:
        failures.append(f"the judge's exam was not run, so whether '{judge.id or '?'}' prefers known-better answers is "
                        f"not established (the suite's exam.pairs runs it)")
    elif not exam.passed:
        failures.append(f"judge '{judge.id or '?'}' failed its exam: {exam.reason}")
    return failures


def _margin_warning(results: Results, metric: str, gate: NotWorseGate) -> str | None:
    """A warning when the suite cannot resolve the gate's margin: the design figure of this pair and metric."""
    rows = [r for r in (results.power.pairs if results.power else [])
            if r.metric == metric and {r.a, r.b} == {gate.candidate, gate.baseline}]
    if not rows or rows[0].min_detectable is None:
        return f"the suite's power for {metric} of this pair is not known"
    row = rows[0]
    if gate.margin >= row.min_detectable:
        return None
    return (f"underpowered for this margin: over {row.n} cases with a paired sd of {_f(row.sd)}, the suite resolves "
            f"{metric} differences of {_f(row.min_detectable)} at 80% power; the margin is {_f(gate.margin)}")


def _number(value: float | None, what: str) -> float:
    if value is None:
        raise _Missing(f"{what} is missing")
    return value


def _interval(ci: list[float] | None, what: str) -> list[float]:
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or None in ci:
        raise _Missing(f"the {what} is missing")
    return [float(ci[0]), float(ci[1])]
