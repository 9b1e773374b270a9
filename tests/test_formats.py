"""Readers for the public formats, on the real samples in shared/data and on malformed rows."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from harness.checks import run
from harness.errors import ConfigError
from harness.formats import alpaca_case_id, read_alpaca_eval, read_arena_hard, read_ifeval, read_mtbench

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not DATA.exists():
    DATA = Path("/work/shared/data")


def write_rows(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


# ---------------------------------------------------------------- IFEval

def test_ifeval_sample():
    prompts = read_ifeval(DATA / "ifeval_sample.jsonl")
    assert len(prompts) == 60
    first = prompts[0]
    assert first.case_id == "3414" and first.line == 1
    assert first.prompt.startswith('Can you elaborate on "I froze when I was jogging"?')
    # The same instruction twice in one prompt: criterion ids stay unique.
    assert [i.criterion_id for i in first.instructions] == ["change_case:capital_word_frequency",
                                                            "change_case:capital_word_frequency#2"]
    assert [i.kwargs for i in first.instructions] == [{"capital_relation": "at least", "capital_frequency": 5},
                                                      {"capital_relation": "less than", "capital_frequency": 11}]
    assert first.instructions[1].spec.capital_frequency == 11
    assert sum(len(p.instructions) for p in prompts) == 95
    assert len({p.case_id for p in prompts}) == 60
    counts = Counter(i.instruction_id for p in prompts for i in p.instructions)
    assert counts["detectable_format:number_highlighted_sections"] == 8 and counts["punctuation:no_comma"] == 7
    # The specs run as they are.
    shout = "I FROZE WHEN I WAS JOGGING, SO COLD AND TIRED"  # 10 capital words
    assert [run(i.spec, shout).met for i in first.instructions] == [True, True]


IFEVAL_ROW = {"key": 1000, "prompt": "Write a haiku.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}


def ifeval_error(tmp_path, second_row) -> str:
    path = write_rows(tmp_path / "input_data.jsonl", [IFEVAL_ROW, second_row])
    with pytest.raises(ConfigError) as info:
        read_ifeval(path)
    return str(info.value).removeprefix(str(tmp_path) + "/")


def test_ifeval_errors_name_row_and_key(tmp_path):
    row = {**IFEVAL_ROW, "key": 1001}
    assert ifeval_error(tmp_path, {**row, "instruction_id_list": ["punctuation:no_comma", "punctuation:no_coma"],
                                   "kwargs": [{}, {}]}) == \
        "input_data.jsonl:2: instruction_id_list.1: unknown instruction id 'punctuation:no_coma' " \
        "(did you mean 'punctuation:no_comma'?)"
    # bench's own checks are not IFEval instructions
    assert "unknown instruction id 'regex'" in ifeval_error(tmp_path, {**row, "instruction_id_list": ["regex"]})
    assert ifeval_error(tmp_path, {**row, "instruction_id_list": ["detectable_format:number_highlighted_sections"],
                                   "kwargs": [{"num_highlights": "three"}]}).startswith(
        "input_data.jsonl:2: kwargs.0.num_highlights: Input should be a valid integer")
    assert ifeval_error(tmp_path, {**row, "kwargs": [{"num_words": 5}]}) == \
        "input_data.jsonl:2: kwargs.0.num_words: unknown key"
    assert ifeval_error(tmp_path, {**row, "instruction_id_list": ["keywords:frequency"],
                                   "kwargs": [{"keyword": "a", "frequency": 2}]}) == \
        "input_data.jsonl:2: kwargs.0.relation: missing required field"
    assert ifeval_error(tmp_path, {**row, "kwargs": []}) == "input_data.jsonl:2: kwargs: 0 kwargs for 1 instructions"
    assert ifeval_error(tmp_path, {**row, "key": 1000}) == "input_data.jsonl:2: key: duplicate key 1000 (first on line 1)"
    assert ifeval_error(tmp_path, {"key": 1001, "instruction_id_list": [], "kwargs": []}) == \
        "input_data.jsonl:2: prompt: missing required field"
    assert ifeval_error(tmp_path, "{\"key\": 1001,") == "input_data.jsonl:2: invalid JSON: Expecting property name " \
                                                       "enclosed in double quotes (column 14)"
    assert ifeval_error(tmp_path, [1, 2]) == "input_data.jsonl:2: expected a JSON object"


def test_ifeval_export_with_null_kwargs_reads_like_the_original(tmp_path):
    # Exports that give every instruction every kwarg, null where unused, read the same.
    row = {"key": 7, "prompt": "p", "instruction_id_list": ["punctuation:no_comma", "keywords:existence"],
           "kwargs": [{"keywords": None, "num_words": None}, {"keywords": ["tea"], "num_words": None}]}
    [prompt] = read_ifeval(write_rows(tmp_path / "hf.jsonl", [row]))
    assert [i.kwargs for i in prompt.instructions] == [{}, {"keywords": ["tea"]}]
    with pytest.raises(ConfigError, match="no prompts in the file"):
        read_ifeval(write_rows(tmp_path / "empty.jsonl", []))
    with pytest.raises(ConfigError, match=r"nothere\.jsonl: IFEval file not found"):
        read_ifeval(tmp_path / "nothere.jsonl")


# ---------------------------------------------------------------- MT-bench

def test_mtbench_sample_with_references():
    questions = read_mtbench(DATA / "mtbench_sample_questions.jsonl", DATA / "mtbench_sample_reference_gpt-4.jsonl")
    assert len(questions) == 20
    assert all(len(q.turns) == 2 for q in questions)
    assert Counter(q.category for q in questions) == {
        "writing": 2, "roleplay": 2, "reasoning": 3, "math": 3, "coding": 3, "extraction": 3, "stem": 2,
        "humanities": 2}
    by_id = {q.question_id: q for q in questions}
    assert by_id[81].case_id == "81" and by_id[81].references == (None, None) and by_id[81].reference_notes is None
    assert by_id[101].references[0] == ("If you have just overtaken the second person, your current position is now "
                                        "second place. The person you just overtook is now in third place.")
    assert by_id[101].reference_notes == ("You are in second place.", "Uncertain.")
    assert by_id[103].reference_notes == ("Thomas may work at a hospital.", None)  # "" means none
    assert sum(q.references != (None, None) for q in questions) == 9
    without = read_mtbench(DATA / "mtbench_sample_questions.jsonl")
    assert all(q.references is None for q in without)


def test_mtbench_errors(tmp_path):
    good = {"question_id": 81, "category": "writing", "turns": ["a", "b"]}
    questions = write_rows(tmp_path / "question.jsonl", [good])
    for rows, expected in [
        ([good, {**good}], "question.jsonl:2: question_id: duplicate question_id 81 (first on line 1)"),
        ([{**good, "turns": []}], "question.jsonl:1: turns: List should have at least 1 item after validation, not 0"),
        ([{**good, "turns": ["a", " "]}], "question.jsonl:1: turns: turn 2 is empty"),
        ([{"question_id": "x", "category": "c", "turns": ["a"]}], "question.jsonl:1: question_id: Input should be a "
                                                                 "valid integer, unable to parse string as an integer"),
        ([{**good, "reference": ["1", "2", "3"]}], "question.jsonl:1: reference: 3 references for 2 turns"),
    ]:
        with pytest.raises(ConfigError) as info:
            read_mtbench(write_rows(tmp_path / "question.jsonl", rows))
        assert str(info.value) == f"{tmp_path}/{expected}"
    questions = write_rows(tmp_path / "question.jsonl", [good])
    ref = {"question_id": 81, "model_id": "gpt-4", "choices": [{"index": 0, "turns": ["r1", ""]}]}
    [q] = read_mtbench(questions, write_rows(tmp_path / "ref.jsonl", [ref]))
    assert q.references == ("r1", None)
    for rows, expected in [
        ([{**ref, "question_id": 99}], "ref.jsonl:1: question_id: question_id 99 is not in the questions file"),
        ([ref, ref], "ref.jsonl:2: question_id: duplicate question_id 81 (first on line 1)"),
        ([{**ref, "choices": []}], "ref.jsonl:1: choices: List should have at least 1 item after validation, not 0"),
        ([{**ref, "choices": [{"turns": ["a", "b", "c"]}]}], "ref.jsonl:1: choices.0.turns: 3 reference turns for a "
                                                             "question of 2"),
    ]:
        with pytest.raises(ConfigError) as info:
            read_mtbench(questions, write_rows(tmp_path / "ref.jsonl", rows))
        assert str(info.value) == f"{tmp_path}/{expected}"


# ---------------------------------------------------------------- Arena-Hard

def test_arena_hard_sample():
    questions = read_arena_hard(DATA / "arena_hard_sample_questions.jsonl")
    assert len(questions) == 20
    assert questions[0].case_id == "caffbac7eed64aa9" and questions[0].subcategory == "coding"
    assert questions[0].prompt.startswith("Given a postgres table with id, name, parent_id and rank.")
    assert Counter(q.category for q in questions) == {"hard_prompt": 10, "creative_writing": 10}
    assert Counter(q.subcategory for q in questions) == {"coding": 7, "math": 3, "creative_writing": 10}


def test_arena_hard_errors(tmp_path):
    good = {"uid": "a1", "category": "hard_prompt", "subcategory": "math", "prompt": "Prove it."}
    for rows, expected in [
        ([good, good], "q.jsonl:2: uid: duplicate uid a1 (first on line 1)"),
        ([{k: v for k, v in good.items() if k != "subcategory"}], "q.jsonl:1: subcategory: missing required field"),
        ([{**good, "prompt": ""}], "q.jsonl:1: prompt: String should have at least 1 character"),
    ]:
        with pytest.raises(ConfigError) as info:
            read_arena_hard(write_rows(tmp_path / "q.jsonl", rows))
        assert str(info.value) == f"{tmp_path}/{expected}"


# ---------------------------------------------------------------- AlpacaEval

ALPACA_ROWS = [
    {"instruction": "What are the names of some famous actors?", "output": "Tom Hanks, Meryl Streep.",
     "generator": "gpt4_1106_preview", "dataset": "helpful_base"},
    {"instruction": "How do I make tea?", "output": "Boil water, steep the leaves.",
     "generator": "gpt4_1106_preview", "dataset": "koala"},
]


def test_alpaca_eval_json_list_and_jsonl(tmp_path):
    as_list = tmp_path / "alpaca_eval.json"
    as_list.write_text(json.dumps(ALPACA_ROWS, indent=4), encoding="utf-8")
    rows = read_alpaca_eval(as_list)
    assert [(r.instruction, r.reference, r.generator, r.dataset) for r in rows] == [
        (r["instruction"], r["output"], r["generator"], r["dataset"]) for r in ALPACA_ROWS]
    assert [r.line for r in rows] == [2, 8]  # where each object starts in the indented list
    assert rows[0].case_id == alpaca_case_id(ALPACA_ROWS[0]["instruction"]) == "ae-" + \
        __import__("hashlib").sha256(ALPACA_ROWS[0]["instruction"].encode()).hexdigest()[:16]
    assert [r.case_id for r in read_alpaca_eval(write_rows(tmp_path / "a.jsonl", ALPACA_ROWS))] == \
        [r.case_id for r in rows]


def test_alpaca_eval_errors(tmp_path):
    bad = tmp_path / "alpaca_eval.json"
    bad.write_text(json.dumps([ALPACA_ROWS[0], {"instruction": "x"}], indent=2), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alpaca_eval\.json:8: output: missing required field"):
        read_alpaca_eval(bad)
    bad.write_text(json.dumps([ALPACA_ROWS[0], ALPACA_ROWS[0]]), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alpaca_eval\.json:1: instruction: duplicate instruction \(first on line 1\)"):
        read_alpaca_eval(bad)
    bad.write_text('[\n{"instruction": "a", "output": "b"},\n{"instruction": "c" "output": "d"}\n]', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alpaca_eval\.json:3: invalid JSON: Expecting ',' delimiter"):
        read_alpaca_eval(bad)
    bad.write_text('[{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"}]', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alpaca_eval\.json:2: invalid JSON: expected ',' or '\]'"):
        read_alpaca_eval(bad)


def test_a_byte_order_mark_is_not_part_of_the_first_row(tmp_path):
    path = tmp_path / "q.jsonl"
    row = {"uid": "a1", "category": "c", "subcategory": "s", "prompt": "p"}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(row).encode() + b"\n")
    assert read_arena_hard(path)[0].case_id == "a1"
