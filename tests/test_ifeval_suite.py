"""An IFEval suite end to end on scripted models: every instruction a criterion with its strict and loose verdicts,
and IFEval's four accuracies in results.json, checked against figures worked out by hand."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from harness.results.build import N_BOOT, SEED
from harness.stats import ifeval_accuracy
from tests.helpers.runs import run_suite

ROWS = [
    {"key": 1, "prompt": "Tell me about rivers and write no commas at all please.",
     "instruction_id_list": ["punctuation:no_comma", "startend:end_checker"],
     "kwargs": [{}, {"end_phrase": "Any other questions?"}]},
    {"key": 2, "prompt": "Describe the sea and write everything in lowercase letters only.",
     "instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]},
    {"key": 3, "prompt": "Write a poem about hills and give it a title in double angular brackets.",
     "instruction_id_list": ["detectable_format:title"], "kwargs": [{}]},
]
MODELS = """\
version: 1
models:
  scripted:
    kind: mock
    responses: ["No title here"]
    rules:
      - {contains: commas, response: "I write plainly\\n**Any other questions?**"}
      - {contains: lowercase, response: "all in lower case"}
  broken:
    kind: mock
    fail_every: 1
  echo:
    kind: mock
    echo: true
"""


def project(root: Path, missing: str = "zero") -> Path:
    (root / "suites").mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(MODELS)
    (root / "suites" / "if.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    suite = root / "suites" / "if.yaml"
    suite.write_text(textwrap.dedent(f"""\
        name: if
        version: 1
        case_format: ifeval
        cases: if.jsonl
        models: [scripted, broken, echo]
        scoring: {{missing: {missing}}}
        """))
    return suite


def run(suite: Path):
    return run_suite(suite, models_path=suite.parent.parent / "models.yaml", quiet=True, judge="none")


def test_ifeval_accuracies_strict_and_loose(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results, index = run(project(tmp_path))
    html, summary = index.read_text(), (index.parent / "summary.md").read_text()
    assert 'id="ifeval"' in html and "| scripted | 33.3% [" in summary
    answer = results["cases"][0]["answers"]["scripted"]
    verdicts = {c["id"]: (c["met"], c["met_loose"], c["source"]) for c in answer["criteria"]}
    # "**Any other questions?**" ends in '*': not followed as written, followed once the emphasis is removed.
    assert verdicts == {"punctuation:no_comma": (True, True, "check"),
                        "startend:end_checker": (False, True, "check")}
    figures = results["ifeval"]["scripted"]
    # Prompts: 1 fails strictly (end phrase), 2 passes, 3 fails (no title). Instructions: T F | T | F.
    assert {k: (v["accuracy"], v["n"]) for k, v in figures.items()} == {
        "prompt_strict": (pytest.approx(1 / 3), 3), "prompt_loose": (pytest.approx(2 / 3), 3),
        "instruction_strict": (pytest.approx(2 / 4), 4), "instruction_loose": (pytest.approx(3 / 4), 4)}
    assert figures["prompt_strict"]["excluded_prompts"] == 0 and figures["prompt_strict"]["instructions"] == 4
    rows = pd.DataFrame([("scripted", "1", True, True), ("scripted", "1", False, True), ("scripted", "2", True, True),
                         ("scripted", "3", False, False)], columns=["model", "case_id", "strict", "loose"])
    expected = ifeval_accuracy(rows, n_boot=N_BOOT, seed=SEED).set_index(["level", "mode"])
    assert figures["instruction_loose"]["ci"] == pytest.approx(
        [expected.loc[("instruction", "loose"), "ci_low"], expected.loc[("instruction", "loose"), "ci_high"]])
    # The score is the share of a prompt's instructions followed strictly, averaged: (1/2 + 1 + 0) / 3.
    assert results["models"][0]["score"] == pytest.approx(0.5)
    assert results["models"][0]["axes"]["instruction_following"]["score"] == pytest.approx(0.5)
    # Unanswered prompts count as not followed (scoring.missing: zero), like the score.
    broken = results["ifeval"]["broken"]
    assert {k: (v["accuracy"], v["excluded_prompts"]) for k, v in broken.items()} == {
        k: (0.0, 0) for k in ("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose")}
    # An answer that only echoes the prompt is flagged and meets nothing, strictly or loosely (the echo of
    # prompt 2 is not in lowercase anyway: "user: Describe ...").
    echo = results["cases"][0]["answers"]["echo"]
    assert "prompt_echo" in echo["flags"]
    assert {(c["met"], c["met_loose"], c["source"]) for c in echo["criteria"]} == {(False, None, "flag")}
    assert results["ifeval"]["echo"]["instruction_loose"]["accuracy"] == 0.0
    assert results["judge"]["id"] is None


def test_unanswered_prompts_are_left_out_and_counted_when_the_suite_excludes_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results, _ = run(project(tmp_path, missing="exclude"))
    broken = results["ifeval"]["broken"]["prompt_strict"]
    assert broken["accuracy"] is None and broken["excluded_prompts"] == 3
    assert broken["reason"] == "no prompt with every instruction graded"
    assert results["ifeval"]["scripted"]["prompt_loose"]["accuracy"] == pytest.approx(2 / 3)


def test_no_ifeval_section_for_other_formats(mock_project):
    results, _ = run_suite(mock_project, models_path=mock_project.parent.parent / "models.yaml", quiet=True,
                           judge="none")
    assert results["ifeval"] is None
    assert all(c["met_loose"] is None for c in results["cases"][0]["answers"]["good"]["criteria"])
