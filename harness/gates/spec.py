"""Gate specs: the three gate types and the command-line expression form, parsed strictly.

Short forms for the command line (model ids must not contain ':' there; use the mapping form otherwise):
    beats:CANDIDATE:BASELINE[:p[:ALPHA]]
    not-worse:AXIS:CANDIDATE:BASELINE:MARGIN
    budget:METRIC:MODEL:LIMIT
    fidelity:CANDIDATE:REFERENCE:MAX_KL[:MIN_TOP1]    (MAX_KL may be empty when MIN_TOP1 is given)
    {type: beats, candidate: a, baseline: b}          (a YAML mapping, as in a suite file)
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from ..errors import ConfigError, from_validation

# Figures a budget gate can read: where they live in a results.json model entry, and which way is better.
LATENCY_METRICS = ("ttft_p50_s", "ttft_p95_s", "latency_p50_s", "latency_p95_s", "tokens_per_s")
BUDGET_METRICS = (*LATENCY_METRICS, "size_mib", "cost_usd")
HIGHER_IS_BETTER = {"tokens_per_s"}
GATE_TYPES = ("beats", "not_worse", "budget", "fidelity")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    # Coverage each model the gate reads must have: the share of cases answered, and answered and fully graded.
    min_answered: float = Field(1.0, ge=0, le=1)
    min_graded: float = Field(0.98, ge=0, le=1)
    # A required gate decides the exit code; an advisory one is evaluated and reported the same way but does not
    # block (for a figure this machine cannot establish, such as a judge's verdicts without a capable judge).
    required: bool = True

    @property
    def label(self) -> str:
        return self.name or self.default_name()

    def default_name(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


class BeatsGate(_Spec):
    type: Literal["beats"]
    candidate: str
    baseline: str
    # win_rate (the judge's rankings), the rubric score (score), a judge score (score mode: judge, judge:<axis>), or
    # the check-only score (checks, checks:<axis>). auto: the win rate when the run has a judge, the score otherwise.
    metric: str = Field("auto", pattern=r"^(auto|win_rate|score|judge|judge:[\w-]+|checks|checks:[\w-]+)$")
    test: Literal["ci", "p"] = "ci"
    alpha: float = Field(0.05, gt=0, lt=1)
    # the judge must agree with the suite's human labels at least this often (the interval's lower bound)
    min_label_agreement: float | None = Field(None, gt=0, le=1)

    def default_name(self) -> str:
        return f"beats:{self.candidate}:{self.baseline}" + ("" if self.metric in ("auto", "win_rate") else f":{self.metric}")


class NotWorseGate(_Spec):
    type: Literal["not_worse"]
    # a rubric axis, "score" for the overall score, a judge score (judge, judge:<axis>, on its 1-10 scale), or the
    # check-only score (checks, checks:<axis>: criteria decided by code alone)
    axis: str
    candidate: str
    baseline: str
    margin: float = Field(ge=0, le=10)
    min_label_agreement: float | None = Field(None, gt=0, le=1)

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


class FidelityGate(_Spec):
    """The candidate's token distribution stays close to the reference's (the run's fidelity section): the
    upper bound of mean KL within max_kl nats, the lower bound of top-1 agreement at least min_top1."""

    type: Literal["fidelity"]
    candidate: str
    reference: str
    max_kl: float | None = Field(None, ge=0, allow_inf_nan=False)
    min_top1: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _a_limit(self):
        if self.max_kl is None and self.min_top1 is None:
            raise ValueError("give max_kl, min_top1 or both")
        return self

    def default_name(self) -> str:
        return f"fidelity:{self.candidate}:{self.reference}"


Gate = Annotated[Union[BeatsGate, NotWorseGate, BudgetGate, FidelityGate], Field(discriminator="type")]
GATE_ADAPTER = TypeAdapter(Gate)


def parse_gates(specs: list[dict | str] | None, source: str) -> list[Gate]:
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
            gates.append(GATE_ADAPTER.validate_python(raw))
        except ValidationError as exc:
            kind = exc.errors()[0]["type"]
            if kind == "union_tag_invalid":
                raise ConfigError(f"unknown gate type {raw.get('type')!r} (known: {', '.join(GATE_TYPES)})",
                                  path=source, key=f"{at}.type") from None
            if kind == "union_tag_not_found":
                raise ConfigError("missing required field", path=source, key=f"{at}.type") from None
            raise from_validation(exc, source, prefix=("gates", index), skip=GATE_TYPES) from None
    return gates


def gate_key(error: ConfigError) -> tuple:
    """The key path of a gate error, for finding its line in the suite file."""
    return tuple(int(p) if p.isdigit() else p for p in (error.key or "gates").split("."))


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
        "fidelity": "fidelity:CANDIDATE:REFERENCE:MAX_KL[:MIN_TOP1]",
    }
    if kind not in usage:
        raise ConfigError(f"unknown gate type {parts[0]!r} in {expr!r} (known: beats, not-worse, budget, fidelity)",
                          path=source, key=at)

    def bad(why: str) -> ConfigError:
        return ConfigError(f"{why} in {expr!r}; expected {usage[kind]}", path=source, key=at)

    if kind == "fidelity":
        if len(parts) not in (4, 5) or not parts[1] or not parts[2] or not any(parts[3:]):
            raise bad("wrong fields")
        spec = {"type": "fidelity", "candidate": parts[1], "reference": parts[2]}
        for name, text in zip(("max_kl", "min_top1"), parts[3:]):
            if text:
                spec[name] = _number(text, bad)
        return spec

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
