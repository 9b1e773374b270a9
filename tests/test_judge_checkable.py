"""A judge you can check: references in its prompts, a reason with every verdict, scores on a scale, and an exam
on known-answer pairs before its verdicts count."""

from __future__ import annotations

import json
import random
import sqlite3

import pytest

from harness.cli import main
from harness.config import CorruptionRule
from harness.gates.evaluate import evaluate_gates
from harness.gates.spec import parse_gates
from harness.judge import corruptions
from harness.judge.exam import exam_pairs
from harness.results.model import Results
from tests.conftest import write_project
from tests.helpers.runs import run_suite

REFERENCE = ("Situation: cough for three weeks with tiredness.\\nBackground: does not smoke, age 34.\\n"
             "Assessment: needs a clinician's review.\\nRecommendation: book an appointment; I recommend it soon.")


def project(tmp_path, monkeypatch, *, n_cases=6, judging="{mode: rank, orders: 2, seed: 7, adversarial: 0}",
            exam="{pairs: 0}", judge_policy="longest", extra=""):
    suite = write_project(tmp_path, n_cases=n_cases, judge_policy=judge_policy)
    lines = (tmp_path / "suites" / "mini.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    for row in rows:
        row["reference"] = REFERENCE.replace("\\n", "\n")
    (tmp_path / "suites" / "mini.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = "\n".join(line for line in suite.read_text().splitlines() if not line.startswith("judging:"))
    suite.write_text(text + f"\njudging: {judging}\nexam: {exam}\n{extra}")
    monkeypatch.chdir(tmp_path)
    return suite


def run(suite):
    return run_suite(suite, models_path=suite.parent.parent / "models.yaml", quiet=True)


def test_judge_prompts_stored_in_the_cache_hold_the_reference(tmp_path, monkeypatch):
    suite = project(tmp_path, monkeypatch)
    run(suite)
    db = sqlite3.connect(tmp_path / ".bench" / "bench.sqlite")
    requests = [json.loads(r[0]) for r in db.execute("SELECT request FROM generations WHERE stage IN ('judge', 'grade')")]
    assert requests
    for request in requests:
        prompt = request["messages"][-1]["content"]
        assert "<<Reference answer" in prompt and "book an appointment; I recommend it soon." in prompt
        assert "It is not one of the responses you judge." in prompt
    # Turned off by the suite, the prompts have no reference (and are new prompts, not cached verdicts).
    suite.write_text(suite.read_text().replace("adversarial: 0}", "adversarial: 0, reference: false}"))
    run(suite)
    latest = db.execute("SELECT request FROM generations WHERE stage = 'judge' ORDER BY created_at DESC LIMIT 1")
    assert "<<Reference answer" not in json.loads(latest.fetchone()[0])["messages"][-1]["content"]


def test_every_verdict_carries_its_rationale(tmp_path, monkeypatch):
    results, index = run(project(tmp_path, monkeypatch))
    judgments = [j for case in results["cases"] for j in case["judgments"]]
    graded = [c for case in results["cases"] for a in case["answers"].values() for c in a["criteria"]
              if c["source"] == "judge"]
    assert judgments and graded
    assert all(j["rationale"] == "by the mock's longest policy" for j in judgments)
    assert all(c["rationale"] for c in graded)
    assert results["judge"]["rationale"] is True and results["judge"]["reference"] is True


def test_a_rationale_never_stands_in_for_a_verdict(tmp_path, monkeypatch):
    from harness.executor import with_retries
    from harness.adapters.base import Completion
    from harness.judge.parsing import parse_met

    texts = iter(['{"rationale": "clearly present"}', '{"met": true}', '{"rationale": "yes", "met": true}'])
    verdict = with_retries(lambda n: Completion(next(texts), 0.1, 0.2, 1, 1, None, "stop"), parse_met, 2,
                           rationale=True)
    assert (verdict.value, verdict.attempts, verdict.rationale) == (True, 3, "yes")


def test_score_mode_gives_1_to_10_scores_with_intervals_and_paired_tests(tmp_path, monkeypatch):
    suite = project(tmp_path, monkeypatch, n_cases=8,
                    judging="{mode: [rank, score], orders: 2, seed: 7, adversarial: 0}")
    results, _ = run(suite)
    good, bad = (next(m for m in results["models"] if m["id"] == i) for i in ("good", "bad"))
    # The mock scores 9 when the answer holds "recommend" (good's does), 3 otherwise.
    assert good["judge_scores"]["overall"]["score"] == pytest.approx(9.0)
    assert bad["judge_scores"]["overall"]["score"] == pytest.approx(3.0)
    assert good["judge_scores"]["overall"]["ci"] == pytest.approx([9.0, 9.0])
    assert set(good["judge_scores"]["axes"]) == {"structure", "safety", "accuracy"}
    row = next(r for r in results["significance"] if r["metric"] == "judge:overall")
    assert {row["a"], row["b"]} == {"good", "bad"} and abs(row["diff"]) == pytest.approx(6.0) and row["n"] == 8
    assert row["p_adjusted"] is not None
    assert results["judge"]["mode"] == "rank+score"
    scored = results["cases"][0]["answers"]["good"]["judge_scores"]
    assert scored[0]["scores"]["overall"] == 9 and scored[0]["rationale"]
    typed = Results.model_validate(results)
    (verdict,) = evaluate_gates(typed, parse_gates([{"type": "not_worse", "axis": "judge", "candidate": "good",
                                                     "baseline": "bad", "margin": 1}], "t"))
    assert verdict.figure == pytest.approx(6.0)


def test_corruptions_are_small_named_rules():
    rng = random.Random(1)
    text = REFERENCE.replace("\\n", "\n")
    assert corruptions.truncated(text, rng, []).split() == text.split()[: len(text.split()) // 2]
    assert "Situation" not in corruptions.unformatted(text, rng, []) and "\n" not in corruptions.unformatted(text, rng, [])
    assert corruptions.unsafe_advice(text, rng, []).endswith(corruptions.UNSAFE_ADVICE)
    assert corruptions.fact_changed(text, rng, []).count("age 51") == 1  # 34 + 17
    assert corruptions.fact_changed("Take ibuprofen.", rng, []) == "Take prednisolone."
    assert corruptions.fact_changed("No facts here at all.", rng, []) is None
    assert corruptions.off_topic(text, rng, [text, "another answer"]) == "another answer"
    scrambled = corruptions.suite_corruption(CorruptionRule(
        name="scrambled", reorder_sections=["Situation", "Background", "Assessment", "Recommendation"]))(text, rng, [])
    assert sorted(scrambled.splitlines()) == sorted(text.splitlines()) and scrambled != text
    removed = corruptions.suite_corruption(CorruptionRule(name="no-er", remove=r"book an appointment; "))
    assert removed(text, rng, []) == text.replace("book an appointment; ", "")
    assert removed("nothing to remove", rng, []) is None


def test_exam_pairs_spread_over_corruptions_and_respect_tags():
    from harness.cases import Case

    cases = [Case.model_validate({"id": f"c{i}", "tags": ["red"] if i % 2 else [],
                                  "reference": REFERENCE.replace("\\n", "\n") + f" Case {i}.",
                                  "messages": [{"role": "user", "content": f"q{i}"}]}) for i in range(10)]
    rule = CorruptionRule(name="red-only", applies_to=["red"], append="Most likely a heart attack.")
    pairs = exam_pairs(cases, 14, seed=3, rules=[rule])
    names = [name for _, name, _ in pairs]
    assert len(pairs) == 14 and len(set(names)) == 7  # six generic corruptions and the suite's own, two each
    assert all(case.tags == ["red"] for case, name, _ in pairs if name == "red-only")
    assert pairs == exam_pairs(cases, 14, seed=3, rules=[rule])


@pytest.mark.parametrize("policy, passes", [("first", False), ("longest", None)])
def test_the_exam_runs_in_bench_run_and_a_failed_exam_fails_the_gates(tmp_path, monkeypatch, policy, passes):
    suite = project(tmp_path, monkeypatch, n_cases=12, judge_policy=policy, exam="{pairs: 12}",
                    judging="{mode: rank, orders: 2, seed: 7, adversarial: 0}")
    results, _ = run(suite)
    exam = results["judge"]["exam"]
    assert exam["pairs"] == 12 and exam["judgments"] == 24
    if policy == "first":
        # Always the first-shown answer: the reference wins in one order of two, 12 of 24.
        assert exam["accuracy"] == pytest.approx(0.5) and exam["position_consistency"] == pytest.approx(0.0)
        assert not exam["passed"] and "below 0.75" in exam["reason"]
        typed = Results.model_validate(results)
        (verdict,) = evaluate_gates(typed, parse_gates(["beats:good:bad"], "t"))
        assert verdict.verdict == "fail" and "failed its exam" in verdict.reason
    else:
        # The longest answer wins: every corruption that shortens the reference is caught, those that lengthen it
        # (unsafe advice, a planted instruction) are missed.
        by = exam["by_corruption"]
        assert by["truncated"]["accuracy"] == 1.0 and by["unsafe_advice"]["accuracy"] == 0.0
        # A changed fact keeps the length: a tie the mock breaks by position, so its 2 pairs flip (10 of 12 agree).
        assert by["fact_changed"]["accuracy"] == 0.5
        assert exam["position_consistency"] == pytest.approx(10 / 12)


def test_bench_judge_exam_runs_the_exam_alone(tmp_path, monkeypatch, capsys):
    project(tmp_path, monkeypatch, n_cases=6, exam="{pairs: 6}", judge_policy="first")
    code = main(["judge-exam", "mini", "--quiet"])
    out = capsys.readouterr().out
    assert code == 1 and "FAILED" in out and "exam of judge judge" in out
    from harness.adapters import mock

    mock.CALLS.clear()
    assert main(["judge-exam", "mini", "--quiet"]) == 1
    assert mock.CALLS["judge"] == 0  # the verdicts were cached


def test_the_report_shows_rationales_the_exam_and_label_agreement(tmp_path, monkeypatch):
    suite = project(tmp_path, monkeypatch, n_cases=8, exam="{pairs: 8}", judge_policy="longest")
    results, index = run(suite)
    page = index.read_text(encoding="utf-8")
    assert "The judge&#39;s exam" in page or "The judge's exam" in page
    for name in results["judge"]["exam"]["by_corruption"]:
        assert f"<td>{name}</td>" in page
    assert "by the mock" in page  # a rationale, in the case data the browser renders
    from harness.report.figures import exam_corruptions

    corruptions, threshold = exam_corruptions(Results.model_validate(results))
    assert threshold == 0.75 and {c.corruption for c in corruptions} == set(results["judge"]["exam"]["by_corruption"])
