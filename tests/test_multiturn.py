"""Multi-turn cases asked live: turn 2 is sent after the model's own answer to turn 1 (an echoing mock proves what it
was sent), both turns are stored and shown, criteria grade the last turn unless they name one, a failed turn ends
the conversation, and the single-turn path is untouched."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

from harness.adapters import mock
from harness.adapters.base import GenerationSettings
from harness.adapters.mock import MockAdapter, MockOptions
from harness.results.model import Results
from harness.store import Store, request_key
from tests.helpers.runs import run_suite

QUESTIONS = [
    {"question_id": 1, "category": "math", "turns": ["What is 2+2?", "Now double it."]},
    {"question_id": 2, "category": "writing", "turns": ["Write one word.", "Now write two words."]},
]
REFERENCES = [{"question_id": 1, "choices": [{"turns": ["4", "8"]}]}]


def project(root: Path, models: str, *, case_format: str = "mtbench", cases: list | None = None,
            extra: str = "", model_ids: str = "[echo]") -> Path:
    (root / "suites").mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text("version: 1\nmodels:\n" + textwrap.indent(textwrap.dedent(models), "  "))
    rows = QUESTIONS if cases is None else cases
    (root / "suites" / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "suites" / "refs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in REFERENCES))
    suite = root / "suites" / "mt.yaml"
    suite.write_text(textwrap.dedent(f"""\
        name: mt
        version: 1
        case_format: {case_format}
        cases: q.jsonl
        models: {model_ids}
        system_prompt: Be brief.
        """) + ("references: refs.jsonl\n" if case_format == "mtbench" else "") + extra)
    return suite


def run(suite: Path, **kw):
    return run_suite(suite, models_path=suite.parent.parent / "models.yaml", quiet=True,
                     store_path=suite.parent.parent / ".bench" / "bench.sqlite",
                     reports_dir=suite.parent.parent / "reports", **kw)


ECHO = """\
    echo:
      kind: mock
      echo: true
    """


def test_turn_two_is_sent_after_the_models_own_turn_one_answer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mock.CALLS.clear()
    results, index = run(project(tmp_path, ECHO))
    assert mock.CALLS["echo"] == 4  # two cases, two turns each
    case = results["cases"][0]
    answer = case["answers"]["echo"]
    first = "system: Be brief.\nuser: What is 2+2?"
    # The echo of turn 1 is the model's own answer; turn 2 is asked with it in the conversation.
    second = f"system: Be brief.\nuser: What is 2+2?\nassistant: {first}\nuser: Now double it."
    assert [t["text"] for t in answer["turns"]] == [first, second]
    assert [t["turn"] for t in answer["turns"]] == [1, 2]
    assert answer["text"] == second and answer["error"] is None
    assert case["messages"] == [{"role": "user", "content": "What is 2+2?"}]
    assert case["turns"] == [{"turn": 2, "prompt": "Now double it.", "reference": "8"}]
    assert case["reference"] == "4" and case["tags"] == ["math"]
    assert results["cases"][1]["turns"] == [{"turn": 2, "prompt": "Now write two words.", "reference": None}]
    model = results["models"][0]
    assert model["answered"] == 2 and model["errors"] == 0
    assert model["latency"]["calls"] == 4 and model["latency"]["measured"] is True  # one call per turn
    html = index.read_text()  # both turns are shown, with the later user turn and its reference
    assert "Turn 1</strong>" in html and "Turn 2</strong>" in html and "user, turn 2" in html
    assert "Reference (turn 2)" in html and "assistant: system: Be brief." in html
    # The same command again: every turn comes from the cache.
    mock.CALLS.clear()
    again, _ = run(project(tmp_path, ECHO))
    assert mock.CALLS["echo"] == 0 and again["generation"]["cached"] == 4
    assert again["cases"][0]["answers"]["echo"]["turns"] == answer["turns"]


def test_criteria_grade_the_last_turn_unless_they_name_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = [{"id": "c1", "messages": [{"role": "user", "content": "alpha"}], "turns": ["beta"],
              "criteria": [
                  # The echo of turn 2 holds both prompts; the echo of turn 1 holds only the first.
                  {"id": "last-has-beta", "text": "t", "points": 1, "axis": "a",
                   "check": {"type": "contains", "phrases": ["user: beta"]}},
                  {"id": "first-has-beta", "text": "t", "points": 1, "axis": "a", "turn": 1,
                   "check": {"type": "contains", "phrases": ["user: beta"]}},
                  {"id": "first-has-alpha", "text": "t", "points": 2, "axis": "a", "turn": 1,
                   "check": {"type": "contains", "phrases": ["user: alpha"]}},
                  # A check that reads the prompt compares with the prompt of the turn it grades.
                  {"id": "repeats-turn-1", "text": "t", "points": 1, "axis": "a", "turn": 1,
                   "check": {"type": "combination:repeat_prompt"}},
                  {"id": "repeats-turn-2", "text": "t", "points": 1, "axis": "a",
                   "check": {"type": "combination:repeat_prompt"}},
              ]}]
    models = ECHO.rstrip(" ") + """\
    repeater:
      kind: mock
      responses: ["alpha, said again"]
      rules: [{contains: beta, response: "beta, said again"}]
    """
    results, _ = run(project(tmp_path, models, case_format="bench", cases=cases, model_ids="[echo, repeater]"))
    met = {mid: {c["id"]: c["met"] for c in answer["criteria"]}
           for mid, answer in results["cases"][0]["answers"].items()}
    assert met["echo"] == {"last-has-beta": True, "first-has-beta": False, "first-has-alpha": True,
                           "repeats-turn-1": False, "repeats-turn-2": False}
    assert met["repeater"] == {"last-has-beta": False, "first-has-beta": False, "first-has-alpha": False,
                               "repeats-turn-1": True, "repeats-turn-2": True}
    repeater = results["cases"][0]["answers"]["repeater"]
    assert [t["text"] for t in repeater["turns"]] == ["alpha, said again", "beta, said again"]
    loose = {c["id"]: c["met_loose"] for c in repeater["criteria"]}
    assert loose["repeats-turn-1"] is True and loose["last-has-beta"] is None  # only IFEval checks have one
    scores = {m["id"]: m["score"] for m in results["models"]}
    assert scores == {"echo": pytest.approx(3 / 6), "repeater": pytest.approx(2 / 6)}


def test_a_failed_turn_ends_the_conversation_and_the_answer_fails(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    models = """\
        echo:
          kind: mock
          echo: true
          fail_every: 2
        """
    mock.CALLS.clear()
    results, _ = run(project(tmp_path, models))
    # Calls: case 1 turn 1 (ok), case 2 turn 1 (fails: 2nd call), case 1 turn 2 (ok); case 2's turn 2 is never asked.
    assert mock.CALLS["echo"] == 3
    ok, failed = (results["cases"][i]["answers"]["echo"] for i in (0, 1))
    assert ok["error"] is None and len(ok["turns"]) == 2
    assert failed["error"] == "turn 1 of 2 failed: scripted failure (turn 2 was not asked)"
    assert failed["text"] == "" and [t["error"] for t in failed["turns"]] == ["scripted failure"]
    model = results["models"][0]
    assert (model["cases"], model["answered"], model["errors"]) == (2, 1, 1)
    assert model["latency"]["calls"] == 3 and model["latency"]["failed"] == 1


def test_a_failed_second_turn_fails_the_answer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    models = """\
        echo:
          kind: mock
          echo: true
          fail_every: 3
        """
    results, _ = run(project(tmp_path, models))
    # Calls in order: turn 1 of both cases, then turn 2 of case 1 (the third call) fails.
    failed = results["cases"][0]["answers"]["echo"]
    assert failed["error"] == "turn 2 of 2 failed: scripted failure"
    assert [t["error"] for t in failed["turns"]] == [None, "scripted failure"]
    assert results["cases"][1]["answers"]["echo"]["error"] is None


def test_single_turn_answers_keep_their_path_and_cache_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = [{"id": "only", "messages": [{"role": "user", "content": "hello"}]}]
    suite = project(tmp_path, ECHO, case_format="bench", cases=cases)
    results, _ = run(suite)
    answer = results["cases"][0]["answers"]["echo"]
    assert answer["turns"] == [] and results["cases"][0]["turns"] == []
    store = Store(tmp_path / ".bench" / "bench.sqlite")
    try:
        (stored,) = store.answers(results["run_id"])
    finally:
        store.close()
    with sqlite3.connect(tmp_path / ".bench" / "bench.sqlite") as db:
        keys = [key for (key,) in db.execute("SELECT key FROM answers")]
    adapter = MockAdapter("echo", MockOptions(echo=True))
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}]
    # The key every earlier bench computed for this answer: no turn in it.
    assert keys == [request_key(adapter.fingerprint(), "answer", messages, GenerationSettings().key_dict(),
                                {"schema": None, "extra": {"case": "only"}})]
    assert stored.turns == [] and stored.completion.text == "system: Be brief.\nuser: hello"


def test_score_mode_scores_each_turn_with_its_own_conversation_and_reference(tmp_path, monkeypatch):
    """MT-bench scores each turn: the judge sees turn 2's answer after turn 2's question (the model's own turn-1
    answer in the conversation) and turn 2's reference, and the answer's score is the mean over its turns."""
    monkeypatch.chdir(tmp_path)
    suite = project(tmp_path, ECHO.rstrip(" ") + """\
    judge:
      kind: mock
      grade_keyword: double
    """, extra="judge: judge\njudging: {mode: [score], adversarial: 0}\n")
    results = Results.model_validate(run(suite)[0])
    scores = results.models[0].judge_scores
    # The echoing model's turn-2 answer of question 1 holds "Now double it." (9); every other answer scores 3.
    assert scores.turns["turn 1"].score == pytest.approx(3.0)
    assert scores.turns["turn 2"].score == pytest.approx(6.0) and scores.turns["turn 2"].n == 2
    assert scores.overall.score == pytest.approx(((3 + 9) / 2 + 3) / 2)
    assert "turn 1" not in scores.axes
    # per category (a tag): question 1 is math (mean of turns 3 and 9), question 2 writing (3 and 3)
    assert scores.tags["math"].score == pytest.approx(6.0) and scores.tags["math"].n == 1
    assert scores.tags["writing"].score == pytest.approx(3.0)
    (row,) = next(c for c in results.cases if c.id == "1").answers["echo"].judge_scores
    assert row.scores == {"overall": 6.0, "turn 1": 3.0, "turn 2": 9.0}
    sent = [json.loads(r[0]) for r in sqlite3.connect(tmp_path / ".bench" / "bench.sqlite").execute(
        "SELECT request FROM generations WHERE stage = 'score'")]
    prompts = [m["content"] for request in sent for m in request["messages"] if m["role"] == "user"]
    assert len(prompts) == 4  # two questions x two turns
    turn_two = [p for p in prompts if "Now double it." in p.split("Response", 1)[0]]
    assert len(turn_two) == 1 and "8" in turn_two[0] and "What is 2+2?" in turn_two[0]
    page = (tmp_path / "reports" / "mt" / results.run_id / "index.html").read_text()
    section = page.split('id="judge-scores"', 1)[1].split("</section>", 1)[0]
    assert "Turn 1" in section and "Turn 2" in section and "6.0" in section and "math" in section
