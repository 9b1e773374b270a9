"""The judge's agreement with human labels, on the very answers (and exam pairs) a person labelled."""

from __future__ import annotations

import pytest

from harness.files import text_hash
from harness.records import ExamTrial, Judgment
from harness.results.agreement import label_agreement
from harness.stats import cohens_kappa
from harness.stats.intervals import wilson
from tests.helpers.synthetic import answer


def test_agreement_on_labelled_pairs_criteria_and_exam_pairs():
    answers = [answer(f"c{i}", m, 0.5) for i in range(4) for m in ("x", "y")]
    text = {(a.case_id, a.model_id): a.completion.text for a in answers}
    # The judge prefers x in c0, c1, c2 (both orders) and y in c3.
    judgments = []
    for i in range(4):
        best = ["x", "y"] if i < 3 else ["y", "x"]
        judgments += [Judgment(f"c{i}", 0, ["x", "y"], best, None, 1, "j"), Judgment(f"c{i}", 1, ["y", "x"], best, None, 1, "j")]
    labels = [
        {"case_id": "c0", "a": "x", "b": "y", "preferred": "a"},                                   # agrees
        {"case_id": "c1", "a": text_hash(text[("c1", "y")]), "b": "x", "preferred": "b"},          # agrees, by hash
        {"case_id": "c2", "a": "x", "b": "y", "preferred": "tie"},                                 # disagrees
        {"case_id": "c3", "a": "x", "b": "y", "preferred": "a"},                                   # disagrees
        {"case_id": "c9", "a": "x", "b": "y", "preferred": "a"},                                   # not judged: left out
        {"case_id": "c0", "a": "sha256:ref", "b": "sha256:twin", "preferred": "a"},                # the exam pair
        {"case_id": "c0", "model": "x", "criterion": "good", "met": True},                         # check: not the judge
    ]
    exam = [ExamTrial("j", "c0", "truncated", ["reference", "twin"], 1.0, None, 1, None, ("sha256:ref", "sha256:twin")),
            ExamTrial("j", "c0", "truncated", ["twin", "reference"], 1.0, None, 1, None, ("sha256:ref", "sha256:twin"))]
    (pairwise,) = label_agreement(labels, "j", answers, judgments, exam)
    assert pairwise["kind"] == "pairwise" and pairwise["n"] == 5  # four real pairs and the exam pair
    assert pairwise["accuracy"] == pytest.approx(3 / 5)
    assert pairwise["ci"] == pytest.approx(list(wilson(3, 5)))
    human = ["a", "b", "tie", "a", "a"]
    judged = ["a", "b", "a", "b", "a"]
    assert pairwise["kappa"] == pytest.approx(cohens_kappa(human, judged))
    assert label_agreement(labels, "other-judge", answers, [], []) == []


def test_a_run_records_the_suites_labels_and_reports_agreement(tmp_path, monkeypatch):
    import json

    from tests.conftest import write_project
    from tests.helpers.runs import run_suite

    suite = write_project(tmp_path)
    (tmp_path / "suites" / "labels.jsonl").write_text(
        json.dumps({"case_id": "case-00", "a": "good", "b": "bad", "preferred": "a", "reason": "it has the headings"})
        + "\n" + json.dumps({"case_id": "case-01", "a": "good", "b": "bad", "preferred": "b", "reason": "a test"}) + "\n")
    suite.write_text(suite.read_text() + "labels: labels.jsonl\n")
    monkeypatch.chdir(tmp_path)
    results, _ = run_suite(suite, models_path=tmp_path / "models.yaml", quiet=True)
    assert len(results["spec"]["labels"]) == 2
    (agreement,) = results["judge"]["audit"]["label_agreement"]
    # The mock judge prefers the longer (good) answer: it agrees on case-00 and not on case-01.
    assert agreement["n"] == 2 and agreement["accuracy"] == pytest.approx(0.5)
