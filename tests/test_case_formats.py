"""Case formats: IFEval, MT-bench, Arena-Hard and AlpacaEval rows become cases (the bundled samples as they are), and
every bad row or suite key stops the suite with one line naming the file, the row and the key."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from harness.case_formats import IFEVAL_AXIS, load_alpaca_eval, load_arena_hard, load_ifeval, load_mtbench
from harness.cli import main
from harness.config import load_models, load_suite
from harness.errors import ConfigError
from harness.formats import alpaca_case_id

REPO = Path(__file__).resolve().parents[1]
SUITES = REPO / "suites"
SHARED = REPO.parent / "shared" / "data"
if not SHARED.exists():
    SHARED = Path("/work/shared/data")


def write_rows(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("bundled, shared", [
    ("ifeval-sample.jsonl", "ifeval_sample.jsonl"),
    ("mtbench-sample.jsonl", "mtbench_sample_questions.jsonl"),
    ("mtbench-sample-reference-gpt-4.jsonl", "mtbench_sample_reference_gpt-4.jsonl"),
    ("arena-hard-sample.jsonl", "arena_hard_sample_questions.jsonl"),
    ("arena-hard-sample-answers-o3-mini-2025-01-31.jsonl", "arena_hard_sample_answers_o3-mini-2025-01-31.jsonl"),
    ("arena-hard-sample-answers-gemini-2.0-flash-001.jsonl", "arena_hard_sample_answers_gemini-2.0-flash-001.jsonl"),
])
def test_bundled_samples_are_the_public_rows_unchanged(bundled, shared):
    if (SHARED / shared).exists():
        assert (SUITES / bundled).read_bytes() == (SHARED / shared).read_bytes()
    licence = {"ifeval": "IFEVAL_LICENSE", "mtbench": "MTBENCH_LICENSE", "arena": "ARENA_HARD_LICENSE"}
    note = (SUITES / next(v for k, v in licence.items() if bundled.startswith(k))).read_text()
    assert "Apache License, Version 2.0" in note and f"suites/{bundled.split('-answers-')[0].removesuffix('.jsonl')}" \
        in note


def test_ifeval_rows_become_cases_whose_criteria_are_the_instructions():
    cases = load_ifeval(SUITES / "ifeval-sample.jsonl")
    assert len(cases) == 60 and sum(len(c.criteria) for c in cases) == 95
    first = cases[0]
    assert first.id == "3414" and first.turns == [] and first.reference is None
    assert first.chat() == [{"role": "user", "content": first.messages[0].content}]
    assert first.messages[0].content.startswith('Can you elaborate on "I froze when I was jogging"?')
    assert [c.id for c in first.criteria] == ["change_case:capital_word_frequency",
                                              "change_case:capital_word_frequency#2"]
    assert {c.axis for c in cases[0].criteria} == {IFEVAL_AXIS} and {c.points for c in first.criteria} == {1}
    assert first.criteria[1].check.type == "change_case:capital_word_frequency"
    assert first.criteria[1].check.capital_frequency == 11 and first.criteria[1].check.capital_relation == "less than"
    assert first.criteria[0].text == ("change_case:capital_word_frequency (capital_relation='at least', "
                                      "capital_frequency=5)")


def test_mtbench_questions_keep_both_turns_the_category_and_per_turn_references():
    cases = load_mtbench(SUITES / "mtbench-sample.jsonl", SUITES / "mtbench-sample-reference-gpt-4.jsonl")
    assert len(cases) == 20 and all(c.n_turns == 2 for c in cases)
    writing = cases[0]
    assert writing.id == "81" and writing.tags == ["writing"]
    assert writing.messages[0].content.startswith("Compose an engaging travel blog post about a recent trip to Hawaii")
    assert writing.turns == ["Rewrite your previous response. Start every sentence with the letter A."]
    assert writing.reference is None and writing.turn_references == [None, None]  # no reference for writing
    math = next(c for c in cases if c.id == "101")
    assert math.tags == ["reasoning"]
    assert math.reference.startswith("If you have just overtaken the second person")
    assert math.turn_references[0] == math.reference
    assert math.turn_references[1].startswith("If you have just overtaken the last person")
    assert sum(c.reference is not None for c in cases) == 9
    # Without a references file there are none.
    assert all(c.turn_references is None and c.reference is None for c in load_mtbench(SUITES / "mtbench-sample.jsonl"))


def test_arena_hard_questions_tag_category_and_subcategory():
    cases = load_arena_hard(SUITES / "arena-hard-sample.jsonl")
    assert len(cases) == 20
    assert cases[0].id == "caffbac7eed64aa9" and cases[0].tags == ["hard_prompt", "coding"]
    assert cases[0].messages[0].content.startswith("Given a postgres table with id, name, parent_id and rank.")
    assert sum(c.tags[0] == "creative_writing" for c in cases) == 10
    assert cases[0].meta == {"format": "arena-hard", "category": "hard_prompt", "subcategory": "coding"}


def test_alpaca_eval_instructions_carry_the_reference_output(tmp_path):
    path = tmp_path / "alpaca_eval.json"
    path.write_text(json.dumps([
        {"instruction": "How do I make tea?", "output": "Boil water, steep the leaves.", "generator": "gpt4_1106",
         "dataset": "koala"},
        {"instruction": "Name a colour.", "output": "Blue.", "generator": "gpt4_1106", "dataset": "selfinstruct"},
    ], indent=2), encoding="utf-8")
    cases = load_alpaca_eval(path)
    assert [c.id for c in cases] == [alpaca_case_id("How do I make tea?"), alpaca_case_id("Name a colour.")]
    assert cases[0].reference == "Boil water, steep the leaves." and cases[0].tags == ["koala"]
    assert cases[0].chat() == [{"role": "user", "content": "How do I make tea?"}]
    assert cases[1].meta == {"format": "alpaca-eval", "generator": "gpt4_1106", "dataset": "selfinstruct"}


def suite_project(tmp_path: Path, case_format: str, cases_file: str, rows: list | None = None,
                  extra: str = "") -> Path:
    (tmp_path / "suites").mkdir(exist_ok=True)
    if rows is not None:
        write_rows(tmp_path / "suites" / cases_file, rows)
    (tmp_path / "models.yaml").write_text("version: 1\nmodels:\n  m:\n    kind: mock\n")
    suite = tmp_path / "suites" / "s.yaml"
    suite.write_text(textwrap.dedent(f"""\
        name: s
        version: 1
        case_format: {case_format}
        cases: {cases_file}
        models: [m]
        """) + extra)
    return suite


def suite_error(suite: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_suite(suite, load_models(suite.parent.parent / "models.yaml"))
    return str(info.value).replace(str(suite.parent) + "/", "")


@pytest.mark.parametrize("case_format, rows, expected", [
    ("ifeval", [{"key": 1, "prompt": "Hi.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
                {"key": 2, "prompt": "Hi.", "instruction_id_list": ["keywords:frequency"],
                 "kwargs": [{"keyword": "tea", "frequency": 2, "relation": "about"}]}],
     "c.jsonl:2: kwargs.0.relation: Input should be 'less than' or 'at least'"),
    ("ifeval", [{"key": 1, "prompt": "Hi.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
                {"key": 1, "prompt": "Again.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}],
     "c.jsonl:2: key: duplicate key 1 (first on line 1)"),
    ("mtbench", [{"question_id": 1, "category": "writing", "turns": ["a", "b"]},
                 {"question_id": 2, "category": "writing", "turns": ["a", "  "]}],
     "c.jsonl:2: turns: turn 2 is empty"),
    ("arena-hard", [{"uid": "u1", "category": "hard_prompt", "subcategory": "coding", "prompt": "p"},
                    {"uid": "u2", "category": "hard_prompt", "prompt": "p"}],
     "c.jsonl:2: subcategory: missing required field"),
    ("alpaca-eval", [{"instruction": "i", "output": "o"}, {"instruction": "", "output": "o"}],
     "c.jsonl:2: instruction: String should have at least 1 character"),
])
def test_a_bad_row_names_file_row_and_key(tmp_path, case_format, rows, expected):
    assert suite_error(suite_project(tmp_path, case_format, "c.jsonl", rows)) == expected


def test_references_are_read_by_mtbench_only_and_checked(tmp_path):
    rows = [{"question_id": 1, "category": "math", "turns": ["2+2?", "and 3+3?"]}]
    suite = suite_project(tmp_path, "mtbench", "q.jsonl", rows, extra="references: refs.jsonl\n")
    assert suite_error(suite) == "s.yaml:6: references: references file not found: refs.jsonl"
    write_rows(tmp_path / "suites" / "refs.jsonl", [{"question_id": 2, "choices": [{"turns": ["4", "6"]}]}])
    assert suite_error(suite) == "refs.jsonl:1: question_id: question_id 2 is not in the questions file"
    write_rows(tmp_path / "suites" / "refs.jsonl", [{"question_id": 1, "choices": [{"turns": ["4", "6"]}]}])
    (case,) = load_suite(suite).cases
    assert (case.reference, case.turn_references, case.turns) == ("4", ["4", "6"], ["and 3+3?"])
    other = suite_project(tmp_path, "arena-hard", "a.jsonl",
                          [{"uid": "u", "category": "c", "subcategory": "s", "prompt": "p"}],
                          extra="references: refs.jsonl\n")
    assert suite_error(other) == ("s.yaml:6: references: 'references' is read only by case_format mtbench (this "
                                  "suite's is arena-hard)")


def test_unknown_case_format_lists_the_known_ones(tmp_path):
    message = suite_error(suite_project(tmp_path, "mt-bench", "c.jsonl", []))
    assert message.startswith("s.yaml:3: case_format: Input should be 'bench', 'healthbench', 'ifeval', 'mtbench', "
                              "'arena-hard' or 'alpaca-eval'")


def test_a_criterion_turn_must_exist(tmp_path):
    rows = [{"id": "c1", "messages": [{"role": "user", "content": "hi"}], "turns": ["more"],
             "criteria": [{"id": "k", "text": "t", "points": 1, "axis": "a", "turn": 3}]}]
    suite = suite_project(tmp_path, "bench", "c.jsonl", rows)
    assert suite_error(suite) == "c.jsonl:1: criteria.0.turn: turn 3 of a case with 2"
    rows[0]["criteria"][0]["turn"] = 2
    rows[0]["turns"] = ["more", " "]
    write_rows(tmp_path / "suites" / "c.jsonl", rows)
    assert suite_error(suite) == "c.jsonl:1: turns.1: a user turn must not be empty"
    rows[0]["turns"] = ["more"]
    rows[0]["criteria"] = []
    write_rows(tmp_path / "suites" / "c.jsonl", rows)
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "r.yaml").write_text(
        "name: r\nversion: 1\naxes: [a]\ncriteria:\n  - {id: second, text: t, points: 1, axis: a, turn: 3}\n")
    suite.write_text(suite.read_text() + "rubric: r\n")
    assert suite_error(suite) == ("c.jsonl: case 'c1' has 2 turn(s), and rubric criterion 'second' grades turn 3 "
                                  "(limit it with applies_to)")


def test_bundled_sample_suites_load_and_list(capsys, monkeypatch):
    models = load_models(REPO / "models.yaml")
    counts = {name: len(load_suite(SUITES / f"{name}.yaml", models).cases)
              for name in ("ifeval-sample", "mtbench-sample", "arena-hard-sample", "alpaca-eval-format-sample")}
    assert counts == {"ifeval-sample": 60, "mtbench-sample": 20, "arena-hard-sample": 20,
                      "alpaca-eval-format-sample": 20}
    ifeval = load_suite(SUITES / "ifeval-sample.yaml", models).suite
    assert ifeval.judge is None and ifeval.models == ["smollm2-135m", "gemma3-270m"]
    monkeypatch.chdir(REPO)
    assert main(["suites"]) == 0
    listed = capsys.readouterr().out
    assert "ifeval-sample" in listed and "mtbench-sample" in listed and "arena-hard-sample" in listed


def test_the_leakage_check_reads_the_public_formats():
    from harness.leakage import load_eval_cases

    cases = {(c.suite, c.case_id): c for c in load_eval_cases(SUITES)}
    mt = cases[("mtbench-sample", "81")]
    assert "Compose an engaging travel blog post" in mt.user_text and "Start every sentence with the letter A." in mt.user_text
    assert cases[("ifeval-sample", "3414")].user_text.startswith('Can you elaborate on "I froze when I was jogging"?')
    assert ("arena-hard-sample", "caffbac7eed64aa9") in cases
