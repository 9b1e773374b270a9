"""The fidelity gate: its two forms, its evaluation over a results' fidelity section (the conservative bound
of each interval, never a pass on a missing figure), what it rests on, and which verdicts were established."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.gates.evaluate import evaluate_gates, exit_code, unestablished
from harness.gates.spec import parse_gates
from harness.results.model import Results


def results(*, fidelity: dict | None = "default", trusted: bool = False) -> Results:
    """A run of q4 and f16 whose judge is not trusted; q4 against f16: mean KL 0.010 [0.008, 0.012], top-1
    0.95 [0.93, 0.97] over 20 texts."""
    models = [{"id": mid, "cases": 20, "answered": 20, "graded": 20, "score": 0.5, "score_ci": [0.4, 0.6]}
              for mid in ("f16", "q4")]
    section = {
        "reference": "f16", "source": {"kind": "suite", "name": "s", "read": 20, "scored": 20},
        "references": [{"id": "f16", "n_texts": 20, "n_tokens": 900, "perplexity": 3.1}],
        "models": [{"id": "q4", "reference": "f16", "n_texts": 20, "n_tokens": 900, "mean_kl": 0.010,
                    "mean_kl_ci": [0.008, 0.012], "p99_kl": 0.09, "top1": 0.95, "top1_ci": [0.93, 0.97],
                    "perplexity": 3.2, "perplexity_ci": [3.0, 3.4]},
                   {"id": "api", "reference": "f16", "reason": "model 'api' is of kind 'openai', which gives no logits"}],
    }
    data = {"run_id": "r", "suite": {"name": "s"}, "models": models,
            "judge": {"id": "tiny", "audit": {"trusted": trusted, "reasons": [] if trusted else ["flips"]},
                      "exam": {"judgments": 48, "passed": True}},
            "pairwise": [{"a": "q4", "b": "f16", "win_rate": 0.8, "ci": [0.7, 0.9]}],
            "fidelity": section if fidelity == "default" else fidelity}
    return Results.model_validate(data)


def verdict(gate: str | dict, run: Results | None = None):
    gates = parse_gates([gate], "test")
    [v] = evaluate_gates(run or results(), gates)
    return v


def test_both_forms_parse_to_the_same_gate():
    [short] = parse_gates(["fidelity:q4:f16:0.02:0.9"], "test")
    [mapping] = parse_gates([{"type": "fidelity", "candidate": "q4", "reference": "f16", "max_kl": 0.02,
                              "min_top1": 0.9}], "test")
    assert short == mapping and short.label == "fidelity:q4:f16" and short.required
    [top1_only] = parse_gates(["fidelity:q4:f16::0.9"], "test")
    assert top1_only.max_kl is None and top1_only.min_top1 == 0.9
    bad = {"fidelity:q4:f16": "wrong fields", "fidelity:q4:f16::": "wrong fields", "fidelity:q4::0.1": "wrong fields",
           "fidelity:q4:f16:x": "'x' is not a number", "fidelity:q4:f16:-1": "gates.0.max_kl",
           "fidelity:q4:f16:0.1:1.5": "gates.0.min_top1", "fidelity:q4:f16:inf": "not a finite number"}
    for expression, message in bad.items():
        with pytest.raises(ConfigError, match=message):
            parse_gates([expression], "test")
    with pytest.raises(ConfigError, match="give max_kl, min_top1 or both"):
        parse_gates([{"type": "fidelity", "candidate": "q4", "reference": "f16"}], "test")


def test_the_upper_bound_of_kl_and_the_lower_bound_of_top1_decide():
    passed = verdict("fidelity:q4:f16:0.0125")
    assert (passed.verdict, passed.figure, passed.threshold, passed.op) == ("pass", 0.012, 0.0125, "<=")
    assert passed.rests_on == ["fidelity"]
    # the mean (0.010) is within 0.011, its interval's upper bound (0.012) is not: the gate fails
    failed = verdict("fidelity:q4:f16:0.011")
    assert failed.verdict == "fail" and failed.figure == 0.012
    assert "upper bound of the 95% interval of mean KL (mean 0.01) 0.012 > 0.011" in failed.reason
    # top-1: the lower bound 0.93 is held to the minimum
    assert verdict("fidelity:q4:f16::0.93").verdict == "pass"
    low = verdict("fidelity:q4:f16:0.02:0.94")
    assert (low.verdict, low.figure, low.threshold, low.op) == ("fail", 0.93, 0.94, ">=")


def test_a_missing_or_non_finite_figure_never_passes():
    assert verdict("fidelity:api:f16:1").verdict == "error"
    assert "which gives no logits" in verdict("fidelity:api:f16:1").reason
    missing = verdict("fidelity:q8:f16:1")
    assert missing.verdict == "error" and "measured: q4 against f16, api against f16" in missing.reason
    assert verdict("fidelity:q4:q8:1").verdict == "error"  # measured against another reference
    none = verdict("fidelity:q4:f16:1", results(fidelity=None))
    assert none.verdict == "error" and "the run has no fidelity figures" in none.reason
    run = results()
    run.fidelity.models[0].mean_kl_ci = None
    run.fidelity.models[0].reasons = {"mean_kl_ci": "an interval over texts needs at least 2 texts"}
    no_interval = verdict("fidelity:q4:f16:1", run)
    assert no_interval.verdict == "error" and "needs at least 2 texts" in no_interval.reason
    run = results()
    run.fidelity.models[0].mean_kl_ci = [0.008, float("inf")]
    infinite = verdict("fidelity:q4:f16:1", run)
    assert infinite.verdict == "error" and "a gate passes only on a finite figure" in infinite.reason


def test_fewer_texts_than_the_reference_fail_on_coverage():
    run = results()
    run.fidelity.models[0].n_texts = 15
    v = verdict("fidelity:q4:f16:1", run)
    assert v.verdict == "fail" and v.reason == ("'q4' was scored on 15 of 20 texts (coverage 0.75, the gate "
                                                "needs 1)")
    assert verdict({"type": "fidelity", "candidate": "q4", "reference": "f16", "max_kl": 1, "min_answered": 0.7},
                   run).verdict == "pass"


def test_advisory_gates_and_what_could_not_be_established():
    run = results(trusted=False)
    gates = parse_gates(["fidelity:q4:f16:0.02", {"type": "beats", "candidate": "q4", "baseline": "f16",
                                                  "required": False}, "fidelity:api:f16:1"], "test")
    verdicts = evaluate_gates(run, gates)
    assert [v.verdict for v in verdicts] == ["pass", "fail", "error"]
    assert [v.required for v in verdicts] == [True, False, True]
    assert exit_code(verdicts[:2]) == 0  # the advisory judge gate does not block; the fidelity gate passed
    assert exit_code(verdicts) == 1
    # the fidelity gate stands on its figure whatever the judge; the other two could not be established
    assert unestablished(run, gates[0], verdicts[0]) is None
    assert unestablished(run, gates[1], verdicts[1]) == "the judge audit marks judge 'tiny' untrusted (flips)"
    trusted = results(trusted=True)
    assert unestablished(trusted, gates[1], evaluate_gates(trusted, gates)[1]) is None
    assert "which gives no logits" in unestablished(run, gates[2], verdicts[2])
