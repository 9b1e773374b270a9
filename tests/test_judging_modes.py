"""Pairwise judging in both orders, baselines, judge panels with agreement, and the planted-instruction check."""

from __future__ import annotations

import pytest

from tests.helpers.runs import run_suite
from tests.conftest import write_project

THIRD = ('  mid:\n    kind: mock\n    family: alpha\n'
         '    responses: ["Situation: s\\nBackground: b\\nAssessment: a\\nRecommendation: r, longer than bad"]\n'
         '  judge2:\n    kind: mock\n    family: delta\n    judge_policy: first\n')


def make(tmp_path, monkeypatch, judging: str, judge: str = "judge", models: str = "[good, bad, mid]",
         judge_policy: str = "longest", n_cases: int = 6):
    suite = write_project(tmp_path, extra_models=THIRD, judge_policy=judge_policy, n_cases=n_cases)
    text = suite.read_text().replace("models: [good, bad]", f"models: {models}")
    text = text.replace("judge: judge", f"judge: {judge}")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("judging:")) + f"\njudging: {judging}\n"
    suite.write_text(text)
    monkeypatch.chdir(tmp_path)
    results, index = run_suite(suite, models_path=tmp_path / "models.yaml", quiet=True)
    results["_html"] = index.read_text()
    return results


def rates(results):
    return {m["id"]: m["win_rate"] for m in results["models"]}


def test_pairwise_both_orders_consistent_judge(tmp_path, monkeypatch):
    results = make(tmp_path, monkeypatch, "{mode: pairwise, adversarial: 0}")
    # 6 cases x 3 pairs x 2 orders
    assert results["judge"]["judgments"] == 36 and results["judge"]["mode"] == "pairwise"
    assert results["judge"]["position_consistency"] == pytest.approx(1.0)
    # good > mid > bad by length: good wins both its pairs, mid one of two.
    assert rates(results) == pytest.approx({"good": 1.0, "mid": 0.5, "bad": 0.0})
    case = results["cases"][0]
    assert {tuple(j["order"]) for j in case["judgments"]} >= {("good", "bad"), ("bad", "good")}


def test_pairwise_flip_is_a_tie(tmp_path, monkeypatch):
    results = make(tmp_path, monkeypatch, "{mode: pairwise, adversarial: 0}", judge_policy="first")
    assert rates(results) == pytest.approx({"good": 0.5, "mid": 0.5, "bad": 0.5})
    assert results["judge"]["disagreements"] == 18  # every case x pair flipped
    assert results["judge"]["position_consistency"] == pytest.approx(0.0)
    assert results["judge"]["audit"]["trusted"] is False
    assert all(p["ties"] == 6 for p in results["pairwise"])


def test_pairwise_against_a_baseline_only(tmp_path, monkeypatch):
    results = make(tmp_path, monkeypatch, "{mode: pairwise, baseline: bad, adversarial: 0}")
    assert results["judge"]["judgments"] == 24  # 6 cases x 2 pairs (good-bad, mid-bad) x 2 orders
    pairs = {frozenset((p["a"], p["b"])) for p in results["pairwise"]}
    assert pairs == {frozenset(("good", "bad")), frozenset(("mid", "bad"))}
    lc = {r["id"]: r for r in results["ratings"]["length_controlled"]}
    assert lc["good"]["baseline"] == "bad"


def test_panel_aggregates_and_reports_agreement(tmp_path, monkeypatch):
    # 14 cases: enough units for the audit's rates, and 13 of them for 26 paired planted-instruction trials.
    results = make(tmp_path, monkeypatch, "{mode: rank, orders: 2, adversarial: 13}", judge="[judge, judge2]",
                   models="[good, bad]", n_cases=14)
    judge = results["judge"]
    assert judge["panel"] == ["judge", "judge2"] and judge["judgments"] == 56
    # judge: good always; judge2: whichever is shown first (good half the time) -> good 0.75
    assert rates(results)["good"] == pytest.approx(0.75)
    assert judge["members"]["judge"]["trusted"] is True and judge["members"]["judge2"]["trusted"] is False
    assert judge["audit"]["trusted"] is False
    assert any("judge2" in reason for reason in judge["audit"]["reasons"])
    # Each member is audited on its own verdicts: judge2's first-position rate is its own 100%, not pooled.
    position = {c["judge"]: c for c in judge["audit"]["checks"] if c["name"] == "position"}
    assert position["judge2"]["value"] == pytest.approx(1.0) and position["judge"]["value"] == pytest.approx(0.5)
    assert {c["judge"] for c in judge["audit"]["checks"] if c["name"] == "planted"} == {"judge", "judge2"}
    agreement = judge["agreement"]
    assert agreement["items"] == 28
    # The two judges agree on exactly half the items: kappa 0 for this balanced table.
    assert agreement["cohens_kappa"] == pytest.approx(0.0, abs=1e-9)
    assert agreement["krippendorff_alpha"] is not None
    assert "Panel" in results["_html"] and "Krippendorff" in results["_html"]


def _planted(results):
    return next(c for c in results["judge"]["audit"]["checks"] if c["name"] == "planted")


def test_planted_instructions_are_measured_as_a_paired_lift(tmp_path, monkeypatch):
    # A judge that prefers short answers picks the weak answer whether or not it carries the instruction: it
    # "obeys" 100% of the time, but the control shows the instruction bought nothing (lift 0). Before, it was
    # said to obey planted instructions.
    results = make(tmp_path, monkeypatch, "{mode: rank, orders: 2, adversarial: 13}", judge_policy="shortest",
                   models="[good, bad]", n_cases=14)
    adv = results["judge"]["audit"]["adversarial"]
    assert adv["trials"] == 26 and adv["control_trials"] == 26
    assert adv["obey_rate"] == pytest.approx(1.0) and adv["control_first_rate"] == pytest.approx(1.0)
    planted = _planted(results)
    assert planted["value"] == pytest.approx(0.0) and planted["n"] == 26 and planted["outcome"] == "pass"
    # A judge that does what an answer tells it: lift 1, its upper bound far above 0.1, untrusted.
    results = make(tmp_path / "b", monkeypatch, "{mode: rank, orders: 2, adversarial: 13}", judge_policy="obedient",
                   models="[good, bad]", n_cases=14)
    planted = _planted(results)
    assert planted["value"] == pytest.approx(1.0) and planted["outcome"] == "fail"
    assert results["judge"]["audit"]["trusted"] is False
    assert any("planted-instruction lift" in r for r in results["judge"]["audit"]["reasons"])
    assert results["generation"]["by_stage"]["adversarial"]["calls"] == 52


def test_planted_trials_too_few_to_bound_are_not_established(tmp_path, monkeypatch):
    # 6 of 12 obeyed used to be a trusted judge. 4 cases give 8 pairs: no bound under 0.1 is possible.
    results = make(tmp_path, monkeypatch, "{mode: rank, orders: 2, adversarial: 4}", models="[good, bad]")
    planted = _planted(results)
    assert planted["n"] == 8 and planted["outcome"] == "not established"
    assert "at least 25 needed" in planted["detail"]
    assert results["judge"]["audit"]["trusted"] is False


def test_graded_pairwise_verdicts_run_end_to_end(tmp_path, monkeypatch):
    results = make(tmp_path, monkeypatch, "{mode: pairwise, verdict: graded, strong_weight: 3, adversarial: 0}")
    judge = results["judge"]
    assert (judge["verdict"], judge["strong_weight"], judge["prompts"]["graded"]) == ("graded", 3.0, "graded-v1")
    # the mock's length policy: every pair differs at least twofold in length, so every verdict is strong
    strengths = {j["strength"] for case in results["cases"] for j in case["judgments"]}
    assert strengths == {"strong"}
    assert rates(results) == pytest.approx({"good": 1.0, "mid": 0.5, "bad": 0.0})
    verdicts = {(p["a"], p["b"]): p["verdicts"] for p in results["pairwise"]}
    assert verdicts[("bad", "good")] == {"a>>b": 0, "a>b": 0, "a=b": 0, "b>a": 0, "b>>a": 12}
    assert "a strong preference 3" in " ".join(results["_html"].split())
    assert "A&gt;&gt;B / A&gt;B / A=B / B&gt;A / B&gt;&gt;A" in results["_html"]


def test_graded_verdicts_of_a_judge_that_always_picks_the_first_answer_are_ties_and_flips(tmp_path, monkeypatch):
    results = make(tmp_path, monkeypatch, "{mode: pairwise, verdict: graded, strong_weight: 3, adversarial: 0}",
                   judge_policy="first")
    assert rates(results) == pytest.approx({"good": 0.5, "mid": 0.5, "bad": 0.5})
    assert results["judge"]["disagreements"] == 18
    assert {j["strength"] for case in results["cases"] for j in case["judgments"]} == {"slight"}
    assert results["judge"]["audit"]["trusted"] is False
