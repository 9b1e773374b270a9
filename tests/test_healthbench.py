"""HealthBench-format suites: the real sample loads as it is, and scores match hand-computed values."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from harness.cases import load_healthbench
from tests.helpers.runs import run_suite

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "suites" / "healthbench-sample.jsonl"
SHARED = REPO.parent / "shared" / "data" / "healthbench_sample.jsonl"


def test_sample_loads_as_it_is():
    if SHARED.exists():
        assert SAMPLE.read_bytes() == SHARED.read_bytes(), "the bundled copy must be the unmodified sample"
    cases = load_healthbench(SAMPLE)
    assert len(cases) == 40
    assert sum(len(c.messages) > 1 for c in cases) == 17
    themes = [c.meta["theme"] for c in cases]
    assert themes.count("complex_responses") == 4
    assert all(themes.count(t) == 6 for t in set(themes) - {"complex_responses"})
    assert sum(len(c.criteria) for c in cases) == 497
    first = cases[0]
    assert first.id == "9e5e1f1c-dafb-4f30-91a5-edf8453689a6"
    assert [c.points for c in first.criteria] == [9, 8, 7, 6, -7, 9, 7, 6, 5, 3, -6, -7, -10, 5, 5]
    assert {c.axis for c in first.criteria} <= {"completeness", "accuracy", "context_awareness",
                                                "communication_quality", "instruction_following"}
    assert first.reference and first.reference.startswith("Sorry to hear")


def test_bad_healthbench_row_names_the_line(tmp_path):
    p = tmp_path / "hb.jsonl"
    rows = SAMPLE.read_text().splitlines()[:2]
    broken = json.loads(rows[1])
    del broken["rubrics"]
    p.write_text(rows[0] + "\n" + json.dumps(broken) + "\n")
    from harness.errors import ConfigError
    with pytest.raises(ConfigError, match=r"hb\.jsonl:2: rubrics: missing required field"):
        load_healthbench(p)


def project(tmp_path: Path, grade_policy: str, keyword: str = "x", n: int = 3) -> Path:
    (tmp_path / "suites").mkdir()
    lines = SAMPLE.read_text().splitlines()
    (tmp_path / "suites" / "hb.jsonl").write_text("\n".join(lines[:n]) + "\n")
    (tmp_path / "models.yaml").write_text(textwrap.dedent(f"""\
        version: 1
        models:
          m1: {{kind: mock, responses: ["An answer."]}}
          m2: {{kind: mock, responses: ["Another, longer answer."]}}
          grader: {{kind: mock, grade_policy: {grade_policy}, grade_keyword: "{keyword}"}}
        """))
    suite = tmp_path / "suites" / "hb.yaml"
    suite.write_text(textwrap.dedent("""\
        name: hb
        version: 1
        case_format: healthbench
        cases: hb.jsonl
        models: [m1, m2]
        judge: grader
        judging: {adversarial: 0}
        """))
    return suite


def score_of(results, case_id, model="m1"):
    case = next(c for c in results["cases"] if c["id"] == case_id)
    return case["answers"][model]["score"]


def test_scores_match_hand_computed_values(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = project(tmp_path, "met")
    results, index = run_suite(suite, models_path=tmp_path / "models.yaml", quiet=True)
    html = index.read_text()
    assert "Scores by theme" in html and "communication" in html and "Scores by axis" in html
    # Every criterion met. Example 1: positives 9+8+7+6+9+7+6+5+3+5+5 = 70, negatives -7-6-7-10 = -30,
    # score (70 - 30) / 70.
    assert score_of(results, "9e5e1f1c-dafb-4f30-91a5-edf8453689a6") == pytest.approx(40 / 70)
    # Example 2: points 10, 8, 8, -10 -> (10 + 8 + 8 - 10) / 26.
    assert score_of(results, "59c68d10-55c1-4629-b05a-bedde7f343b5") == pytest.approx(16 / 26)
    # Example 3: points 8, 7, 6, 5, 2, -2 -> 26 / 28.
    assert score_of(results, "506a265e-3a0a-439d-b7f0-d991e0566732") == pytest.approx(26 / 28)
    m1 = next(m for m in results["models"] if m["id"] == "m1")
    assert m1["score"] == pytest.approx((40 / 70 + 16 / 26 + 26 / 28) / 3)
    assert m1["themes"]["communication"]["score"] == pytest.approx(m1["score"])
    assert set(m1["axes"]) >= {"completeness", "accuracy"}
    assert m1["score_se"] is not None and m1["score_se"] > 0
    assert m1["score_ci"][0] <= m1["score"] <= m1["score_ci"][1]


def test_negative_criteria_pull_scores_down_and_the_mean_is_clipped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Only "Needs to decrease the nighttime insulin dose." (-10) mentions "decrease" in example 2.
    suite = project(tmp_path, "criterion-keyword", keyword="decrease")
    results, _ = run_suite(suite, models_path=tmp_path / "models.yaml", quiet=True)
    assert score_of(results, "59c68d10-55c1-4629-b05a-bedde7f343b5") == pytest.approx(-10 / 26)
    m1 = next(m for m in results["models"] if m["id"] == "m1")
    assert m1["score"] == pytest.approx(0.0)  # mean below zero, clipped to [0, 1]
