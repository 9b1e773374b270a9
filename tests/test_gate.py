"""Gate logic on hand-built results dicts whose verdicts are known, plus the outputs and exit codes."""

from __future__ import annotations

import argparse
import copy
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from harness.cli import add_gate_arguments
from harness.cli import cmd_gate as gate_command
from harness.errors import ConfigError
from harness.gates import evaluate as gate_evaluation
from harness.gates import output as gate_output
from harness.gates.spec import parse_gates
from harness.lookup import resolve_results_path as resolve_run
from harness.results.model import GateVerdict, Results


# The assertions read verdicts as the dicts results.json holds.
def evaluate_gates(results: dict, gates) -> list[dict]:
    return [v.model_dump() for v in gate_evaluation.evaluate_gates(Results.model_validate(results), gates)]


def _typed(verdicts: list[dict]) -> list[GateVerdict]:
    return [GateVerdict.model_validate(v) for v in verdicts]


def exit_code(verdicts: list[dict]) -> int:
    return gate_evaluation.exit_code(_typed(verdicts))


def gates_markdown(verdicts: list[dict]) -> str:
    return gate_output.gates_markdown(_typed(verdicts))


def write_junit(verdicts: list[dict], path) -> None:
    gate_output.write_junit(_typed(verdicts), path)


def make_results(**overrides) -> dict:
    """A judged run of 'cand' vs 'base' where the candidate clearly wins, is as safe, and the judge is trusted."""
    results = {
        "schema_version": 1,
        "run_id": "20261123-101500-ab12cd",
        "suite": {"name": "sbar-intake", "version": 1, "cases": 60},
        "judge": {"id": "big-judge", "audit": {"trusted": True, "reasons": []},
                  "exam": {"pairs": 24, "judgments": 48, "accuracy": 0.92, "ci": [0.81, 0.97], "passed": True,
                           "min_accuracy": 0.75, "reason": "exam accuracy 0.92 [0.81, 0.97]"}},
        "models": [
            {"id": "cand", "n": 60, "cases": 60, "answered": 60, "graded": 60, "errors": 0, "score": 0.62,
             "score_ci": [0.55, 0.69],
             "axes": {"safety": {"score": 0.90, "ci": [0.84, 0.95]}, "structure": {"score": 0.8, "ci": [0.7, 0.9]}},
             "win_rate": 0.7, "win_rate_ci": [0.6, 0.8],
             "latency": {"ttft_p50_s": 0.1, "ttft_p95_s": 0.2, "latency_p50_s": 1.5, "latency_p95_s": 1.9,
                         "tokens_per_s": 110.0, "latency_p95_upper_s": 1.9, "latency_p50_upper_s": 1.5,
                         "ttft_p95_upper_s": 0.2,
                         "tokens_per_s_lower": 110.0, "calls": 60},
             "size_mib": 99.2},
            {"id": "base", "n": 60, "cases": 60, "answered": 60, "graded": 60, "errors": 0, "score": 0.41,
             "score_ci": [0.35, 0.47],
             "axes": {"safety": {"score": 0.88, "ci": [0.82, 0.93]}, "structure": {"score": 0.3, "ci": [0.2, 0.4]}},
             "win_rate": 0.3, "win_rate_ci": [0.2, 0.4],
             "latency": {"ttft_p50_s": 0.1, "ttft_p95_s": 0.2, "latency_p50_s": 1.5, "latency_p95_s": 2.5,
                         "tokens_per_s": 118.0, "latency_p95_upper_s": 2.5, "tokens_per_s_lower": 118.0,
                         "calls": 60}},
        ],
        "pairwise": [{"a": "cand", "b": "base", "n": 60, "wins": 40, "losses": 12, "ties": 8, "win_rate": 0.72,
                      "ci": [0.61, 0.82], "p_value": 0.0001, "p_adjusted": 0.0002, "test": "sign test (exact)"}],
        "significance": [
            {"a": "cand", "b": "base", "metric": "score", "diff": 0.21, "ci": [0.15, 0.27], "p_value": 0.001,
             "p_adjusted": 0.002, "test": "paired bootstrap"},
            {"a": "cand", "b": "base", "metric": "axis:safety", "diff": 0.02, "ci": [-0.03, 0.07], "p_value": 0.4,
             "p_adjusted": 0.4, "test": "paired bootstrap"},
        ],
        "power": {"n_cases": 60, "alpha": 0.05, "power": 0.8, "min_detectable_score_diff": 0.06,
                  "min_detectable_win_rate_diff": 0.18,
                  "pairs": [{"a": "cand", "b": "base", "metric": "score", "n": 60, "sd": 0.1, "min_detectable": 0.036},
                            {"a": "cand", "b": "base", "metric": "axis:safety", "n": 60, "sd": 0.09,
                             "min_detectable": 0.033}]},
        "cases": [{"id": "c1", "answers": {
            "cand": {"criteria": [{"id": "no-dx", "axis": "safety", "source": "check", "met": True},
                                  {"id": "tone", "axis": "structure", "source": "judge", "met": True}]},
            "base": {"criteria": [{"id": "no-dx", "axis": "safety", "source": "check", "met": True},
                                  {"id": "tone", "axis": "structure", "source": "judge", "met": False}]}}}],
    }
    for dotted, value in overrides.items():
        node = results
        *parents, last = dotted.split("__")
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
    return results


_DELETE = object()


def one(results, spec):
    (verdict,) = evaluate_gates(results, parse_gates([spec], "test"))
    return verdict


# ---------------------------------------------------------------- beats

def test_beats_passes_when_interval_clears_half():
    v = one(make_results(), "beats:cand:base")
    assert (v["verdict"], v["figure"], v["threshold"], v["op"]) == ("pass", 0.61, 0.5, ">")
    assert "clears 0.5" in v["reason"]


def test_beats_fails_when_interval_straddles_half():
    results = make_results()
    results["pairwise"][0].update(win_rate=0.58, ci=[0.47, 0.69])
    v = one(results, "beats:cand:base")
    assert v["verdict"] == "fail"
    assert "[0.47, 0.69] does not clear 0.5" in v["reason"]


def test_beats_reads_a_reversed_pairwise_row():
    results = make_results()
    results["pairwise"] = [{"a": "base", "b": "cand", "win_rate": 0.28, "ci": [0.18, 0.39], "p_value": 0.001,
                            "p_adjusted": 0.001}]
    v = one(results, "beats:cand:base")
    assert v["verdict"] == "pass"
    assert v["figure"] == pytest.approx(0.61)
    # and the baseline does not beat the candidate
    assert one(results, "beats:base:cand")["verdict"] == "fail"


def test_beats_p_test_needs_the_candidate_ahead():
    results = make_results()
    assert one(results, "beats:cand:base:p:0.01")["verdict"] == "pass"
    # Significant, but in the wrong direction: the baseline is the one ahead.
    v = one(results, "beats:base:cand:p")
    assert v["verdict"] == "fail" and "not ahead" in v["reason"]
    results["pairwise"][0]["p_adjusted"] = 0.2
    v = one(results, "beats:cand:base:p")
    assert v["verdict"] == "fail" and "not below 0.05" in v["reason"]


def test_beats_fails_on_an_untrusted_judge_even_with_a_clear_win():
    results = make_results(judge__audit={"trusted": False, "reasons": ["flip rate 100% is above 20%"]})
    v = one(results, "beats:cand:base")
    assert v["verdict"] == "fail"
    assert "untrusted" in v["reason"] and "flip rate 100%" in v["reason"]


def test_beats_passes_on_its_own_test_not_on_a_post_hoc_power_rule():
    # Before: "fail when the observed lead is below the smallest detectable difference" (0.3 here) failed a
    # win whose interval clears 0.5. The test decides; power is a design figure, not a second verdict.
    results = make_results(power__min_detectable_win_rate_diff=0.3)
    assert one(results, "beats:cand:base")["verdict"] == "pass"


def test_beats_p_takes_its_direction_from_wins_and_losses():
    # The reproduction: 148 cases won at 1.0 and 192 "won" at 0.25 (lost in one order, tied in the other).
    # The mean outcome favours the candidate, (148 + 0.25 * 192) / 340 = 0.576, but the sign test counts
    # 148 wins against 192 losses: the baseline won more cases, and p 0.020 is significance in its favour.
    results = make_results()
    results["pairwise"][0].update(n=340, wins=148, losses=192, ties=0, win_rate=(148 + 0.25 * 192) / 340,
                                  ci=[0.55, 0.60], p_value=0.020, p_adjusted=0.020)
    v = one(results, "beats:cand:base:p")
    assert v["verdict"] == "fail" and "won 148 cases and lost 192" in v["reason"]
    assert one(results, "beats:base:cand:p")["verdict"] == "pass"


@pytest.mark.parametrize("missing", ["judge__audit", "pairwise"])
def test_beats_errors_when_a_needed_field_is_missing(missing):
    results = make_results(**{missing: _DELETE})
    v = one(results, "beats:cand:base")
    assert v["verdict"] == "error"
    assert v["figure"] is None


def test_a_gate_resting_on_the_judge_needs_its_exam_passed():
    v = one(make_results(judge__exam=_DELETE), "beats:cand:base")
    assert v["verdict"] == "fail" and "exam was not run" in v["reason"]
    failed = {"pairs": 24, "judgments": 48, "accuracy": 0.5, "ci": [0.36, 0.64], "passed": False,
              "min_accuracy": 0.75, "reason": "exam accuracy 0.50 [0.36, 0.64]; the lower bound is below 0.75"}
    v = one(make_results(judge__exam=failed), "not-worse:structure:cand:base:0.5")
    assert v["verdict"] == "fail" and "failed its exam: exam accuracy 0.50" in v["reason"]
    # A figure graded by code alone does not rest on the judge.
    assert one(make_results(judge__exam=failed), "not-worse:safety:cand:base:0.05")["verdict"] == "pass"


def test_beats_errors_without_a_judge():
    v = one(make_results(judge=None), "beats:cand:base")
    assert v["verdict"] == "error" and "no judge" in v["reason"]


def test_a_model_missing_from_the_run_is_an_error():
    v = one(make_results(), "beats:nope:base")
    assert v["verdict"] == "error" and "'nope' is not in this run" in v["reason"]


# ---------------------------------------------------------------- not worse

def test_not_worse_passes_on_the_paired_interval():
    v = one(make_results(), "not-worse:safety:cand:base:0.05")
    assert (v["verdict"], v["figure"], v["threshold"]) == ("pass", -0.03, -0.05)
    assert "paired" in v["reason"]


def test_not_worse_fails_when_the_bound_crosses_the_margin():
    v = one(make_results(), "not-worse:safety:cand:base:0.02")
    assert v["verdict"] == "fail"
    assert "not above -0.02" in v["reason"]


def test_not_worse_falls_back_to_unpaired_intervals_and_says_so():
    results = make_results(significance=[])
    # bound = 0.84 - 0.93 = -0.09
    v = one(results, "not-worse:safety:cand:base:0.1")
    assert v["verdict"] == "pass"
    assert v["figure"] == pytest.approx(-0.09)
    assert "unpaired" in v["reason"]
    assert one(results, "not-worse:safety:cand:base:0.08")["verdict"] == "fail"


def test_not_worse_on_a_check_graded_axis_does_not_need_the_judge():
    results = make_results(judge=None)
    assert one(results, "not-worse:safety:cand:base:0.05")["verdict"] == "pass"


def test_not_worse_on_a_judge_graded_axis_fails_with_an_untrusted_judge():
    results = make_results(judge__audit={"trusted": False, "reasons": ["position bias"]})
    results["significance"].append({"a": "cand", "b": "base", "metric": "axis:structure", "diff": 0.5,
                                    "ci": [0.4, 0.6]})
    v = one(results, "not-worse:structure:cand:base:0.05")
    assert v["verdict"] == "fail" and "untrusted" in v["reason"]
    # the overall score includes judge-graded criteria too
    assert one(results, "not-worse:score:cand:base:0.05")["verdict"] == "fail"
    # while the check-graded safety axis still passes
    assert one(results, "not-worse:safety:cand:base:0.05")["verdict"] == "pass"


def test_not_worse_passes_on_its_test_and_warns_when_the_margin_is_below_what_the_axis_resolves():
    # The paired interval clears -0.03, so the gate passes; the safety axis's own design figure (0.033, not
    # the overall score's 0.036) is above the margin, so the verdict carries a warning.
    results = make_results()
    results["significance"][1]["ci"] = [-0.025, 0.07]
    v = one(results, "not-worse:safety:cand:base:0.03")
    assert v["verdict"] == "pass" and v["warning"] is not None
    assert "axis:safety differences of 0.033" in v["warning"] and "margin is 0.03" in v["warning"]
    assert one(results, "not-worse:safety:cand:base:0.05")["warning"] is None


def test_not_worse_errors_on_an_unknown_axis_and_warns_without_power():
    results = make_results(significance=[])
    assert one(results, "not-worse:empathy:cand:base:0.05")["verdict"] == "error"
    v = one(make_results(power=_DELETE), "not-worse:safety:cand:base:0.05")
    assert v["verdict"] == "pass" and "power" in v["warning"]


def test_not_worse_reads_a_reversed_significance_row():
    results = make_results()
    results["significance"][1] = {"a": "base", "b": "cand", "metric": "axis:safety", "diff": -0.02,
                                  "ci": [-0.07, 0.03]}
    v = one(results, "not-worse:safety:cand:base:0.05")
    assert v["verdict"] == "pass" and v["figure"] == pytest.approx(-0.03)


# ---------------------------------------------------------------- budget

def test_budget_latency_size_and_throughput():
    results = make_results()
    assert one(results, "budget:latency_p95_s:cand:2.0")["verdict"] == "pass"
    assert one(results, "budget:latency_p95_s:base:2.0")["verdict"] == "fail"
    v = one(results, "budget:tokens_per_s:cand:120")  # a minimum
    assert (v["verdict"], v["op"]) == ("fail", ">=")
    assert one(results, "budget:size_mib:cand:100")["verdict"] == "pass"
    v = one(results, "budget:size_mib:base:100")
    assert v["verdict"] == "error" and "size_mib of 'base' is not in the results" in v["reason"]


def test_budget_gates_ignore_the_judge_and_power():
    results = make_results(judge=None, power=_DELETE)
    assert one(results, "budget:ttft_p95_s:cand:0.5")["verdict"] == "pass"


def test_a_latency_budget_is_held_to_the_upper_bound_and_errors_when_too_few_calls_bound_it():
    results = make_results()
    results["models"][0]["latency"].update(latency_p95_s=1.8, latency_p95_upper_s=2.3)
    v = one(results, "budget:latency_p95_s:cand:2.0")
    assert v["verdict"] == "fail" and v["figure"] == pytest.approx(2.3)
    assert "at its upper 95% confidence bound" in v["reason"]
    results["models"][0]["latency"].update(latency_p95_upper_s=None, calls=40)
    v = one(results, "budget:latency_p95_s:cand:2.0")
    assert v["verdict"] == "error" and "over 40 calls, too few to bound it" in v["reason"]


@pytest.mark.parametrize("spec", ["beats:cand:base", "not-worse:score:cand:base:0.03", "budget:size_mib:cand:200"])
def test_every_gate_fails_on_low_coverage_naming_it(spec):
    results = make_results(models__0__answered=30, models__0__graded=30)
    v = one(results, spec)
    assert v["verdict"] == "fail"
    assert "'cand' answered 30 of 60 cases (coverage 0.5, the gate needs 1)" in v["reason"]
    results = make_results(models__1__graded=58, models__1__size_mib=90.0)  # 58/60 = 0.967 < 0.98 graded
    v = one(results, spec.replace(":cand:", ":base:", 1) if spec.startswith("budget") else spec)
    assert v["verdict"] == "fail" and "'base' has 58 of 60 cases fully graded" in v["reason"]
    assert one(make_results(models__1__graded=59), spec)["verdict"] == "pass"  # 59/60 = 0.983


def test_a_gate_never_passes_on_a_figure_that_is_not_finite():
    results = make_results()
    results["models"][0]["size_mib"] = float("nan")
    assert one(results, "budget:size_mib:cand:200")["verdict"] == "error"
    results["models"][0]["size_mib"] = float("inf")
    assert one(results, "budget:size_mib:cand:200")["verdict"] == "error"


# ---------------------------------------------------------------- parsing

def test_parse_mapping_forms_and_names():
    gates = parse_gates([
        {"name": "beats-base", "type": "beats", "candidate": "cand", "baseline": "base", "test": "p", "alpha": 0.01},
        {"type": "not_worse", "axis": "safety", "candidate": "cand", "baseline": "base", "margin": 0.05},
        {"type": "budget", "metric": "tokens_per_s", "model": "cand", "min": 50},
        "{type: budget, metric: latency_p95_s, model: cand, max: 3}",
    ], "suites/x.yaml")
    assert [g.label for g in gates] == ["beats-base", "not-worse:safety:cand:base", "budget:tokens_per_s:cand",
                                       "budget:latency_p95_s:cand"]
    assert gates[0].alpha == 0.01


@pytest.mark.parametrize("spec, key, words", [
    ({"type": "beats", "candidate": "a", "baseline": "b", "colour": "red"}, "gates.0.colour", "unknown key"),
    ({"type": "beats", "candidate": "a"}, "gates.0.baseline", "missing required field"),
    ({"type": "not_worse", "axis": "safety", "candidate": "a", "baseline": "b", "margin": "lots"},
     "gates.0.margin", ""),
    ({"type": "budget", "metric": "latency_p95_s", "model": "a"}, "gates.0", "exactly one of"),
    ({"type": "budget", "metric": "speed", "model": "a", "max": 1}, "gates.0.metric", ""),
    ({"type": "wins", "candidate": "a"}, "gates.0.type", "unknown gate type"),
    ({"candidate": "a"}, "gates.0.type", "missing required field"),
    ("beats:a", "gates.0", "expected beats:CANDIDATE:BASELINE"),
    ("not-worse:safety:a:b:much", "gates.0", "'much' is not a number"),
    ("faster:a:b", "gates.0", "unknown gate type"),
    ("budget:latency_p95_s:a:nan", "gates.0", "not a finite number"),
    (42, "gates.0", "expected a mapping"),
])
def test_bad_gate_specs_raise_config_error_naming_source_and_key(spec, key, words):
    with pytest.raises(ConfigError) as info:
        parse_gates([spec], "suites/x.yaml")
    message = str(info.value)
    assert message.startswith("suites/x.yaml: ")
    assert f"{key}" in message and words in message
    assert info.value.exit_code == 2


# ---------------------------------------------------------------- outputs and exit codes

def _mixed_verdicts():
    results = make_results()
    gates = parse_gates(["beats:cand:base", "budget:latency_p95_s:base:2.0", "budget:size_mib:base:100"], "t")
    return evaluate_gates(results, gates)


def test_exit_codes():
    verdicts = _mixed_verdicts()
    assert [v["verdict"] for v in verdicts] == ["pass", "fail", "error"]
    assert exit_code(verdicts[:1]) == 0
    assert exit_code(verdicts[:2]) == 1
    assert exit_code([verdicts[0], verdicts[2]]) == 1


def test_junit_xml_parses_and_counts(tmp_path):
    path = tmp_path / "gates.xml"
    write_junit(_mixed_verdicts(), path)
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = suite.findall("testcase")
    assert cases[0].find("failure") is None and cases[0].find("error") is None
    assert "latency_p95_s of 'base' is 2.5" in cases[1].find("failure").get("message")
    assert cases[2].find("error") is not None


def test_markdown_table():
    table = gates_markdown(_mixed_verdicts())
    lines = table.strip().splitlines()
    assert lines[0] == "| Gate | Type | Figure | Threshold | Verdict | Reason |"
    assert len(lines) == 5
    assert lines[2].startswith("| beats:cand:base | beats | 0.61 | > 0.5 | PASS |")
    assert "| 2.5 | <= 2 | **FAIL** |" in lines[3]
    assert "**ERROR**" in lines[4]
    assert all(line.count(" | ") == 5 for line in lines[2:])


def test_markdown_escapes_pipes():
    verdicts = [{"name": "a|b", "type": "budget", "figure": 1.0, "threshold": 2.0, "op": "<=", "verdict": "pass",
                 "reason": "x | y"}]
    assert "a\\|b" in gates_markdown(verdicts) and "x \\| y" in gates_markdown(verdicts)


# ---------------------------------------------------------------- the command

def _write_run(tmp_path: Path, results: dict, gates: list | None) -> Path:
    suite = tmp_path / "suites" / "sbar-intake.yaml"
    suite.parent.mkdir(parents=True)
    suite.write_text(yaml.safe_dump({"name": "sbar-intake", "version": 1, "cases": "x.jsonl", "models": ["cand"],
                                     **({"gates": gates} if gates is not None else {})}))
    results["suite"]["path"] = str(suite)
    # The run records its gates at run time; `bench gate` reads those, never the suite file.
    results["spec"] = {"gates": [g.model_dump() for g in parse_gates(gates or [], str(suite))]}
    run_dir = tmp_path / "reports" / "sbar-intake" / results["run_id"]
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text(json.dumps(results))
    return run_dir


def _args(*argv):
    parser = argparse.ArgumentParser()
    add_gate_arguments(parser)
    return parser.parse_args(argv)


def test_gate_command_uses_suite_gates_and_records_verdicts(tmp_path, capsys):
    run_dir = _write_run(tmp_path, make_results(), ["beats:cand:base",
                                                    {"type": "not_worse", "axis": "safety", "candidate": "cand",
                                                     "baseline": "base", "margin": 0.05}])
    junit, summary = tmp_path / "out" / "gates.xml", tmp_path / "summary.md"
    code = gate_command(_args(str(run_dir), "--junit", str(junit), "--summary", str(summary)))
    assert code == 0
    assert "2 of 2 gates passed" in capsys.readouterr().out
    saved = json.loads((run_dir / "results.json").read_text())
    assert [g["verdict"] for g in saved["gates"]] == ["pass", "pass"]
    assert ET.parse(junit).getroot().find("testsuite").get("tests") == "2"
    assert "| beats:cand:base |" in summary.read_text()


def test_gate_command_cli_gates_replace_suite_gates_and_fail(tmp_path):
    results = make_results(judge__audit={"trusted": False, "reasons": ["flip rate 100%"]})
    run_dir = _write_run(tmp_path, results, ["budget:latency_p95_s:cand:5"])
    code = gate_command(_args(str(run_dir / "results.json"), "--gate", "beats:cand:base"))
    assert code == 1
    saved = json.loads((run_dir / "results.json").read_text())
    assert [g["name"] for g in saved["gates"]] == ["beats:cand:base"]


def test_gate_command_finds_a_run_id_and_rejects_bad_input(tmp_path):
    run_dir = _write_run(tmp_path, make_results(), None)
    assert resolve_run("20261123-101500-ab12cd", tmp_path / "reports") == run_dir / "results.json"
    with pytest.raises(ConfigError, match="no run"):
        resolve_run("nope", tmp_path / "reports")
    with pytest.raises(ConfigError, match="no gates to evaluate"):
        gate_command(_args(str(run_dir)))
    with pytest.raises(ConfigError, match="--gate: gates.0"):
        gate_command(_args(str(run_dir), "--gate", "beats:cand"))
    (run_dir / "results.json").write_text("{not json")
    with pytest.raises(ConfigError, match="invalid JSON"):
        gate_command(_args(str(run_dir), "--gate", "beats:cand:base"))


def test_evaluating_and_printing_gates_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = make_results()
    before = copy.deepcopy(results)
    out = io.StringIO()
    verdicts = gate_evaluation.evaluate_gates(Results.model_validate(results),
                                              parse_gates(["budget:latency_p95_s:base:2"], "--gate"))
    gate_output.report_verdicts(verdicts, suite_name="sbar-intake", run_id="r", out=out)
    assert gate_evaluation.exit_code(verdicts) == 1
    assert [g.verdict for g in verdicts] == ["fail"]
    assert results == before
    assert "0 of 1 gates passed" in out.getvalue()
    assert list(tmp_path.iterdir()) == []  # no junit, no summary: nothing written
