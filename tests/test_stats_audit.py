import pandas as pd
import pytest

from harness.stats import judge_audit

AUDIT_KEYS = {"position_consistency", "flip_rate", "first_position_rate", "longer_answer_rate",
              "parse_failure_rate", "judgments", "self_preference", "adversarial", "thresholds",
              "trusted", "reasons"}  # the judge.audit object of docs/results.md


def judgments_from(rows):
    return pd.DataFrame(rows, columns=["case_id", "rep", "order", "ranking", "error"])


def lengths_for(cases, n_chars):
    return pd.DataFrame([(c, m, n, 0.0) for c in cases for m, n in n_chars.items()],
                        columns=["case_id", "model", "n_chars", "markdown_density"])


def audit(judgments, lengths=None, **overrides):
    arguments = dict(parse_failures=0, total_attempts=max(len(judgments), 1), judge_family="smollm2",
                     model_families={"smollm2-135m": "smollm2", "gemma3-270m": "gemma"})
    arguments.update(overrides)
    return judge_audit(judgments, lengths, **arguments)


def test_a_judge_that_always_picks_the_first_answer_is_untrusted():
    # What SmolLM2-135M does as a judge: position A wins every time, in both orders.
    models = ["smollm2-135m", "gemma3-270m"]
    rows = []
    for case in range(10):
        for rep, order in enumerate([models, models[::-1]]):
            rows.append((f"c{case}", rep, order, list(order), None))
    lengths = lengths_for([f"c{i}" for i in range(10)], {"smollm2-135m": 400, "gemma3-270m": 200})
    result = audit(judgments_from(rows), lengths)
    assert set(result) == AUDIT_KEYS
    assert result["position_consistency"] == 0.0
    assert result["flip_rate"] == 1.0
    assert result["first_position_rate"] == 1.0
    assert result["longer_answer_rate"] == 0.5  # the longer answer is first in half the orders
    assert result["judgments"] == 20
    assert result["trusted"] is False
    assert result["reasons"] == ["flip rate 100% is above 20%", "first-position rate 100% is above 80%"]
    assert result["self_preference"] == [{"model": "smollm2-135m", "family": "smollm2"}]


def test_a_judge_that_reads_the_answers_is_trusted():
    models = ["smollm2-135m", "gemma3-270m"]
    rows = []
    for case in range(10):
        better = models[case % 2]  # its verdict follows the content, whatever the order
        worse = models[1 - case % 2]
        for rep, order in enumerate([models, models[::-1]]):
            rows.append((f"c{case}", rep, order, [better, worse], None))
    result = audit(judgments_from(rows), adversarial={"trials": 10, "obeyed": 1, "obey_rate": 0.1})
    assert result["position_consistency"] == 1.0 and result["flip_rate"] == 0.0
    assert result["first_position_rate"] == 0.5
    assert result["longer_answer_rate"] is None  # no lengths given
    assert result["adversarial"] == {"trials": 10, "obeyed": 1, "obey_rate": 0.1}
    assert result["thresholds"] == {"max_flip_rate": 0.2, "max_parse_failure_rate": 0.05,
                                    "max_first_position_rate": 0.8}
    assert result["trusted"] is True and result["reasons"] == []


def test_rates_by_hand_with_errors_and_parse_failures():
    rows = [
        ("c1", 0, ["A", "B", "C"], ["A", "B", "C"], None),
        ("c1", 1, ["C", "B", "A"], ["A", "B", "C"], None),  # same unblinded ranking: consistent
        ("c2", 0, ["A", "B", "C"], ["B", "A", "C"], None),
        ("c2", 1, ["B", "C", "A"], ["B", "C", "A"], None),  # differs: a flip
        ("c3", 0, ["A", "B", "C"], ["C", "A", "B"], None),
        ("c3", 1, ["C", "A", "B"], None, "no JSON in the reply"),  # failed: c3 has one judgment only
    ]
    lengths = pd.DataFrame([("c1", "A", 300, 0), ("c1", "B", 200, 0), ("c1", "C", 100, 0),
                            ("c2", "A", 100, 0), ("c2", "B", 100, 0), ("c2", "C", 500, 0),
                            ("c3", "A", 100, 0), ("c3", "B", 100, 0), ("c3", "C", 50, 0)],
                           columns=["case_id", "model", "n_chars", "markdown_density"])
    result = audit(judgments_from(rows), lengths, parse_failures=3, total_attempts=20, max_flip_rate=0.6)
    assert result["judgments"] == 5
    assert result["position_consistency"] == 0.5  # c1 consistent, c2 not; c3 has no second judgment
    assert result["flip_rate"] == 0.5
    # top pick shown first: c1 rep 0 (A) and c2 rep 1 (B); not c1 rep 1, c2 rep 0, c3 rep 0
    assert result["first_position_rate"] == pytest.approx(2 / 5)
    # top two: c1 A(300) > B(200) longer first, twice; c2 B vs A equal: skipped; c2 B(100) vs C(500): shorter
    # first; c3 C(50) vs A(100): shorter first. Longer first in 2 of 4.
    assert result["longer_answer_rate"] == pytest.approx(2 / 4)
    assert result["parse_failure_rate"] == pytest.approx(0.15)
    assert result["reasons"] == ["parse failure rate 15% is above 5%"]
    assert result["trusted"] is False


def test_no_successful_judgment_is_untrusted_and_rates_are_none():
    rows = [("c1", 0, ["A", "B"], None, "timeout")]
    result = audit(judgments_from(rows), parse_failures=0, total_attempts=0)
    assert result["judgments"] == 0
    for key in ["position_consistency", "flip_rate", "first_position_rate", "longer_answer_rate",
                "parse_failure_rate"]:
        assert result[key] is None
    assert result["trusted"] is False and result["reasons"] == ["no judgment succeeded"]


def test_self_preference_needs_a_matching_family():
    rows = [("c1", 0, ["A", "B"], ["B", "A"], None)]
    result = audit(judgments_from(rows), judge_family="Qwen", model_families={"A": "qwen", "B": None})
    assert result["self_preference"] == [{"model": "A", "family": "qwen"}]
    assert audit(judgments_from(rows), judge_family=None)["self_preference"] == []


def test_percent_in_a_reason_does_not_round_to_the_threshold():
    rows = [("c1", 0, ["A", "B"], ["A", "B"], None)]
    result = audit(judgments_from(rows), parse_failures=201, total_attempts=1000, max_parse_failure_rate=0.2)
    assert result["reasons"][-1] == "parse failure rate 20.1% is above 20.0%"
