"""Deterministic checks: a registry of check types, each one function and one strict options model.

    from harness.checks import CheckSpec, run, run_loose
    class Criterion(BaseModel):
        check: CheckSpec | None = None      # validates `check: {type: ..., ...}` strictly
    outcome = run(criterion.check, answer_text, prompt=case_prompt)   # CheckOutcome(met, detail)

Built in: bench's own checks (regex, contains, not_contains, sections, word_limit) and the IFEval
instructions under their IFEval ids (`punctuation:no_comma`, `keywords:frequency`, ...).
"""

from __future__ import annotations

from typing import Any

from . import basic, ifeval, ifeval_format  # noqa: F401  (importing registers the built-in checks)
from .ifeval import IFEVAL_INSTRUCTION_IDS
from .registry import (CheckOptions, CheckOutcome, CheckType, check_spec_type, check_type, known_checks,
                       loose_variants, parse_check, register, run, run_both, run_loose, unknown_check_message)

__all__ = [
    "CheckSpec", "CheckOptions", "CheckOutcome", "CheckType", "IFEVAL_INSTRUCTION_IDS",
    "check_spec_type", "check_type", "known_checks", "loose_variants", "parse_check", "register",
    "run", "run_both", "run_loose", "unknown_check_message",
]


def __getattr__(name: str) -> Any:
    # `CheckSpec` is built from the registry when first asked for, so that it includes every check
    # registered by then.
    if name == "CheckSpec":
        return check_spec_type()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
