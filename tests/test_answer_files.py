"""Answer files: bench's JSONL, Arena-Hard model_answer rows, AlpacaEval output lists; missing, extra, malformed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from harness.answer_files import AnswerRecord, answer_summary, match_answers, read_answers
from harness.errors import ConfigError
from harness.formats import alpaca_case_id, read_arena_hard

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not DATA.exists():
    DATA = Path("/work/shared/data")


def write_rows(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_arena_hard_answers_of_two_real_models():
    questions = read_arena_hard(DATA / "arena_hard_sample_questions.jsonl")
    expected = [(q.case_id, 1) for q in questions]
    for model, first_tokens in [("o3-mini-2025-01-31", 687), ("gemini-2.0-flash-001", 1460)]:
        path = DATA / f"arena_hard_sample_answers_{model}.jsonl"
        answers = read_answers(path)
        assert answers.format == "arena-hard" and answers.models == [model] and answers.problems == []
        assert answers.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert len(answers.answers) == 20
        assert match_answers(answers, expected) == ([], [])
        first = answers.answers[("caffbac7eed64aa9", 1)]
        assert first.output_tokens == first_tokens and first.model == model and first.line == 1
        assert first.ttft_s is None and first.latency_s is None and first.input_tokens is None
    o3 = read_answers(DATA / "arena_hard_sample_answers_o3-mini-2025-01-31.jsonl")
    assert o3.answers[("caffbac7eed64aa9", 1)].text.startswith("One acceptable solution is to use a recursive common")


def test_bench_answers_with_timings(tmp_path):
    rows = [{"case_id": "a", "text": "one", "ttft_s": 0.2, "latency_s": 1.5, "output_tokens": 12, "input_tokens": 30},
            {"case_id": "b", "turn": 1, "text": ""},  # an empty answer is still an answer
            {"case_id": "b", "turn": 2, "text": "second turn"},
            {"case_id": 3414, "text": "an IFEval key written as a number"}]
    answers = read_answers(write_rows(tmp_path / "answers.jsonl", rows))
    assert answers.format == "bench" and answers.problems == [] and answers.models == []
    assert answers.answers[("a", 1)] == AnswerRecord("a", 1, "one", None, 0.2, 1.5, 12, 30, line=1)
    assert answers.answers[("b", 1)].text == "" and answers.answers[("b", 2)].text == "second turn"
    assert answers.answers[("3414", 1)].line == 4


def test_malformed_and_duplicate_rows_become_problems(tmp_path):
    rows = [{"case_id": "a", "text": "one"},
            "{not json",
            {"case_id": "b", "text": "two", "tokens": 5},
            {"case_id": "c", "text": None},
            {"case_id": "d", "text": "x", "latency_s": -1},
            {"case_id": "e", "turn": 0, "text": "x"},
            [1, 2],
            {"case_id": "a", "text": "one again"},
            {"case_id": "f", "text": "fine"}]
    answers = read_answers(write_rows(tmp_path / "answers.jsonl", rows))
    assert sorted(answers.answers) == [("a", 1), ("f", 1)]
    assert answers.answers[("a", 1)].text == "one"  # the first is kept
    where = str(tmp_path / "answers.jsonl")
    assert [str(p).removeprefix(where) for p in answers.problems] == [
        ":2: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        ":3: tokens: unknown key",
        ":4: text: Input should be a valid string",
        ":5: latency_s: Input should be greater than or equal to 0",
        ":6: turn: Input should be greater than or equal to 1",
        ":7: expected a JSON object",
        ":8: a second answer for case a turn 1 (first on line 1); the first is kept",
    ]
    assert [p.kind for p in answers.problems].count("duplicate") == 1
    assert answer_summary(answers) == {"format": "bench", "answers": 2, "problems": {"malformed": 6, "duplicate": 1},
                                       "models": []}
    error = answers.problems[1].error()
    assert isinstance(error, ConfigError) and (error.line, error.key) == (3, "tokens")


def test_missing_and_unknown_answers():
    answers = read_answers(DATA / "arena_hard_sample_answers_gemini-2.0-flash-001.jsonl")
    questions = read_arena_hard(DATA / "arena_hard_sample_questions.jsonl")
    expected = [(q.case_id, 1) for q in questions[:18]] + [("not-in-file", 1), ("caffbac7eed64aa9", 2)]
    missing, unknown = match_answers(answers, expected)
    assert missing == [("not-in-file", 1), ("caffbac7eed64aa9", 2)]
    assert unknown == [(q.case_id, 1) for q in questions[18:]]


def test_arena_hard_rows_that_break_the_format(tmp_path):
    good = {"uid": "u1", "ans_id": "x", "model": "m", "tstamp": 1.0, "metadata": {"token_len": 3},
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": {"answer": "a"}}]}
    rows = [good,
            {**good, "uid": "u2", "messages": [{"role": "user", "content": "q"},
                                               {"role": "assistant", "content": {"reasoning": "r"}}]},
            {**good, "uid": "u3", "messages": [{"role": "user", "content": "q"}]},
            {**good, "uid": "u4", "model": "other"},
            {**good, "uid": "u5", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                                               {"role": "user", "content": "q2"},
                                               {"role": "assistant", "content": {"answer": "a2"}}]}]
    answers = read_answers(write_rows(tmp_path / "m.jsonl", rows))
    assert sorted(answers.answers) == [("u1", 1), ("u4", 1), ("u5", 1), ("u5", 2)]
    assert answers.answers[("u5", 2)].text == "a2"
    assert answers.answers[("u5", 1)].output_tokens is None  # token_len is not per turn
    messages = [(p.line, p.key, p.message, p.kind) for p in answers.problems]
    assert messages[0] == (2, "messages.1.content.answer", "missing required field", "malformed")
    assert messages[1] == (3, "messages", "no assistant message", "malformed")
    assert messages[2] == (None, None, "answers of 2 models in one file: m, other", "mixed_models")


def test_alpaca_eval_outputs_match_the_evaluation_set(tmp_path):
    outputs = [{"instruction": "How do I make tea?", "output": "Boil water.", "generator": "my-model",
                "dataset": "koala", "datasplit": "eval"},
               {"instruction": "Name a colour.", "output": "Blue.", "generator": "my-model"}]
    path = tmp_path / "model_outputs.json"
    path.write_text(json.dumps(outputs, indent=2), encoding="utf-8")
    answers = read_answers(path)
    assert answers.format == "alpaca-eval" and answers.models == ["my-model"] and answers.problems == []
    record = answers.answers[(alpaca_case_id("How do I make tea?"), 1)]
    assert (record.text, record.model, record.line) == ("Boil water.", "my-model", 2)


def test_files_that_cannot_be_used_at_all(tmp_path):
    with pytest.raises(ConfigError, match=r"nothere\.jsonl: answers file not found"):
        read_answers(tmp_path / "nothere.jsonl")
    with pytest.raises(ConfigError, match=r"x\.jsonl:1: cannot tell the answer format"):
        read_answers(write_rows(tmp_path / "x.jsonl", [{"id": "a", "answer": "b"}]))
    with pytest.raises(ConfigError, match=r"x\.jsonl: no answers in the file"):
        read_answers(write_rows(tmp_path / "x.jsonl", []))
    # Every row broken: the first problem is the error.
    with pytest.raises(ConfigError, match=r"x\.jsonl:1: text: missing required field"):
        read_answers(write_rows(tmp_path / "x.jsonl", [{"case_id": "a"}, {"case_id": "b"}]))
    # A format given explicitly: rows of another format are malformed rows.
    answers = read_answers(write_rows(tmp_path / "x.jsonl", [{"case_id": "a", "text": "t"},
                                                             {"instruction": "i", "output": "o"}]), format="bench")
    assert [(p.line, p.key) for p in answers.problems] == [(2, "case_id")]


def test_fastchat_answers_as_mtbench_writes_them():
    # The MT-bench reference file is itself a FastChat answer file (GPT-4's answers).
    answers = read_answers(DATA / "mtbench_sample_reference_gpt-4.jsonl")
    assert answers.format == "fastchat" and answers.models == ["gpt-4"] and answers.problems == []
    assert len(answers.answers) == 18  # 9 questions, two turns each
    assert answers.answers[("101", 1)].text.startswith("If you have just overtaken the second person")
    assert answers.answers[("101", 2)].text.startswith("If you have just overtaken the last person")


def test_fastchat_turn_objects_and_broken_rows(tmp_path):
    rows = [{"question_id": "q1", "model_id": "m", "choices": [{"index": 0, "turns": [{"content": "a", "token_len": 4}]}]},
            {"question_id": "q2", "model_id": "m", "choices": []},
            {"question_id": "q3", "model_id": "m", "choices": [{"turns": [{"text": "x"}]}]}]
    answers = read_answers(write_rows(tmp_path / "m.jsonl", rows))
    assert answers.answers[("q1", 1)].output_tokens == 4 and answers.answers[("q1", 1)].text == "a"
    assert [(p.line, p.key) for p in answers.problems][0] == (2, "choices")
    assert (answers.problems[1].line, answers.problems[1].key, answers.problems[1].message) == \
        (3, "choices.0.turns.0", "expected a string or an object with a string 'content'")
