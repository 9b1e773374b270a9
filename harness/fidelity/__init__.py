"""Quantization fidelity: how far a candidate's next-token distribution drifts from a reference's.

Public entry points (heavy backends import only when a model is opened):
    run_fidelity(source, reference, candidates, ...) -> FidelityResult
    heldout_perplexity(model, examples, ...) -> PerplexityResult
    evaluate_fidelity_gate(result, candidate, reference, max_kl=None, min_top1=None) -> dict
    parse_fidelity_gate("fidelity:CANDIDATE:REFERENCE:MAX_KL[:MIN_TOP1]") -> dict
    add_fidelity_arguments(parser), fidelity_command(args) -> int   (`bench fidelity`)
    render_markdown(result), write_fidelity(result, out_dir)

In a run (`fidelity:` in the suite, or `bench run --fidelity-reference`), `stage.fidelity_stage` scores the
run's models after the answers and stores the per-token figures; harness.results.fidelity computes the
results' `fidelity` section from them, and the `fidelity` gate type (harness.gates) reads that section.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "run_fidelity": "run", "heldout_perplexity": "run",
    "evaluate_fidelity_gate": "gate", "parse_fidelity_gate": "gate",
    "add_fidelity_arguments": "command", "fidelity_command": "command",
    "FidelityResult": "result", "ModelFidelity": "result", "PerplexityResult": "result",
    "render_markdown": "result", "write_fidelity": "result",
}
__all__ = list(_WHERE)


def __getattr__(name: str):
    # Lazy, so that `bench --help` (which registers the command) does not import pandas and numpy.
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
