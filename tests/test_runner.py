"""The whole loop on mock models: answers, grades, blinded judge, statistics, report, cache and resume."""

from __future__ import annotations

import json
import sqlite3
import pytest

from harness.adapters import mock
from harness.cli import main
from tests.helpers.runs import run_suite
from tests.conftest import write_project


def run(suite, **kw):
    return run_suite(suite, models_path=suite.parent.parent / "models.yaml", quiet=True, **kw)


def test_end_to_end_scores_judge_and_report(mock_project):
    results, index = run(mock_project)
    assert index.is_file() and (index.parent / "results.json").is_file()
    assert (mock_project.parent.parent / "reports" / "index.html").is_file()
    by_id = {m["id"]: m for m in results["models"]}
    good, bad = by_id["good"], by_id["bad"]
    # good: headings 4 + advice 3 + recommends 2 (keyword grader) = 9 / 9 = 1.0 on every case.
    assert good["score"] == pytest.approx(1.0) and good["n"] == 6 and good["errors"] == 0
    # bad: "You have the flu" meets the -5 diagnosis criterion and nothing else: -5/9 per case, clipped to 0.
    assert bad["score"] == pytest.approx(0.0)
    assert good["axes"]["structure"]["score"] == pytest.approx(1.0)
    # The mock judge prefers the longer answer, in both orders: good always wins.
    assert good["win_rate"] == pytest.approx(1.0) and bad["win_rate"] == pytest.approx(0.0)
    assert results["judge"]["position_consistency"] == pytest.approx(1.0)
    assert results["judge"]["judgments"] == 12 and results["judge"]["errors"] == 0
    pair = results["pairwise"][0]
    assert {pair["a"], pair["b"]} == {"good", "bad"} and pair["n"] == 6
    assert pair["p_value"] == pytest.approx(2 * 0.5 ** 6)
    for field in ("ttft_p50_s", "ttft_p95_s", "latency_p50_s", "latency_p95_s", "tokens_per_s"):
        assert field in good["latency"]
    case = results["cases"][0]
    assert len(case["judgments"]) == 2
    assert {tuple(j["order"]) for j in case["judgments"]} == {("good", "bad"), ("bad", "good")}
    verdicts = {c["id"]: c for c in case["answers"]["good"]["criteria"]}
    assert verdicts["headings"]["source"] == "check" and verdicts["recommends"]["source"] == "judge"
    on_disk = json.loads((index.parent / "results.json").read_text())
    assert on_disk["run_id"] == results["run_id"]


def test_second_run_makes_no_model_calls_and_same_numbers(mock_project):
    mock.CALLS.clear()
    first, _ = run(mock_project)
    calls_first = sum(mock.CALLS.values())
    # 6 cases x 2 models answers + 6 x 2 graded criteria + 6 x 2 orders judged
    assert calls_first == 12 + 12 + 12
    assert first["generation"]["calls"] == 36 and first["generation"]["cached"] == 0
    mock.CALLS.clear()
    second, _ = run(mock_project)
    assert sum(mock.CALLS.values()) == 0
    assert second["generation"] == {**second["generation"], "calls": 0, "cached": 36}
    assert second["run_id"] != first["run_id"]
    for a, b in zip(first["models"], second["models"]):
        assert (a["score"], a["score_ci"], a["win_rate"], a["win_rate_ci"]) == \
               (b["score"], b["score_ci"], b["win_rate"], b["win_rate_ci"])


def test_cache_key_changes_with_settings(mock_project):
    run(mock_project)
    mock_project.write_text(mock_project.read_text() + "generation: {max_tokens: 77}\n")
    mock.CALLS.clear()
    run(mock_project)
    assert mock.CALLS["good"] == 6 and mock.CALLS["bad"] == 6


def test_failed_answers_are_counted_not_graded_and_retried_next_time(tmp_path, monkeypatch):
    suite = write_project(tmp_path, extra_models=(
        "  flaky:\n"
        "    kind: mock\n"
        '    responses: ["Situation: s\\nBackground: b\\nAssessment: a\\nRecommendation: r"]\n'
        "    fail_every: 2\n"))
    suite.write_text(suite.read_text().replace("models: [good, bad]", "models: [good, flaky]"))
    monkeypatch.chdir(tmp_path)
    results, _ = run(suite)
    flaky = next(m for m in results["models"] if m["id"] == "flaky")
    assert flaky["errors"] == 3 and flaky["answered"] == 3 and flaky["cases"] == 6
    # An unanswered case is not left out: it counts 0 in the model's own score (scoring.missing: zero). An
    # answered case scores (headings 4 + recommends 2) / 9 = 2/3, so the score is (3 * 2/3 + 3 * 0) / 6 = 1/3.
    assert flaky["n"] == 6 and flaky["score"] == pytest.approx(1 / 3)
    # ... and comparisons use only the cases both models answered.
    assert results["comparison"]["shared_cases"] == 3
    assert all(row["n"] == 3 for row in results["significance"] if row["metric"] == "score")
    failed_case = next(c for c in results["cases"] if c["answers"]["flaky"]["error"])
    assert failed_case["answers"]["flaky"]["text"] == "" and failed_case["answers"]["flaky"]["criteria"] == []
    assert results["generation"]["failed"] == 3
    mock.CALLS.clear()
    run(suite)
    assert mock.CALLS["flaky"] == 3 and mock.CALLS["good"] == 0


def test_unparseable_judge_is_recorded_not_guessed(tmp_path, monkeypatch):
    suite = write_project(tmp_path, judge_policy="garbage")
    monkeypatch.chdir(tmp_path)
    results, _ = run(suite)
    judge = results["judge"]
    assert judge["errors"] == judge["judgments"] == 12
    assert all(m["win_rate"] is None for m in results["models"])
    assert results["pairwise"] == []
    assert all(j["ranking"] is None and "not JSON" in j["error"] and j["attempts"] == 3
               for c in results["cases"] for j in c["judgments"])


def test_first_position_judge_is_inconsistent(tmp_path, monkeypatch):
    suite = write_project(tmp_path, judge_policy="first")
    monkeypatch.chdir(tmp_path)
    results, _ = run(suite)
    judge = results["judge"]
    assert judge["position_consistency"] == pytest.approx(0.0)
    assert judge["first_position_rate"] == pytest.approx(1.0)
    assert judge["disagreements"] == 6
    assert all(m["win_rate"] == pytest.approx(0.5) for m in results["models"])
    assert judge["audit"]["trusted"] is False


def test_limit_and_models_and_judge_flags(mock_project, capsys):
    code = main(["run", "mini", "--limit", "2", "--models", "good", "--judge", "judge", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "report:" in out
    results = json.loads(next((mock_project.parent.parent / "reports" / "mini").glob("*/results.json")).read_text())
    assert results["suite"]["cases"] == 2 and [m["id"] for m in results["models"]] == ["good"]
    assert results["pairwise"] == [] and results["models"][0]["win_rate"] is None


def test_interrupted_run_resumes_under_the_same_id(mock_project, monkeypatch):
    from harness.adapters.mock import MockAdapter

    original = MockAdapter.generate
    state = {"n": 0}

    def dies_after_five(self, messages, settings, json_schema=None):
        state["n"] += 1
        if state["n"] > 5:
            raise KeyboardInterrupt
        return original(self, messages, settings, json_schema)

    monkeypatch.setattr(MockAdapter, "generate", dies_after_five)
    with pytest.raises(KeyboardInterrupt):
        run(mock_project)
    db = sqlite3.connect(mock_project.parent.parent / ".bench" / "bench.sqlite")
    (run_id, status), = db.execute("SELECT run_id, status FROM runs").fetchall()
    assert status == "interrupted"
    saved = db.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
    assert saved == 5
    monkeypatch.setattr(MockAdapter, "generate", original)
    mock.CALLS.clear()
    results, _ = run(mock_project)
    assert results["run_id"] == run_id
    assert sum(mock.CALLS.values()) == 36 - 5
    assert results["generation"]["calls"] == 36 and results["generation"]["cached"] == 0
