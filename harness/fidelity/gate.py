"""The fidelity gate: may a quantized file ship, judged by how far its token distribution drifts?

    fidelity:CANDIDATE:REFERENCE:MAX_KL            mean KL(reference || candidate) at most MAX_KL nats
    fidelity:CANDIDATE:REFERENCE:MAX_KL:MIN_TOP1   ... and top-1 agreement at least MIN_TOP1 (0..1)
    fidelity:CANDIDATE:REFERENCE::MIN_TOP1         top-1 agreement only

The evaluation is conservative in the direction that protects users: the UPPER bound of the interval of
mean KL must be within MAX_KL, and the LOWER bound of the interval of top-1 agreement must reach MIN_TOP1,
so too few texts to be sure make the gate fail rather than pass. A figure that is missing or not finite
fails; a model or reference that the result does not hold is an error.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError
from ..report.formatting import compact
from .result import FidelityResult

ORDER = {"pass": 0, "fail": 1, "error": 2}


class MissingFidelity(LookupError):
    """The run's results hold no fidelity figures the gate can read: its verdict is "error"."""


def _threshold(text: str, name: str, spec: str) -> float | None:
    if text in ("", "-"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}", key=spec) from None
    return value


def parse_fidelity_gate(spec: str) -> dict[str, Any]:
    """`fidelity:CANDIDATE:REFERENCE:MAX_KL[:MIN_TOP1]` -> {candidate, reference, max_kl, min_top1}."""
    parts = spec.split(":")
    if parts[0] != "fidelity" or len(parts) not in (4, 5) or not parts[1] or not parts[2]:
        raise ConfigError("expected fidelity:CANDIDATE:REFERENCE:MAX_KL[:MIN_TOP1]", key=spec)
    max_kl = _threshold(parts[3], "MAX_KL", spec)
    min_top1 = _threshold(parts[4], "MIN_TOP1", spec) if len(parts) == 5 else None
    _check_thresholds(max_kl, min_top1, spec)
    return {"candidate": parts[1], "reference": parts[2], "max_kl": max_kl, "min_top1": min_top1}


def _check_thresholds(max_kl: float | None, min_top1: float | None, key: str | None = None) -> None:
    if max_kl is None and min_top1 is None:
        raise ConfigError("a fidelity gate needs MAX_KL, MIN_TOP1 or both", key=key)
    if max_kl is not None and not (math.isfinite(max_kl) and max_kl >= 0):
        raise ConfigError(f"MAX_KL must be a finite number of nats >= 0, not {max_kl}", key=key)
    if min_top1 is not None and not (0.0 <= min_top1 <= 1.0):
        raise ConfigError(f"MIN_TOP1 must lie between 0 and 1, not {min_top1}", key=key)


def _check(figure: float | None, threshold: float, op: str, what: str, missing: str | None) -> dict[str, Any]:
    row = {"figure": figure, "threshold": threshold, "op": op}
    if figure is None or not math.isfinite(figure):
        return {**row, "figure": None, "verdict": "fail", "reason": f"{what} is not available"
                + (f" ({missing})" if missing else "") + ": a gate passes only on a finite figure"}
    passed = figure <= threshold if op == "<=" else figure >= threshold
    return {**row, "verdict": "pass" if passed else "fail",
            "reason": f"{what} {figure:.4g} {op if passed else ('>' if op == '<=' else '<')} {threshold:g}"}


def evaluate_fidelity_gate(result: FidelityResult | dict, candidate: str, reference: str,
                           max_kl: float | None = None, min_top1: float | None = None) -> dict[str, Any]:
    """{gate, candidate, reference, figure, threshold, op, verdict: pass|fail|error, reason, checks}.

    With both thresholds, `checks` holds one row per criterion and the top-level figure, threshold and op are
    those of the criterion that decided the verdict (the first error, else the first failure, else the first).
    """
    _check_thresholds(max_kl, min_top1)
    gate = f"fidelity:{candidate}:{reference}:{'' if max_kl is None else f'{max_kl:g}'}" + \
        ("" if min_top1 is None else f":{min_top1:g}")
    base = {"gate": gate, "candidate": candidate, "reference": reference}
    if isinstance(result, dict):
        result = FidelityResult.model_validate(result)
    if result.reference.id != reference:
        return {**base, "figure": None, "threshold": max_kl if max_kl is not None else min_top1, "op": None,
                "verdict": "error", "checks": [],
                "reason": f"the fidelity result was measured against '{result.reference.id}', not '{reference}'"}
    model = result.model(candidate)
    if model is None:
        known = ", ".join(m.id for m in result.models) or "none"
        return {**base, "figure": None, "threshold": max_kl if max_kl is not None else min_top1, "op": None,
                "verdict": "error", "checks": [],
                "reason": f"model '{candidate}' is not in the fidelity result (models: {known})"}
    checks = bound_checks(model, max_kl, min_top1, f"{result.settings.confidence:.0%}")
    decisive = decisive_check(checks)
    return {**base, "figure": decisive["figure"], "threshold": decisive["threshold"], "op": decisive["op"],
            "verdict": decisive["verdict"], "reason": "; ".join(c["reason"] for c in checks), "checks": checks}


def bound_checks(model, max_kl: float | None, min_top1: float | None, level: str = "95%") -> list[dict[str, Any]]:
    """One check per threshold given, on a model's figures (anything with mean_kl, mean_kl_ci, top1, top1_ci
    and reasons): {figure, threshold, op, verdict: pass|fail, reason}; the figure is None when missing."""
    checks = []
    if max_kl is not None:
        upper = model.mean_kl_ci[1] if model.mean_kl_ci else None
        checks.append(_check(upper, max_kl, "<=", f"upper bound of the {level} interval of mean KL "
                             f"(mean {model.mean_kl if model.mean_kl is None else format(model.mean_kl, '.4g')})",
                             model.reasons.get("mean_kl_ci") or model.reasons.get("mean_kl")))
    if min_top1 is not None:
        lower = model.top1_ci[0] if model.top1_ci else None
        checks.append(_check(lower, min_top1, ">=", f"lower bound of the {level} interval of top-1 agreement "
                             f"(mean {model.top1 if model.top1 is None else format(model.top1, '.4g')})",
                             model.reasons.get("top1_ci") or model.reasons.get("top1")))
    return checks


def decisive_check(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """The check that decides the verdict: the first error, else the first failure, else the first."""
    return max(checks, key=lambda c: ORDER[c["verdict"]])  # max keeps the first of equals


# ---------------------------------------------------------------- the gate over a run's results

def run_gate_figures(results, gate) -> tuple:
    """(figure, threshold, op, failures, reason) of a `fidelity` gate (harness.gates.spec.FidelityGate) over a
    run's Results (their fidelity section); raises MissingFidelity when the figures are not there."""
    row = _results_row(results, gate)
    if row.reason:
        raise MissingFidelity(f"'{gate.candidate}' has no fidelity figures against '{gate.reference}': {row.reason}")
    checks = bound_checks(row, gate.max_kl, gate.min_top1)
    for check in checks:
        if check["figure"] is None:
            raise MissingFidelity(check["reason"])
    decisive = decisive_check(checks)
    said = "; ".join(c["reason"] for c in checks)
    return decisive["figure"], decisive["threshold"], decisive["op"], \
        [c["reason"] for c in checks if c["verdict"] != "pass"], said


def run_gate_coverage(results, gate) -> list[str]:
    """A fidelity figure covers the texts its reference was scored on: fewer fails like unanswered cases."""
    section = results.fidelity
    row = section.model(gate.candidate, gate.reference) if section else None
    scored = section.source.scored if section and section.source else None
    if row is None or row.reason or not scored:
        return []  # no figures at all: the evaluation says so (error)
    if row.n_texts / scored < gate.min_answered:
        return [f"'{gate.candidate}' was scored on {row.n_texts} of {scored} texts (coverage "
                f"{compact(row.n_texts / scored)}, the gate needs {compact(gate.min_answered)})"]
    return []


def _results_row(results, gate):
    section = results.fidelity
    if section is None:
        raise MissingFidelity("the run has no fidelity figures (ask for them with the suite's fidelity: settings or "
                              "bench run --fidelity-reference)")
    row = section.model(gate.candidate, gate.reference)
    if row is None:
        measured = ", ".join(f"{m.id} against {m.reference}" for m in section.models) or "none"
        raise MissingFidelity(f"no fidelity figures for '{gate.candidate}' against '{gate.reference}' "
                              f"(measured: {measured})")
    return row
