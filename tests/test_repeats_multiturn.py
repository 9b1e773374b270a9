"""Repeats with what main's answer stage does: each sample of a multi-turn case is a conversation of its own, the
dry run counts every turn and every per-turn score call of a run, the command line's settings decide whether a
repeat is greedy, and a model that answers from a file is not repeated."""

from __future__ import annotations

import json
import sqlite3

import pytest

from harness.adapters import mock
from harness.errors import ConfigError
from harness.evaluate import load_plan
from harness.plan_cost import dry_run
from harness.run_options import RunOptions
from tests.test_answers_kind import GOOD as FILED_ANSWERS, project as answers_project
from tests.test_multiturn import project, run

SAMPLER = """\
    sampler:
      kind: mock
      sample_by_seed: true
      responses: [{responses}]
    judge:
      kind: mock
    """.format(responses=", ".join(f'"answer {i}"' for i in range(1000)))
SCORED = "generation: {max_tokens: 32, temperature: 0.7, seed: 3}\njudge: judge\njudging: {mode: [score], adversarial: 0}\nexam: {pairs: 0}\n"


def _by_stage(results) -> dict:
    return {stage: {"calls": c["calls"], "cached": c["cached"]} for stage, c in results["generation"]["by_stage"].items()}


def test_each_sample_of_a_multi_turn_case_is_its_own_conversation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mock.CALLS.clear()
    suite = project(tmp_path, SAMPLER, model_ids="[sampler]", extra=SCORED)
    results, _ = run(suite, options=RunOptions(repeat=2))
    assert mock.CALLS["sampler"] == 2 * 2 * 2  # two cases, two turns, two samples
    assert mock.CALLS["judge"] == 2 * 2 * 2  # score mode: one call per turn of every sample
    first_turns = set()
    for case in results["cases"]:
        answers = [case["answers"]["sampler"], *case["samples"]["sampler"]]
        assert [len(a["turns"]) for a in answers] == [2, 2]
        assert all(a["text"] == a["turns"][1]["text"] for a in answers)  # the answer is the last turn's
        assert answers[0]["turns"][0]["text"] != answers[1]["turns"][0]["text"]  # the samples differ
        first_turns |= {a["turns"][0]["text"] for a in answers}
    # Every turn-2 request carries the turn-1 answer of its own sample: four conversations, four turn-1 answers.
    sent = [json.loads(r[0])["messages"] for r in sqlite3.connect(tmp_path / ".bench" / "bench.sqlite").execute(
        "SELECT request FROM generations WHERE stage = 'answer'")]
    assistants = [m["content"] for messages in sent for m in messages if m["role"] == "assistant"]
    assert sorted(assistants) == sorted(first_turns) and len(first_turns) == 4
    assert results["models"][0]["samples"] == 2


def test_the_dry_run_counts_every_turn_and_every_per_turn_score(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = project(tmp_path, SAMPLER, model_ids="[sampler]", extra=SCORED)
    store = tmp_path / ".bench" / "bench.sqlite"
    for options in (RunOptions(), RunOptions(repeat=3)):
        plan = dry_run(suite, models_path=tmp_path / "models.yaml", store_path=store, options=options)
        samples = options.repeat or 1
        expected = {"answer": 4 * samples, "score": 4 * samples}  # 2 cases x 2 turns, each turn scored on its own
        assert {stage: c["calls"] + c["cached"] for stage, c in plan.by_stage().items()} == expected
        if samples == 3:  # sample 0 of the first run is in the cache, and only it
            assert {stage: c["cached"] for stage, c in plan.by_stage().items()} == {"answer": 4, "score": 4}
        assert any("multi-turn" in note for note in plan.notes)
        results, _ = run(suite, options=options)
        assert _by_stage(results) == plan.by_stage()


def test_command_line_temperature_decides_whether_a_repeat_is_greedy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    greedy = project(tmp_path, SAMPLER, model_ids="[sampler]")
    models = tmp_path / "models.yaml"
    with pytest.raises(ConfigError, match="temperature") as refused:
        load_plan(greedy, models_path=models, options=RunOptions(repeat=2))
    assert refused.value.key == "--repeat"
    plan = load_plan(greedy, models_path=models, options=RunOptions(repeat=2, temperature=0.5))
    assert plan.samples == 2 and plan.generation.temperature == 0.5
    assert plan.generation.for_sample(1).seed == plan.generation.seed + 1
    sampled = project(tmp_path, SAMPLER, model_ids="[sampler]",
                      extra="generation: {temperature: 0.7, samples: 3}\n")
    with pytest.raises(ConfigError, match="generation.samples") as refused:
        load_plan(sampled, models_path=models, options=RunOptions(temperature=0.0))
    assert refused.value.key == "--temperature"
    assert load_plan(sampled, models_path=models, options=RunOptions(max_tokens=20)).samples == 3


def test_a_model_that_answers_from_a_file_is_not_repeated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = answers_project(tmp_path, FILED_ANSWERS)
    with pytest.raises(ConfigError, match="answers from a file") as refused:
        load_plan(suite, models_path=tmp_path / "models.yaml", options=RunOptions(repeat=2, temperature=0.7))
    assert refused.value.key == "--repeat" and "filed" in str(refused.value)
    assert load_plan(suite, models_path=tmp_path / "models.yaml", model_ids=["live"],
                     options=RunOptions(repeat=2, temperature=0.7)).samples == 2
