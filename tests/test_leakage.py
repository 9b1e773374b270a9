"""The train/eval overlap check: planted copies and paraphrases of eval cases are refused, honest examples kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.leakage import (EvalCase, classify, features, filter_leaked, find_leaks, load_chat_jsonl,
                             load_eval_cases, main, normalize)

ROOT = Path(__file__).resolve().parents[1]

CASE = ("I'm 58 and for the last 20 minutes I've had a crushing pain in my chest that goes into my left arm. "
        "I'm sweating and feel sick. Should I mention this at my appointment on Friday?")
# The same case reworded: other sentence order, synonyms, no shared 3-word run longer than a phrase or two.
PARAPHRASE = ("Crushing chest pain going into my left arm started 20 minutes ago; I am 58, sweating, and I "
              "feel sick. Is this something to bring up at Friday's appointment?")
NEAR_COPY = CASE.replace("20 minutes", "25 minutes").replace("Friday", "Thursday")
# Same theme, different patient and facts: must not be refused.
SAME_THEME = ("My chest feels tight when I run for the bus, then it settles after a few minutes of rest. I'm 63. "
              "Is that worth raising at my check-up next month?")


def chat(user: str, answer: str = "Situation: ...") -> list[dict]:
    return [{"role": "system", "content": "You write SBAR notes."}, {"role": "user", "content": user},
            {"role": "assistant", "content": answer}]


def test_normalize_ignores_case_punctuation_and_apostrophes():
    assert normalize("I'm  SWEATING,\nand sick!") == normalize("im sweating and sick")


@pytest.mark.parametrize("text, kind", [(CASE, "exact"), (CASE.upper() + "  ", "exact"), (NEAR_COPY, "near-duplicate"),
                                        (PARAPHRASE, "paraphrase"), (SAME_THEME, None)])
def test_classify(text, kind):
    assert classify(features(text), features(CASE))[0] == kind


def test_a_planted_paraphrase_is_refused_and_the_rest_kept():
    cases = [EvalCase("sbar-intake", "chest-pain-01", CASE), EvalCase("sbar-intake", "rash-01",
                                                                     "I have an itchy rash on both elbows.")]
    examples = [chat(SAME_THEME), chat(PARAPHRASE), chat("My toddler has had a runny nose for three days.")]
    keep, leaks = filter_leaked(examples, cases)
    assert keep == [0, 2]
    assert [(l.train_index, l.case_id, l.kind) for l in leaks] == [(1, "chest-pain-01", "paraphrase")]
    assert "training example 1 is a paraphrase of sbar-intake:chest-pain-01" in leaks[0].describe()


def test_multi_turn_examples_are_compared_on_all_their_user_turns():
    example = [{"role": "user", "content": "Hi, I need some advice."}, {"role": "assistant", "content": "Sure."},
               {"role": "user", "content": CASE}, {"role": "assistant", "content": "Call emergency services."}]
    leaks = find_leaks([example], [EvalCase("s", "c", CASE)])
    assert [l.kind for l in leaks] == ["near-duplicate"]


def test_loads_project_and_healthbench_case_formats(tmp_path):
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "mini.yaml").write_text("name: mini\nversion: 1\ncases: mini.jsonl\nmodels: [a]\n")
    (suites / "mini.jsonl").write_text(json.dumps({"id": "c1", "messages": [{"role": "user", "content": CASE}]}) + "\n")
    hb = tmp_path / "hb.jsonl"
    hb.write_text(json.dumps({"prompt_id": "p1", "prompt": [{"role": "user", "content": "Fever and stiff neck."}]})
                  + "\n")
    cases = load_eval_cases(suites, [hb])
    assert [(c.suite, c.case_id) for c in cases] == [("mini", "c1"), ("hb", "p1")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    with pytest.raises(ConfigError, match="bad.jsonl:1"):
        load_eval_cases(suites, [bad])


def test_the_projects_training_set_does_not_leak_into_its_suites():
    data = ROOT / "training" / "data" / "sbar_train.jsonl"
    if not data.is_file():
        pytest.skip("training/data/sbar_train.jsonl is not there yet")
    extra = [p for p in [Path("/work/shared/data/healthbench_sample.jsonl")] if p.is_file()]
    examples = load_chat_jsonl(data)
    leaks = find_leaks(examples, load_eval_cases(ROOT / "suites", extra))
    assert leaks == [], [l.describe() for l in leaks[:5]]


def test_command_line_exit_codes(tmp_path, capsys):
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "mini.yaml").write_text("name: mini\nversion: 1\ncases: mini.jsonl\nmodels: [a]\n")
    (suites / "mini.jsonl").write_text(json.dumps({"id": "c1", "messages": [{"role": "user", "content": CASE}]}) + "\n")
    clean, leaky = tmp_path / "clean.jsonl", tmp_path / "leaky.jsonl"
    clean.write_text(json.dumps({"messages": chat(SAME_THEME)}) + "\n")
    leaky.write_text(json.dumps({"messages": chat(SAME_THEME)}) + "\n" + json.dumps({"messages": chat(PARAPHRASE)}) + "\n")
    assert main([str(clean), "--suites", str(suites)]) == 0
    assert main([str(leaky), "--suites", str(suites)]) == 1
    assert "paraphrase of mini:c1" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.jsonl"), "--suites", str(suites)]) == 2
