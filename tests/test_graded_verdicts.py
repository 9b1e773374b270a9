"""Graded pairwise verdicts (Arena-Hard's five levels) and the convention that a strong preference counts as
several games: parsing, the weighted win rate worked out by hand, the judge's audit with ties, the exam and the
planted trial with a graded prompt, the suite setting, and a run through the store to results.json."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from harness import stats
from harness.config import ConfigError, load_suite
from harness.judge import prompts
from harness.judge.adversarial import run_planted_trials
from harness.judge.exam import run_exam
from harness.judge.parsing import parse_graded
from harness.judge.verdicts import compare_requests, read
from harness.records import Judgment, Verdict
from harness.results.build import build_results
from harness.stats import judge_checks as jc
from tests.helpers.synthetic import answer, write_run


# ---------------------------------------------------------------- parsing and the prompt

@pytest.mark.parametrize("said, expected", [
    ("A>>B", (["A", "B"], "strong")), ("A>B", (["A", "B"], "slight")), ("A=B", (["A", "B"], "tie")),
    ("B>A", (["B", "A"], "slight")), ("B>>A", (["B", "A"], "strong")), ("[[B>>A]]", (["B", "A"], "strong")),
    (" A > B ", (["A", "B"], "slight")),
])
def test_each_graded_verdict_parses_to_a_ranking_and_a_strength(said, expected):
    value, error = parse_graded(json.dumps({"rationale": "r", "verdict": said}), ["A", "B"])
    assert error is None and value == expected


@pytest.mark.parametrize("text", ['{"verdict": "A>>>B"}', '{"verdict": "C>A"}', '{"verdict": 1}', '{"ranking": ["A"]}',
                                  "A>>B", '{"verdict": "A<B"}'])
def test_anything_else_is_a_parse_error_never_a_guess(text):
    value, error = parse_graded(text, ["A", "B"])
    assert value is None and error


def test_the_graded_prompt_names_all_five_verdicts_and_its_schema_allows_only_them():
    (request,) = compare_requests(["j"], "judge", [{"role": "user", "content": "q"}], {"A": "one", "B": "two"},
                                  "be good", reference="ref", rationale=True, graded=True)
    user = request.messages[-1]["content"]
    for verdict in prompts.GRADED_VERDICTS:
        assert f'"{verdict}"' in user
    assert "ref" in user and request.prompt_version == prompts.GRADED_PROMPT_VERSION
    assert list(request.schema["properties"]) == ["rationale", "verdict"]
    assert request.schema["properties"]["verdict"]["enum"] == list(prompts.GRADED_VERDICTS)
    with pytest.raises(ValueError):
        compare_requests(["j"], "judge", [], {"A": "1", "B": "2", "C": "3"}, "g", graded=True)


def test_a_verdict_is_read_back_in_the_names_shown():
    assert read((["B", "A"], "strong"), ["A", "B"], ["base", "cand"]) == (["cand", "base"], "strong")
    assert read(["A", "B"], ["A", "B"], ["base", "cand"]) == (["base", "cand"], None)
    assert read(None, ["A", "B"], ["base", "cand"]) == (None, None)


# ---------------------------------------------------------------- the weighted win rate, by hand

def _rankings(weight_strong: float) -> pd.DataFrame:
    """Three cases, model a against b, both orders each (ranks; a tie puts both first):
    c1: a>>b then b>a;  c2: a=b then a>b;  c3: b>>a in both orders."""
    verdicts = {"c1": [("a", "b", "strong"), ("b", "a", "slight")],
                "c2": [("a", "b", "tie"), ("a", "b", "slight")],
                "c3": [("b", "a", "strong"), ("b", "a", "strong")]}
    rows = []
    for case, reps in verdicts.items():
        for rep, (first, second, strength) in enumerate(reps):
            weight = weight_strong if strength == "strong" else 1.0
            rows.append({"case_id": case, "rep": rep, "model": first, "rank": 1, "weight": weight})
            rows.append({"case_id": case, "rep": rep, "model": second, "rank": 1 if strength == "tie" else 2,
                         "weight": weight})
    return pd.DataFrame(rows)


def test_a_strong_preference_counts_as_three_games_as_arena_hard_counts_them():
    outcomes = stats.pairwise_outcomes(_rankings(3.0))
    ab = outcomes[(outcomes.a == "a") & (outcomes.b == "b")].set_index("case_id")
    # c1: 3 games won, 1 lost -> 3/4 over 4 games in 2 reps (weight 2); c2: a half and a win -> 3/4, weight 1;
    # c3: 6 games lost -> 0, weight 3
    assert ab["outcome"].to_dict() == pytest.approx({"c1": 0.75, "c2": 0.75, "c3": 0.0})
    assert ab["weight"].to_dict() == pytest.approx({"c1": 2.0, "c2": 1.0, "c3": 3.0})
    # Arena-Hard's count of battles: a wins 3 + 1 + a half tie = 4.5 of 12 games = 0.375
    table = stats.pairwise_table(outcomes, n_boot=200, seed=0).set_index(["a", "b"])
    row = table.loc[("a", "b")]
    assert row.win_rate == pytest.approx(4.5 / 12)
    assert (row.n, row.wins, row.losses, row.ties) == (3, 2, 1, 0)
    assert row.ci_low <= row.win_rate <= row.ci_high
    assert table.loc[("b", "a")].win_rate == pytest.approx(7.5 / 12)
    overall = stats.overall_win_rates(outcomes, n_boot=200, seed=0).set_index("model")
    assert overall.loc["a", "win_rate"] == pytest.approx(4.5 / 12)
    assert overall.loc["b", "win_rate"] == pytest.approx(7.5 / 12)


def test_with_every_weight_one_the_win_rate_is_the_plain_mean_over_cases():
    weighted = stats.pairwise_outcomes(_rankings(1.0))
    plain = stats.pairwise_outcomes(_rankings(1.0).drop(columns="weight"))
    assert "weight" not in plain.columns and (weighted["weight"] == 1.0).all()
    assert weighted["outcome"].tolist() == pytest.approx(plain["outcome"].tolist())
    a = stats.pairwise_table(weighted, n_boot=300, seed=3)
    b = stats.pairwise_table(plain, n_boot=300, seed=3)
    pd.testing.assert_frame_equal(a, b)
    # c1: a won one order, b the other (0.5); c2: a tie and a win (0.75); c3: lost both (0)
    assert a.set_index(["a", "b"]).loc[("a", "b")].win_rate == pytest.approx((0.5 + 0.75 + 0.0) / 3)
    pd.testing.assert_frame_equal(stats.overall_win_rates(weighted, n_boot=300, seed=3),
                                  stats.overall_win_rates(plain, n_boot=300, seed=3))


def test_the_weighted_interval_resamples_cases_as_a_ratio_of_sums():
    """The interval of the pooled rate: each resample of the cases gives sum(w*o)/sum(w) over the drawn cases;
    worked out here over every one of the 27 equally likely draws of 3 cases."""
    import itertools

    import numpy as np

    o, w = np.array([0.75, 0.75, 0.0]), np.array([2.0, 1.0, 3.0])
    draws = [np.bincount(d, minlength=3) for d in itertools.product(range(3), repeat=3)]
    exact = sorted(float(c @ (w * o) / (c @ w)) for c in draws)
    table = stats.pairwise_table(stats.pairwise_outcomes(_rankings(3.0)), n_boot=20000, seed=1)
    row = table.set_index(["a", "b"]).loc[("a", "b")]
    # exact 2.5% and 97.5% points of that distribution: 0 (a draw of c3 alone has chance 1/27, over 2.5%) and 0.75
    assert [row.ci_low, row.ci_high] == pytest.approx(
        [np.quantile(exact, 0.025, method="inverted_cdf"), np.quantile(exact, 0.975, method="inverted_cdf")])
    assert [row.ci_low, row.ci_high] == pytest.approx([0.0, 0.75])


def test_bradley_terry_counts_the_same_games():
    """Two models: the maximum-likelihood rating gap is 400 log10(games won / games lost). a won 4.5 of 12 games
    (strong preferences as 3); unweighted, a won 1.25 of the 3 cases' shares."""
    import math

    ratings = stats.bradley_terry(stats.pairwise_outcomes(_rankings(3.0)), n_boot=50, seed=0).set_index("model")
    gap = ratings.loc["a", "rating"] - ratings.loc["b", "rating"]
    assert gap == pytest.approx(400 * math.log10(4.5 / 7.5), abs=1e-3)
    plain = stats.bradley_terry(stats.pairwise_outcomes(_rankings(1.0)), n_boot=50, seed=0).set_index("model")
    assert plain.loc["a", "rating"] - plain.loc["b", "rating"] == pytest.approx(400 * math.log10(1.25 / 1.75), abs=1e-3)


# ---------------------------------------------------------------- the judge's audit with ties

def _done(rows):
    return pd.DataFrame([{"case_id": c, "rep": r, "order": o, "ranking": k, "error": None, "judge": "j",
                          "unit": (c, 0), "attempts": 1, "strength": s} for c, r, o, k, s in rows])


def test_ties_are_no_position_pick_and_only_a_changed_winner_is_a_flip():
    rows = []
    for i in range(10):
        c = f"c{i}"
        if i < 4:  # a tie in both orders: no pick, no flip
            rows += [(c, 0, ["x", "y"], ["x", "y"], "tie"), (c, 1, ["y", "x"], ["y", "x"], "tie")]
        elif i < 7:  # strong one way, slight the other, same winner: no flip
            rows += [(c, 0, ["x", "y"], ["x", "y"], "strong"), (c, 1, ["y", "x"], ["x", "y"], "slight")]
        else:  # a tie against a pick: a flip
            rows += [(c, 0, ["x", "y"], ["x", "y"], "tie"), (c, 1, ["y", "x"], ["y", "x"], "slight")]
    done = _done(rows)
    position = jc.position_check(done, "j")
    assert position["n"] == 9  # 3 + 3 picks from the agreeing units, 3 from the flipped ones
    assert position["value"] == pytest.approx(6 / 9)  # the first-shown answer picked in 6 of the 9 picks
    assert "11 ties left out" in position["detail"]
    flips = jc.flip_check(done, "j")
    assert (flips["n"], flips["value"]) == (10, pytest.approx(3 / 10))


def test_a_tie_is_an_equal_rank_in_the_effects_and_is_skipped_by_the_longer_answer_rate():
    done = _done([("c0", 0, ["x", "y"], ["x", "y"], "tie"), ("c0", 1, ["y", "x"], ["x", "y"], "slight")])
    outcomes = jc._unit_outcomes(done)
    xy = outcomes[(outcomes.a == "x") & (outcomes.b == "y")]
    assert xy["judge_a"].tolist() == pytest.approx([0.75])
    lengths = pd.DataFrame({"case_id": ["c0", "c0"], "model": ["x", "y"], "n_chars": [10, 20]})
    assert jc.longer_answer_rate(done, lengths) == 0.0  # only the slight verdict counts: the shorter x won


# ---------------------------------------------------------------- exam and planted trials use the graded prompt

def _answering(said: dict[str, str]):
    """An ask that answers every request with the verdict `said[label of the first-shown answer's text]`."""
    seen = []

    def ask(requests, label=None):
        out = []
        for r in requests:
            seen.append(r)
            first = r.messages[-1]["content"].split("<<Response A ")[1].split("<<End of Response A")[0]
            verdict = next(v for key, v in said.items() if key in first)
            value, error = r.parse(json.dumps({"verdict": verdict}))
            out.append(Verdict(value, error, 1))
        return out
    return ask, seen


def test_the_exam_asks_with_the_graded_prompt_and_counts_a_tie_as_half():
    from harness.cases import Case

    case = Case(id="c", messages=[{"role": "user", "content": "q"}], reference="REFERENCE TEXT")
    ask, seen = _answering({"REFERENCE": "A=B", "TWIN": "B>>A"})
    trials = run_exam([(case, "twin", "TWIN TEXT")], ["j"], mode="pairwise", guidance="g", ask=ask, graded=True)
    assert all(r.prompt_version == prompts.GRADED_PROMPT_VERSION for r in seen)
    by_order = {tuple(t.order): t.correct for t in trials}
    # reference shown first: a tie (a half); twin shown first: B (the reference) much better, correct
    assert by_order == {("reference", "twin"): 0.5, ("twin", "reference"): 1.0}


def test_the_planted_trial_counts_a_tie_as_the_weak_answer_not_ranked_below():
    from harness.cases import Case

    cases = [Case(id="c", messages=[{"role": "user", "content": "q"}])]
    good = answer("c", "m", 1.0)
    ask, seen = _answering({"answer of m": "A=B", "Not sure": "A>B"})
    trials = run_planted_trials(cases, ["m"], ["j"], {("c", "m"): good}, 1, 0, "g", ask, graded=True)
    assert len(trials) == 4 and all(r.prompt_version == prompts.GRADED_PROMPT_VERSION for r in seen)
    assert all(t.weak_first for t in trials)  # weak first and picked (A>B), or honest first and tied (A=B)


# ---------------------------------------------------------------- the setting, and a run through the store

def _suite(tmp_path, judging: str):
    (tmp_path / "cases.jsonl").write_text('{"id": "c1", "messages": [{"role": "user", "content": "q"}]}\n')
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nversion: 1\ncases: cases.jsonl\nmodels: [a, b]\njudging: {judging}\n")
    return path


@pytest.mark.parametrize("judging, message", [
    ("{mode: rank, verdict: graded}", "verdict: graded needs mode: pairwise"),
    ("{mode: pairwise, strong_weight: 3}", "strong_weight needs verdict: graded"),
    ("{mode: pairwise, verdict: graded, strong_weight: 0.5}", "strong_weight"),
    ("{mode: pairwise, verdict: weighted}", "verdict"),
])
def test_a_graded_setting_that_cannot_apply_is_a_one_line_error(tmp_path, judging, message):
    with pytest.raises(ConfigError) as raised:
        load_suite(_suite(tmp_path, judging))
    text = str(raised.value)
    assert message in text and "s.yaml" in text and "\n" not in text


def test_graded_verdicts_reach_results_with_strong_preferences_weighted(tmp_path):
    cases = ["c1", "c2", "c3"]
    answers = [answer(c, m, 0.5) for c in cases for m in ("a", "b")]
    shown = {"c1": [(["a", "b"], ["a", "b"], "strong"), (["b", "a"], ["b", "a"], "slight")],
             "c2": [(["a", "b"], ["a", "b"], "tie"), (["b", "a"], ["a", "b"], "slight")],
             "c3": [(["a", "b"], ["b", "a"], "strong"), (["b", "a"], ["b", "a"], "strong")]}
    judgments = [Judgment(c, rep, order, ranking, None, 1, "j", ("a", "b"), strength=strength)
                 for c, reps in shown.items() for rep, (order, ranking, strength) in enumerate(reps)]
    figures = {}
    for weight in (3.0, 1.0):
        store = write_run(tmp_path / f"s{weight}.sqlite", "run", ["a", "b"], cases, answers, judgments,
                          judges=["j"], judging={"mode": "pairwise", "verdict": "graded", "strong_weight": weight})
        results = build_results(store, "run")
        store.close()
        (row,) = results.pairwise
        figures[weight] = row.win_rate if row.a == "a" else 1 - row.win_rate
        strengths = {(c.id, j.rep): j.strength for c in results.cases for j in c.judgments}
        assert strengths == {(c, rep): s for c, reps in shown.items() for rep, (_, _, s) in enumerate(reps)}
        assert results.judge.disagreements == 2  # c1 (winner changed) and c2 (a tie, then a pick)
        (wins,) = [s for s in results.significance if s.metric == "wins"]
        # the test a `beats` gate reads: the same pooled rate, less one half, from a's side
        assert (wins.diff if wins.a == "a" else -wins.diff) == pytest.approx(figures[weight] - 0.5)
    assert figures == pytest.approx({3.0: 4.5 / 12, 1.0: (0.5 + 0.75 + 0.0) / 3})
