"""IFEval accuracy against hand-computed values, and its intervals against a plain resampling loop."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.stats.ifeval import ifeval_accuracy, ifeval_accuracy_summary, ifeval_by_instruction


def frame(rows):
    return pd.DataFrame(rows, columns=["model", "case_id", "instruction_id", "strict", "loose"])


# Model a: p1 follows both instructions; p2 follows one strictly and both loosely; p3 follows none.
# Prompt-level: strict 1/3, loose 2/3. Instruction-level: strict 3/5, loose 4/5.
HAND = frame([
    ("a", "p1", "punctuation:no_comma", True, True),
    ("a", "p1", "startend:quotation", True, True),
    ("a", "p2", "punctuation:no_comma", True, True),
    ("a", "p2", "startend:quotation", False, True),
    ("a", "p3", "detectable_format:title", False, False),
])


def figures(table, model="a"):
    rows = table[table["model"] == model]
    return {(r.level, r.mode): r.accuracy for r in rows.itertuples()}


def test_hand_computed_accuracies():
    table = ifeval_accuracy(HAND, n_boot=500)
    assert figures(table) == pytest.approx({("prompt", "strict"): 1 / 3, ("instruction", "strict"): 3 / 5,
                                            ("prompt", "loose"): 2 / 3, ("instruction", "loose"): 4 / 5})
    assert set(table["prompts"]) == {3} and set(table["instructions"]) == {5} and set(table["excluded_prompts"]) == {0}


def test_intervals_match_a_plain_resampling_loop():
    rng = np.random.default_rng(5)
    rows = []
    for prompt in range(40):
        for instruction in range(int(rng.integers(1, 4))):
            strict = bool(rng.random() < 0.6)
            rows.append(("m", f"p{prompt}", "x", strict, strict or bool(rng.random() < 0.5)))
    data = frame(rows)
    table = ifeval_accuracy(data, n_boot=1000, seed=11)
    # The same resamples, computed one by one: prompts drawn with replacement by the shared recipe.
    prompts = list(dict.fromkeys(data["case_id"]))
    draws = np.random.default_rng(11).integers(0, len(prompts), size=(1000, len(prompts)))
    for mode in ("strict", "loose"):
        followed = data.groupby("case_id", sort=False)[mode].sum().loc[prompts].to_numpy()
        total = data.groupby("case_id", sort=False)[mode].size().loc[prompts].to_numpy()
        prompt_stats = [np.mean(followed[d] == total[d]) for d in draws]
        instruction_stats = [followed[d].sum() / total[d].sum() for d in draws]
        for level, stats in (("prompt", prompt_stats), ("instruction", instruction_stats)):
            row = table[(table["level"] == level) & (table["mode"] == mode)].iloc[0]
            assert (row.ci_low, row.ci_high) == pytest.approx(tuple(np.percentile(stats, [2.5, 97.5])))


def test_two_prompt_interval_by_hand():
    # Prompt-level means of two resampled prompts, one passing: 0, 1/2, 1 with chances 1/4, 1/2, 1/4;
    # so the 2.5th percentile is 0 and the 97.5th is 1.
    # Instruction level: p1 follows 1 of 1, p2 0 of 3: resamples give 1 (p1 twice), 1/4, or 0 (p2 twice).
    data = frame([("a", "p1", "x", True, True)] + [("a", "p2", "x", False, False)] * 3)
    table = ifeval_accuracy(data, n_boot=2000, seed=3)
    strict = table[table["mode"] == "strict"].set_index("level")
    assert strict.loc["prompt", "accuracy"] == 0.5 and (strict.loc["prompt", "ci_low"], strict.loc["prompt", "ci_high"]) == (0, 1)
    assert strict.loc["instruction", "accuracy"] == 0.25
    assert (strict.loc["instruction", "ci_low"], strict.loc["instruction", "ci_high"]) == (0, 1)


def test_prompt_level_interval_matches_normal_theory_for_many_prompts():
    rng = np.random.default_rng(2)
    passed = rng.random(800) < 0.7
    data = frame([("a", f"p{i}", "x", bool(v), bool(v)) for i, v in enumerate(passed)])
    row = ifeval_accuracy(data, n_boot=2000, seed=0).query("level == 'prompt' and mode == 'strict'").iloc[0]
    p = passed.mean()
    half_width = 1.959964 * math.sqrt(p * (1 - p) / passed.size)
    assert (row.ci_high - row.ci_low) / 2 == pytest.approx(half_width, rel=0.1)


def test_all_followed_gives_a_point_interval_and_one_prompt_none():
    data = frame([("a", "p1", "x", True, True), ("a", "p2", "y", True, True)])
    row = ifeval_accuracy(data, n_boot=200).iloc[0]
    assert (row.accuracy, row.ci_low, row.ci_high) == (1.0, 1.0, 1.0)
    one = ifeval_accuracy(frame([("a", "p1", "x", True, True)]), n_boot=200).iloc[0]
    assert one.accuracy == 1.0 and math.isnan(one.ci_low) and math.isnan(one.ci_high)


def test_ungraded_prompts_are_left_out_and_counted():
    data = pd.concat([HAND, frame([("a", "p4", "x", None, None), ("a", "p4", "y", True, True)])])
    table = ifeval_accuracy(data, n_boot=200)
    assert figures(table) == pytest.approx(figures(ifeval_accuracy(HAND, n_boot=200)))
    assert set(table["excluded_prompts"]) == {1} and set(table["prompts"]) == {3}
    nothing = ifeval_accuracy(frame([("b", "p1", "x", None, None)]), n_boot=100)
    assert nothing["accuracy"].isna().all() and set(nothing["excluded_prompts"]) == {1}
    summary = ifeval_accuracy_summary(nothing)
    assert summary["b"]["prompt_strict"] == {"accuracy": None, "ci": None, "prompts": 0, "instructions": 0,
                                             "excluded_prompts": 1,
                                             "reason": "no prompt with every instruction graded"}


def test_models_are_computed_apart_with_the_same_resamples():
    other = HAND.assign(model="b", strict=True, loose=True)
    table = ifeval_accuracy(pd.concat([HAND, other]), n_boot=300, seed=4)
    assert list(dict.fromkeys(table["model"])) == ["a", "b"]
    assert figures(table, "b") == {k: 1.0 for k in figures(table, "a")}
    alone = ifeval_accuracy(HAND, n_boot=300, seed=4)
    assert table[table["model"] == "a"].reset_index(drop=True).equals(alone)


def test_loose_must_include_strict():
    with pytest.raises(ValueError, match="case p1: an instruction met strictly must be met loosely too"):
        ifeval_accuracy(frame([("a", "p1", "x", True, False)]))


def test_accuracy_per_instruction_type():
    table = ifeval_by_instruction(HAND, n_boot=200)
    strict = table[table["mode"] == "strict"].set_index("instruction")
    assert strict.loc["punctuation:no_comma", "accuracy"] == 1.0
    assert strict.loc["startend:quotation", "accuracy"] == 0.5
    assert strict.loc["detectable_format:title", "accuracy"] == 0.0
    assert strict.loc["startend:quotation", "prompts"] == 2
    loose = table[table["mode"] == "loose"].set_index("instruction")
    assert loose.loc["startend:quotation", "accuracy"] == 1.0
    by_category = ifeval_by_instruction(HAND.assign(category=HAND["instruction_id"].str.split(":").str[0]),
                                        group="category", n_boot=200)
    row = by_category.query("instruction == 'startend' and mode == 'strict'").iloc[0]
    assert (row.accuracy, row.instructions) == (0.5, 2)


def test_summary_is_json_ready():
    summary = ifeval_accuracy_summary(ifeval_accuracy(HAND, n_boot=300, seed=1))
    figure = summary["a"]["instruction_loose"]
    assert figure["accuracy"] == pytest.approx(0.8) and len(figure["ci"]) == 2 and figure["reason"] is None
    assert set(summary["a"]) == {"prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose"}
