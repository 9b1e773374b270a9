"""Missing data is counted, never dropped: the reproductions of the verdict-integrity audit, each built from
its numbers, on results computed from a store the way every run's are."""

from __future__ import annotations

import pytest

from harness.gates.evaluate import evaluate_gates
from harness.gates.spec import parse_gates
from harness.records import Judgment
from harness.results.build import build_results
from tests.helpers.synthetic import answer, write_run

HARD = [f"hard-{i:02d}" for i in range(50)]
EASY = [f"easy-{i:02d}" for i in range(50)]


def _fifty_fifty(tmp_path, missing: str = "zero"):
    # The baseline scores 0.38 on the 50 hard cases and 0.70 on the 50 easy ones (mean 0.54). The candidate
    # is within 0.05 of it on every case it answers (0.72 on the easy ones), but fails on the 50 hardest.
    answers = [answer(c, "base", 0.38) for c in HARD] + [answer(c, "base", 0.70) for c in EASY]
    answers += [answer(c, "cand", None, error="timed out after 30s", latency=30.0) for c in HARD]
    answers += [answer(c, "cand", 0.72) for c in EASY]
    store = write_run(tmp_path / "s.sqlite", "run", ["cand", "base"], HARD + EASY, answers,
                      scoring={"missing": missing, "flagged": {}})
    try:
        return build_results(store, "run")
    finally:
        store.close()


def test_a_model_that_skips_the_hard_cases_does_not_look_better(tmp_path):
    results = _fifty_fifty(tmp_path)
    cand, base = results.model("cand"), results.model("base")
    # Before: the candidate's headline was 0.70-ish over its 50 answers against the baseline's 0.54.
    assert base.score == pytest.approx(0.54)
    assert cand.score == pytest.approx(0.36)  # (50 * 0.72 + 50 * 0) / 100: an unanswered case counts 0
    assert (cand.cases, cand.answered, cand.graded, cand.n) == (100, 50, 50, 100)
    assert (cand.coverage.answered, cand.coverage.graded) == (0.5, 0.5)
    assert (base.coverage.answered, base.coverage.graded) == (1.0, 1.0)
    assert cand.errors_by_stage.answer == 50
    # Comparisons use the 50 cases both answered: +0.02 there.
    assert results.comparison.shared_cases == 50
    row = next(r for r in results.significance if r.metric == "score")
    assert row.n == 50 and abs(row.diff) == pytest.approx(0.02)
    # The gate that passed before fails, naming the coverage.
    (verdict,) = evaluate_gates(results, parse_gates(["not-worse:score:cand:base:0.03"], "t"))
    assert verdict.verdict == "fail"
    assert "'cand' answered 50 of 100 cases (coverage 0.5, the gate needs 1)" in verdict.reason


def test_missing_exclude_is_a_choice_that_is_shown_and_still_gated(tmp_path):
    results = _fifty_fifty(tmp_path, missing="exclude")
    cand = results.model("cand")
    assert cand.score == pytest.approx(0.72) and cand.n == 50 and cand.answered == 50
    assert results.spec.scoring.missing == "exclude"
    (verdict,) = evaluate_gates(results, parse_gates(["not-worse:score:cand:base:0.03"], "t"))
    assert verdict.verdict == "fail" and "coverage 0.5" in verdict.reason


def test_timeouts_count_in_latency(tmp_path):
    results = _fifty_fifty(tmp_path)
    latency = results.model("cand").latency
    assert latency.calls == 100 and latency.failed == 50
    assert latency.latency_p95_s == pytest.approx(30.0) and latency.ttft_lower_bound


def test_an_ungraded_penalty_leaves_the_case_unscored_and_out_of_comparisons(tmp_path):
    # +100 met and a -50 penalty the grader could not grade: before, the case scored 1.0 on the rest.
    answers = [answer("c1", "a", 0.5, ungraded=True), answer("c1", "b", 0.6),
               answer("c2", "a", 0.4), answer("c2", "b", 0.5)]
    store = write_run(tmp_path / "s.sqlite", "run", ["a", "b"], ["c1", "c2"], answers)
    results = build_results(store, "run")
    store.close()
    a = results.model("a")
    assert (a.answered, a.graded, a.errors_by_stage.grade) == (2, 1, 1)
    assert a.score == pytest.approx(0.4) and a.n == 1  # c1 cannot be scored; it is not scored 1.0
    assert results.cases[0].answers["a"].score is None and results.cases[0].answers["a"].graded is False
    assert results.comparison.shared_cases == 1
    (verdict,) = evaluate_gates(results, parse_gates(["not-worse:score:a:b:0.5"], "t"))
    assert verdict.verdict == "fail" and "'a' has 1 of 2 cases fully graded" in verdict.reason


def test_a_case_judged_in_one_order_only_is_flagged_and_left_out_of_win_rates(tmp_path):
    cases = [f"c{i}" for i in range(4)]
    answers = [answer(c, m, 0.5) for c in cases for m in ("a", "b")]
    judgments = []
    for i, c in enumerate(cases):
        judgments.append(Judgment(c, 0, ["a", "b"], ["a", "b"], None, 1, "j"))
        second = (["b", "a"], ["a", "b"], None) if i else (["b", "a"], None, "not JSON")
        judgments.append(Judgment(c, 1, second[0], second[1], second[2], 3 if second[2] else 1, "j"))
    store = write_run(tmp_path / "s.sqlite", "run", ["a", "b"], cases, answers, judgments, judges=["j"])
    results = build_results(store, "run")
    store.close()
    assert results.judge.audit.one_order_only == 1
    (row,) = results.pairwise
    assert row.n == 3  # c0, with one order's verdict only, is not counted from that one order
    assert results.judge.audit.judgment_failure_rate == pytest.approx(1 / 8)
    assert results.judge.audit.attempt_failure_rate == pytest.approx((10 - 7) / 10)


def test_a_case_id_holding_a_bar_keeps_the_length_audit(tmp_path):
    cases = [f"x|{i}" for i in range(10)]
    answers = [answer(c, m, 0.5) for c in cases for m in ("a", "bb")]
    judgments = [Judgment(c, rep, order, ["bb", "a"], None, 1, "j")
                 for c in cases for rep, order in enumerate((["a", "bb"], ["bb", "a"]))]
    store = write_run(tmp_path / "s.sqlite", "run", ["a", "bb"], cases, answers, judgments, judges=["j"])
    results = build_results(store, "run")
    store.close()
    # "answer of bb to ..." is the longer answer and always ranked first.
    assert results.judge.audit.longer_answer_rate == pytest.approx(1.0)
    length = next(c for c in results.judge.audit.checks if c.name == "length")
    assert length.n == 10 and length.value == pytest.approx(0.5)  # judge 1.0, rubric (a tie) 0.5


def test_generation_failed_counts_calls_that_ended_failed(tmp_path):
    from harness.store import Store

    store = Store(tmp_path / "s.sqlite")
    completion_failed = answer("c", "m", None, error="boom").completion
    completion_ok = answer("c", "m", 1.0).completion
    for _ in range(3):  # one call failed three times in an interrupted attempt, then answered on resume
        store.save_generation("k1", "m", "fp", "answer", {}, completion_failed, run_id="r")
    store.save_generation("k1", "m", "fp", "answer", {}, completion_ok, run_id="r")
    store.record_call("r", "answer", "k1", fresh=True)
    store.save_generation("k2", "m", "fp", "answer", {}, completion_failed, run_id="r")  # still failed
    store.save_generation("k2", "m", "fp", "answer", {}, completion_failed, run_id="r")
    assert store.failure_count("r") == 1  # before: 5
    store.close()


def test_score_se_is_the_spread_of_the_clipped_bootstrap_means():
    """HealthBench clips each bootstrapped mean to [0, 1]; clipping each case first shrinks the spread (60 cases,
    5 of them negative)."""
    import numpy as np

    from harness.stats import bootstrap_se
    from harness.stats._resample import resample_indices

    values = np.array([-1.5, -1.0, -0.8, -0.6, -0.5] + [0.1] * 20 + [0.3] * 20 + [0.9] * 15)
    reference = np.std([np.clip(values[idx].mean(), 0, 1) for idx in resample_indices(60, 2000, 11)], ddof=1)
    assert bootstrap_se(values, n_boot=2000, seed=11, clip=(0, 1)) == pytest.approx(reference)
    before = bootstrap_se(np.clip(values, 0, 1), n_boot=2000, seed=11)
    assert before < reference * 0.85  # what the old figure under-reported


def test_a_length_controlled_rate_that_would_extrapolate_is_null_with_its_reason():
    import pandas as pd

    from harness.stats.design import length_support

    outcomes = pd.DataFrame([{"case_id": f"c{i}", "a": "long", "b": "base", "outcome": 1.0} for i in range(20)])
    lengths = pd.DataFrame([{"case_id": f"c{i}", "model": m, "n_chars": n}
                            for i in range(20) for m, n in (("long", 300 if i else 90), ("base", 100))])
    reason = length_support(outcomes, lengths, "long", "base")
    assert "longer in 19 of 20 cases, shorter in 1" in reason and "extrapolate" in reason
    crossing = lengths.assign(n_chars=[(300 if i % 3 else 50) if m == "long" else 100
                                       for i in range(20) for m in ("long", "base")])
    assert length_support(outcomes, crossing, "long", "base") is None


def test_the_orders_disagree_badge_compares_one_judges_orders():
    from harness.report.view import orders_disagree
    from harness.results.model import JudgmentRow

    def row(rep, ranking, judge="j", order=("a", "b")):
        return JudgmentRow(rep=rep, order=list(order), ranking=list(ranking), judge=judge)

    # Two orders (reps 0 and 1) that rank differently: before, grouping by rep never compared them.
    assert orders_disagree([row(0, ["a", "b"]), row(1, ["b", "a"], order=("b", "a"))])
    assert not orders_disagree([row(0, ["a", "b"]), row(1, ["a", "b"], order=("b", "a"))])
    # Two judges of a panel disagreeing is not an order effect.
    assert not orders_disagree([row(0, ["a", "b"], "j1"), row(0, ["b", "a"], "j2")])


def test_check_only_gates_rest_on_code_alone_and_advisory_gates_do_not_block(tmp_path):
    from harness.gates.evaluate import exit_code
    from harness.records import CriterionResult

    cases = [f"c{i}" for i in range(20)]
    answers = []
    for c in cases:
        for model, quality in (("sft", 0.9), ("base", 0.5)):
            a = answer(c, model, quality)
            # a judge-graded criterion the (absent, untrusted) judge could not grade
            a.criteria.append(CriterionResult("tone", "quality", 10.0, None, "error", "judge call failed"))
            answers.append(a)
    store = write_run(tmp_path / "s.sqlite", "run", ["sft", "base"], cases, answers, judges=["j"])
    results = build_results(store, "run")
    store.close()
    sft = results.model("sft")
    assert sft.score is None and sft.graded == 0  # the judge-graded criterion left every case unscored
    assert sft.checks.score == pytest.approx(0.9) and sft.checks.judged_criteria_left_out == 20
    row = next(r for r in results.significance if r.metric == "checks:score")
    assert row.diff == pytest.approx(0.4) and row.n == 20
    verdicts = evaluate_gates(results, parse_gates([
        "not-worse:checks:sft:base:0.05",
        {"type": "beats", "candidate": "sft", "baseline": "base", "metric": "checks"},
        {"type": "beats", "candidate": "sft", "baseline": "base", "required": False}], "t"))
    checks_gate, beats_checks, advisory = verdicts
    assert checks_gate.verdict == "pass" and checks_gate.rests_on == ["checks"]
    assert beats_checks.verdict == "pass" and beats_checks.rests_on == ["checks"]
    assert advisory.verdict in ("fail", "error") and advisory.rests_on == ["judge"] and not advisory.required
    assert exit_code(verdicts) == 0  # the advisory gate is reported, not blocking
    # Required, the judge-based gate fails the run on the judge's missing audit and exam.
    (required,) = evaluate_gates(results, parse_gates(["beats:sft:base"], "t"))
    assert exit_code([required]) == 1
