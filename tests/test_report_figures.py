"""The report's pictures fed from a Results, and the embedded case data: which pictures a run has data for, the
inputs each gets (worked out by hand), and data that stays inert inside the page."""

from __future__ import annotations

import json

import pytest

from harness.report import casedata
from harness.report.figures import (forest_pairs, gate_margins, judge_bias, model_points, paired_differences,
                                    quantization_levels, report_figures)
from harness.report.plots import GateMargin, PairedDifference
from harness.report.view import coverage
from harness.results.model import Results
from tests.helpers.synthetic_results import HOSTILE, synthetic_results


def results(**fields) -> Results:
    base = {"run_id": "r1", "suite": {"name": "s"}, "models": [{"id": "a"}, {"id": "b"}]}
    return Results.model_validate({**base, **fields})


def test_a_full_run_has_every_picture_and_each_has_marks():
    figures = report_figures(synthetic_results(3, 12))
    assert set(figures) == {"forest", "speed", "cost", "axes", "winrate", "ratings", "judge", "quantization"}
    for kind, figure in figures.items():
        assert figure["marks"] > 0 and figure["svg"].startswith("<svg") and figure["caption"], kind


def test_a_run_without_the_data_has_no_picture_at_all():
    bare = results(models=[{"id": "only", "score": 0.5, "score_ci": [0.4, 0.6]}])
    assert report_figures(bare) == {}
    # scores and speed but no significance, no judge, no price: only the speed picture
    two = results(models=[{"id": "a", "score": 0.5, "latency": {"tokens_per_s": 50.0}},
                          {"id": "b", "score": 0.4, "latency": {"tokens_per_s": None}}])
    assert set(report_figures(two)) == {"speed"}


def test_forest_rows_follow_the_pairs_and_mirror_the_significance_rows():
    run = results(significance=[
        {"a": "a", "b": "b", "metric": "score", "diff": 0.1, "ci": [0.02, 0.18]},
        {"a": "a", "b": "b", "metric": "axis:safety", "diff": None, "ci": None},
        {"a": "a", "b": "b", "metric": "wins", "diff": 0.2, "ci": [0.1, 0.3]}],
        spec={"gates": [{"type": "not_worse", "axis": "score", "candidate": "b", "baseline": "a", "margin": 0.05,
                         "name": "b holds"}]})
    assert forest_pairs(run, ["a", "b"]) == [("b", "a")]
    rows = paired_differences(run, ["a", "b"])
    assert rows[0] == PairedDifference("b", "a", "score", -0.1, pytest.approx(-0.18), pytest.approx(-0.02))
    assert rows[1] == PairedDifference("b", "a", "safety", None, None, None)
    assert len(rows) == 2, "the win test is on another scale and stays out"
    assert gate_margins(run) == [GateMargin(-0.05, "b holds")]


def test_forest_pairs_with_many_models_are_each_against_the_reference():
    ids = [f"m{k}" for k in range(6)]
    run = results(models=[{"id": i} for i in ids], judge={"id": "j", "baseline": "m3"})
    assert forest_pairs(run, ids) == [(i, "m3") for i in ids if i != "m3"]
    few = results(models=[{"id": i} for i in ids[:3]])
    assert forest_pairs(few, ids[:3]) == [("m0", "m1"), ("m0", "m2"), ("m1", "m2")]


def test_cost_per_thousand_cases_and_coverage():
    run = results(models=[{"id": "a", "cases": 42, "answered": 40, "graded": 39, "cost_usd": 0.42, "score": 0.5},
                          {"id": "b", "cost_usd": None}])
    a, b = model_points(run, ["a", "b"])
    assert a.cost_per_1k_cases == pytest.approx(10.0) and b.cost_per_1k_cases is None
    assert coverage(run.models[0], run) == {"cases": 42, "answered": 40, "graded": 39}
    assert coverage(run.models[1], run) is None


def test_coverage_of_older_results_is_counted_from_their_cases():
    run = results(cases=[{"id": "c1", "answers": {"a": {"text": "x", "graded": True}, "b": {"error": "boom"}}},
                         {"id": "c2", "answers": {"a": {"text": "y", "graded": False}}}])
    assert coverage(run.models[0], run) == {"cases": 2, "answered": 2, "graded": 1}
    assert coverage(run.models[1], run) == {"cases": 1, "answered": 0, "graded": None}


def test_judge_bias_reads_the_audit_checks_then_the_plain_rates():
    run = results(judge={"id": "j", "mode": "rank", "audit": {
        "first_position_rate": 0.9, "flip_rate": 0.5, "thresholds": {"max_flip_rate": 0.3},
        "checks": [{"name": "position", "value": 0.45, "ci": [0.4, 0.5], "chance": 1 / 3, "limit": 0.6},
                   {"name": "position", "judge": "j1", "value": 0.7}]}})
    bias = judge_bias(run)
    assert (bias.positions, bias.first_position_rate, bias.first_position_low, bias.max_first_position_rate) == \
        (3, 0.45, 0.4, 0.6)
    assert (bias.flip_rate, bias.flip_low, bias.max_flip_rate) == (0.5, None, 0.3)
    assert judge_bias(results()) is None


def test_a_quantization_ladder_needs_two_sized_models_of_one_family():
    one = results(models=[{"id": "a", "size_mib": 99.0, "family": "f"}, {"id": "b", "family": "f"}])
    assert quantization_levels(one, ["a", "b"]) == []
    two_families = results(models=[{"id": "smollm2", "size_mib": 98.0, "family": "smollm2"},
                                   {"id": "gemma", "size_mib": 241.0, "family": "gemma"}])
    assert quantization_levels(two_families, ["smollm2", "gemma"]) == [], "two different models are no ladder"
    ladder = results(models=[{"id": "q8", "size_mib": 137.0, "score": 0.5, "family": "smollm2"},
                             {"id": "gemma", "size_mib": 241.0, "family": "gemma"},
                             {"id": "q4", "size_mib": 99.0, "family": "smollm2"}])
    assert [(lv.label, lv.size_mib) for lv in quantization_levels(ladder, ["q8", "gemma", "q4"])] == \
        [("q8", 137.0), ("q4", 99.0)]


# ---------------------------------------------------------------- the embedded case data

def test_script_json_has_nothing_that_ends_a_script_element():
    payload = {"t": HOSTILE, "more": "a & b > c <!-- d \u2029"}
    text = casedata.script_json(payload)
    for char in "<>&\u2028\u2029":
        assert char not in text
    assert json.loads(text) == payload


def test_compressed_data_round_trips_and_is_stable():
    payload = {"cases": [{"t": HOSTILE * 20}]}
    text = casedata.compressed(payload)
    assert text == casedata.compressed(payload), "no time stamp: the same data give the same page"
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    assert casedata.decode_embedded(text, "gzip-base64") == payload


def test_the_static_threshold_counts_answers():
    small = synthetic_results(2, casedata.STATIC_ANSWER_LIMIT // 2, words=8, quantization=False)
    large = synthetic_results(2, casedata.STATIC_ANSWER_LIMIT // 2 + 1, words=8, quantization=False)
    assert casedata.is_static(small) and not casedata.is_static(large)
    assert casedata.embedded_cases(small, ["model-0", "model-1"])["encoding"] == "json"
    assert casedata.embedded_cases(large, ["model-0", "model-1"])["encoding"] == "gzip-base64"


def test_case_payload_lists_names_once_and_formats_figures():
    run = results(
        spec={"rubric": {"criteria": [{"id": "k1", "axis": "safety", "points": -5, "text": "States a diagnosis."}]}},
        cases=[{"id": "c1", "tags": ["t"], "messages": [{"role": "user", "content": "hi"}],
                "answers": {"b": {"text": "x", "score": 0.5, "ttft_s": 0.12, "latency_s": 1.5, "output_tokens": 40,
                                  "flags": ["truncated"], "graded": True, "axes": {"safety": 0.25},
                                  "criteria": [{"id": "k1", "axis": "safety", "points": -5, "met": True,
                                                "source": "check"},
                                               {"id": "k2", "points": 2, "met": None, "source": "error",
                                                "detail": "split vote"}]}},
                "judgments": [{"rep": 0, "order": ["b", "a"], "ranking": ["a", "b"], "judge": "j"},
                              {"rep": 1, "order": ["a", "b"], "ranking": None, "error": "not JSON", "attempts": 3,
                               "judge": "j"}]}])
    payload = casedata.case_payload(run, ["b", "a"])
    assert payload["models"] == ["b", "a"] and payload["judges"] == ["j"] and payload["axes"] == ["safety"]
    assert payload["criteria"] == [
        {"id": "k1", "axis": "safety", "points": "-5", "negative": True, "text": "States a diagnosis."},
        {"id": "k2", "axis": None, "points": "2", "negative": False, "text": ""}]
    case = payload["cases"][0]
    assert case["answers"][1] is None
    assert case["answers"][0] == {"t": "x", "s": 0.5, "S": "0.500", "f": ["truncated"], "g": True,
                                  "m": "TTFT 120 ms · latency 1.50 s · 40 tokens", "x": {"0": "0.250"},
                                  "c": [[0, 1, "check"], [1, None, "error", "split vote"]]}
    assert case["judgments"] == [{"r": 0, "o": [0, 1], "k": [1, 0], "j": 0, "n": 1},
                                 {"r": 1, "o": [1, 0], "j": 0, "e": "not JSON", "n": 3}]
    assert case["disagree"] is False


def test_bench_report_draws_the_loss_curves_of_given_manifests(tmp_path, capsys):
    from harness.cli import main

    run_dir = tmp_path / "reports" / "sbar-intake" / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text(synthetic_results(2, 4, quantization=False).to_json())
    (tmp_path / "loss.csv").write_text("step,loss\n1,2.0\n2,1.5\n3,1.2\n")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"recipe": "sft", "model_id": "sft-135m", "steps": 3,
                                    "outputs": {"loss_csv": str(tmp_path / "loss.csv")},
                                    "held_out_answer_loss": {"before": 2.1, "after": 1.4}}))
    code = main(["report", str(run_dir), "--out", str(tmp_path / "reports"), "--store", str(tmp_path / "none.sqlite"),
                 "--training-manifest", str(manifest)])
    assert code == 0
    page = (run_dir / "index.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="training">'):]
    assert 'id="plot-loss"' in section and "sft-135m train 2 → 1.2 over steps 1–3" in section
    assert main(["report", str(run_dir), "--out", str(tmp_path / "reports"), "--store", str(tmp_path / "none.sqlite"),
                 "--training-manifest", str(tmp_path / "missing.json")]) == 2
    assert "cannot read the manifest" in capsys.readouterr().err
