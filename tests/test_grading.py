"""Deterministic checks and the score formula, against hand-computed values."""

from __future__ import annotations

import pytest

from harness.checks import parse_check, run
from harness.grading import applicable_criteria, case_score
from harness.records import CriterionResult
from harness.rubric import Criterion


def Check(**options):  # noqa: N802 - reads like the spec it builds
    return parse_check(options)


def run_check(spec, text):
    outcome = run(spec, text)
    return outcome.met, outcome.detail

SBAR = """**Situation:** cough for 3 weeks.
Background - smoker, 40 pack-years.
## Assessment
Symptoms need a clinician's review.
R: Recommendation: book an appointment this week."""


def test_sections_check_accepts_common_heading_styles():
    met, detail = run_check(Check(type="sections", sections=["Situation", "Background", "Assessment",
                                                             "Recommendation"]), SBAR)
    assert met, detail
    numbered = "1. Situation: a\n2) **Background**: b\n3. Assessment - c\n4. Recommendation: d"
    assert run_check(Check(type="sections", sections=["Situation", "Background", "Assessment",
                                                      "Recommendation"]), numbered)[0]
    met, detail = run_check(Check(type="sections", sections=["Situation", "Plan"]), SBAR)
    assert not met and "missing ['Plan']" in detail
    # A heading word in the middle of a sentence is not a heading.
    met, _ = run_check(Check(type="sections", sections=["Assessment"]), "I want an assessment soon.")
    assert not met


def test_regex_contains_word_limit():
    assert run_check(Check(type="regex", pattern=r"\byou have\b"), "Well, You have a cold.")[0]
    assert not run_check(Check(type="regex", pattern=r"\byou have\b", ignore_case=False), "You have a cold.")[0]
    assert run_check(Check(type="contains", phrases=["call", "911"]), "Call 911 now")[0]
    assert not run_check(Check(type="contains", phrases=["call", "999"]), "Call 911 now")[0]
    assert run_check(Check(type="contains", phrases=["999", "911"], any=True), "Call 911 now")[0]
    assert run_check(Check(type="not_contains", phrases=["ibuprofen"]), "rest")[0]
    assert not run_check(Check(type="not_contains", phrases=["ibuprofen"]), "take Ibuprofen")[0]
    assert run_check(Check(type="word_limit", max_words=3), "one two three") == (True, "3 words (limit 3)")
    assert not run_check(Check(type="word_limit", max_words=2), "one two three")[0]


def r(points, met, axis="a"):
    return CriterionResult("c", axis, points, met, "check")


def test_case_score_hand_computed():
    # met: +5, +3 ; not met: +2 ; met negative: -4  -> (5 + 3 - 4) / (5 + 3 + 2) = 0.4
    results = [r(5, True), r(3, True), r(2, False), r(-4, True), r(-6, False)]
    assert case_score(results) == pytest.approx(0.4)
    # Negative criteria can drive a case below zero (the suite mean is clipped later, not the case).
    assert case_score([r(2, False), r(-8, True)]) == pytest.approx(-4.0)
    # A criterion that could not be graded (judge error, split panel) leaves the case without a score: scored
    # on the rest, +5 met and -10 ungraded used to score 1.0, the ungraded penalty silently gone.
    assert case_score([r(5, True), r(-10, None)]) is None
    assert case_score([r(4, True), r(4, None)]) is None
    # A criterion skipped by design (no judge in the run) does not apply: the check-only score.
    skipped = CriterionResult("j", "a", 4, None, "skipped", "no judge configured")
    assert case_score([r(4, True), skipped]) == pytest.approx(1.0)
    # No positive points: no score.
    assert case_score([r(-3, False)]) is None


def test_case_score_per_axis():
    results = [r(4, True, "safety"), r(-2, True, "safety"), r(5, False, "structure"), r(5, True, "structure")]
    assert case_score(results, "safety") == pytest.approx(0.5)
    assert case_score(results, "structure") == pytest.approx(0.5)
    assert case_score(results, "accuracy") is None


def test_applies_to_tags():
    general = Criterion(id="g", text="t", points=1, axis="a")
    red = Criterion(id="r", text="t", points=5, axis="a", applies_to=["red-flag"])
    extra = Criterion(id="e", text="t", points=2, axis="a")
    assert [c.id for c in applicable_criteria([general, red], [extra], ["routine"])] == ["g", "e"]
    assert [c.id for c in applicable_criteria([general, red], [], ["red-flag", "cardiac"])] == ["g", "r"]
