"""Cost before and after: the dry run's plan equals the calls a run then makes; every call's cost per model and
role in the results; --max-cost stops a run before its spend passes the cap, and a higher cap resumes it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from harness.adapters import mock
from harness.adapters.base import Prices
from harness.budget import Budget, BudgetExceeded, estimate_input_tokens, worst_case_usd, worst_input_tokens
from harness.cli import main
from harness.plan_cost import dry_run
from harness.store import Store
from tests.conftest import GOOD, write_project
from tests.helpers.fake_openai_judge import FakeOpenAIJudge
from tests.helpers.http_server import LocalServer


def _sampling_model(name: str, family: str, n: int = 1000, prices: str = "") -> str:
    """A mock that samples: one of `n` distinct answers, chosen by prompt and seed."""
    responses = [f"Situation: cough ({name} {i}).\nBackground: none.\nAssessment: unclear.\n"
                 f"Recommendation: {'book an appointment; I recommend it' if i % 3 else 'rest'}." for i in range(n)]
    body = {name: {"kind": "mock", "family": family, "sample_by_seed": True, "responses": responses}}
    if prices:
        body[name]["prices"] = yaml.safe_load(prices)
    return textwrap.indent(yaml.safe_dump(body, sort_keys=False, width=1000), "  ")


def _project(root: Path, *, models: list[str], extra: str = "", judge: str = "judge", n_cases: int = 6) -> Path:
    """Every stage on: rank + score, planted trials, the exam (cases carry references)."""
    suite = write_project(root, n_cases=n_cases, extra_models=extra)
    cases = [{"id": f"case-{i:02d}", "tags": ["routine"],
              "messages": [{"role": "user", "content": f"Question number {i} about my cough."}],
              "reference": GOOD.replace("\\n", "\n") + f" Case {i}."} for i in range(n_cases)]
    (root / "suites" / "mini.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    data = yaml.safe_load(suite.read_text())
    data.update({"models": models, "judge": judge, "generation": {"max_tokens": 48, "temperature": 0.7, "seed": 1},
                 "judging": {"mode": ["rank", "score"], "orders": 2, "seed": 7, "adversarial": 3},
                 "exam": {"pairs": 4}})
    suite.write_text(yaml.safe_dump(data, sort_keys=False))
    return suite


def _run(root: Path, *extra: str) -> int:
    return main(["run", str(root / "suites" / "mini.yaml"), "--config", str(root / "models.yaml"),
                 "--store", str(root / ".bench" / "bench.sqlite"), "--out", str(root / "reports"), "--quiet", *extra])


def _dry(root: Path, **kwargs):
    return dry_run(root / "suites" / "mini.yaml", models_path=root / "models.yaml",
                   store_path=root / ".bench" / "bench.sqlite", **kwargs)


def _latest(root: Path) -> dict:
    runs = sorted((root / "reports" / "mini").glob("*/results.json"), key=lambda p: p.stat().st_mtime_ns)
    return json.loads(runs[-1].read_text(encoding="utf-8"))


def _by_stage(results: dict) -> dict:
    return {stage: {"calls": c["calls"], "cached": c["cached"]} for stage, c in results["generation"]["by_stage"].items()}


def test_the_dry_run_asks_for_the_calls_a_run_makes_and_calls_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, models=["good", "bad", "alpha"], extra=_sampling_model("alpha", "delta"))
    before = sum(mock.CALLS.values())
    plan = _dry(tmp_path)
    assert sum(mock.CALLS.values()) == before  # no model was called
    assert not (tmp_path / ".bench").exists()  # nothing was written
    # rank mode shows 3 answers in 3 orders (every answer in every position)
    expected = {"answer": 18, "grade": 18, "judge": 18, "score": 18, "adversarial": 12, "exam": 8}
    assert {stage: c["calls"] for stage, c in plan.by_stage().items()} == expected
    assert _run(tmp_path) == 0
    assert _by_stage(_latest(tmp_path)) == plan.by_stage()
    again = _dry(tmp_path)  # everything is cached now
    assert again.by_stage() == {stage: {"calls": 0, "cached": n} for stage, n in expected.items()}


def test_the_dry_run_of_a_partly_cached_repeat_run_matches_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extra = _sampling_model("alpha", "delta") + _sampling_model("beta", "epsilon")
    _project(tmp_path, models=["alpha", "beta"], extra=extra)
    assert _run(tmp_path, "--models", "alpha") == 0  # some answers and verdicts are in the cache
    plan = _dry(tmp_path, repeat=3)
    stages = plan.by_stage()
    assert stages["answer"] == {"calls": 36 - 6, "cached": 6}  # sample 0 of alpha is cached
    assert _run(tmp_path, "--repeat", "3") == 0
    results = _latest(tmp_path)
    for case in results["cases"]:  # the counts are exact when no two answers are the same text
        for model in ("alpha", "beta"):
            texts = [case["answers"][model]["text"], *(a["text"] for a in case["samples"][model])]
            assert len(set(texts)) == 3
    assert _by_stage(results) == stages


def test_cost_per_model_and_role_with_an_openai_judge_with_prices(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEST_JUDGE_KEY", "sk-judge")
    with LocalServer(FakeOpenAIJudge(key="sk-judge", grade_keyword="recommend")) as server:
        extra = textwrap.indent(textwrap.dedent(f"""\
            gpt-judge:
              kind: openai
              model: gpt-4.1-mini
              base_url: "{server.url}/v1"
              api_key_env: TEST_JUDGE_KEY
              prices: {{input_per_mtok: 0.4, output_per_mtok: 1.6}}
            """), "  ")
        _project(tmp_path, models=["good", "bad"], extra=extra, judge="gpt-judge", n_cases=4)
        plan = _dry(tmp_path)
        prices = Prices(input_per_mtok=0.4, output_per_mtok=1.6)
        judged = [r for r in plan.rows if r["model"] == "gpt-judge"]
        assert {r["stage"] for r in judged} == {"grade", "judge", "score", "adversarial", "exam"}
        for row in judged:
            assert row["output_tokens_max"] == row["calls"] * 128  # judge_generation.max_tokens
            assert row["usd_max"] == pytest.approx(prices.cost(row["input_tokens"], row["output_tokens_max"]))
        judge_plan = next(m for m in plan.per_model if m["model"] == "gpt-judge")
        assert judge_plan["usd_max"] == pytest.approx(sum(r["usd_max"] for r in judged))
        assert next(m for m in plan.per_model if m["model"] == "good")["priced"] is False
        assert _run(tmp_path) == 0
        assert _dry(tmp_path).by_stage() == {s: {"calls": 0, "cached": c["calls"]} for s, c in plan.by_stage().items()}
        capsys.readouterr()
        assert main(["run", "suites/mini.yaml", "--dry-run", "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert _run(tmp_path) == 0  # all from the cache: nothing spent, the same total
    first, second = sorted((tmp_path / "reports" / "mini").iterdir(),
                           key=lambda p: (p / "results.json").stat().st_mtime_ns)
    page = (first / "index.html").read_text(encoding="utf-8")
    summary = (second / "summary.md").read_text(encoding="utf-8")
    first, second = (json.loads((p / "results.json").read_text()) for p in (first, second))
    store = Store(tmp_path / ".bench" / "bench.sqlite")
    try:
        rows = store._rows("SELECT stage, SUM(cost_usd) AS usd, COUNT(*) AS n FROM generations "
                           "WHERE model_id = 'gpt-judge' GROUP BY stage")
    finally:
        store.close()
    judge_cost = next(m for m in first["cost"]["models"] if m["id"] == "gpt-judge")
    roles = {"grade": "grading", "judge": "ranking", "score": "scoring", "exam": "exam", "adversarial": "planted"}
    for row in rows:
        role = judge_cost["roles"][roles[row["stage"]]]
        assert role["calls"] == row["n"] and role["cached"] == 0
        assert role["spent_usd"] == pytest.approx(row["usd"]) and role["total_usd"] == pytest.approx(row["usd"])
    assert sum(r["usd"] for r in rows) > 0
    for role in ("grading", "ranking", "scoring", "exam", "planted"):  # the report's cost table, a row per role
        assert f'<tr><td class="mono">gpt-judge</td><td>{role}</td>' in page
    assert first["cost"]["spent_usd"] == pytest.approx(sum(r["usd"] for r in rows))
    assert next(m for m in first["cost"]["models"] if m["id"] == "good")["spent_usd"] is None  # no prices
    assert f"cost $0 spent, ${second['cost']['total_usd']:.4f} with cached calls" in summary
    assert second["cost"]["spent_usd"] == 0 and second["cost"]["total_usd"] == pytest.approx(first["cost"]["total_usd"])
    assert {r["stage"] for r in printed["rows"]} >= {"answer", "grade", "judge", "score", "adversarial", "exam"}
    assert all(r["to_make"] == 0 for r in printed["rows"])
    cached_usd = sum(r["cached_usd"] for r in printed["rows"] if r["model"] == "gpt-judge")
    assert cached_usd == pytest.approx(first["cost"]["total_usd"])
    assert next(m for m in printed["per_model"] if m["model"] == "gpt-judge")["cached_usd"] == pytest.approx(cached_usd)
    assert next(m for m in printed["per_model"] if m["model"] == "good")["cached_usd"] is None  # no prices


def test_max_cost_stops_before_the_cap_and_a_higher_cap_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    extra = _sampling_model("pricey", "delta", prices="{input_per_mtok: 3.0, output_per_mtok: 15.0}")
    extra = extra.replace("    kind: mock\n", "    kind: mock\n    max_concurrency: 4\n")
    _project(tmp_path, models=["good", "pricey"], extra=extra, n_cases=10)
    cap = 0.0025  # a call could cost up to $0.0011 (input bytes + 48 tokens out); the 10 answers cost about $0.002
    assert _run(tmp_path, "--max-cost", str(cap)) == 3
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("bench: error: stopped at --max-cost $0.0025: this run has spent $")
    store = Store(tmp_path / ".bench" / "bench.sqlite")
    try:
        (run,) = store._rows("SELECT run_id, status FROM runs")
        spent = store.run_spend(run["run_id"])
    finally:
        store.close()
    assert run["status"] == "interrupted" and 0 < spent <= cap
    assert f"${spent:.4f}" in err
    assert _run(tmp_path, "--max-cost", str(cap)) == 3  # the same cap: no priced call starts
    # (a free call of `good` the first command's stop left unmade may run: it costs nothing)
    assert f"this run has spent ${spent:.4f} ($0.0000 in " in capsys.readouterr().err
    assert _run(tmp_path, "--max-cost", "1") == 0
    results = _latest(tmp_path)
    assert results["run_id"] == run["run_id"]  # resumed, not started again
    pricey = next(m for m in results["cost"]["models"] if m["id"] == "pricey")["roles"]["contestant"]
    assert pricey["calls"] == 10 and pricey["cached"] == 0  # each call counted once, across the commands
    assert results["cost"]["spent_usd"] == pytest.approx(pricey["spent_usd"])
    assert pricey["spent_usd"] > spent


def test_token_estimates_and_the_budget_by_hand():
    messages = [{"role": "system", "content": "abcd" * 10}, {"role": "user", "content": "é" * 6}]
    assert estimate_input_tokens(messages) == 12 + 2 * 4  # ceil(46 / 4) + 4 per message
    assert worst_input_tokens(messages) == 40 + 12 + 2 * 8  # UTF-8 bytes + 8 per message
    prices = Prices(input_per_mtok=1.0, output_per_mtok=10.0)
    worst = worst_case_usd(prices, messages, None, 100)
    assert worst == pytest.approx((68 * 1.0 + 100 * 10.0) / 1e6)
    assert worst_case_usd(None, messages, None, 100) == 0.0

    class Call:  # what Budget.reserve reads of harness.executor.Call
        class adapter:
            prices = Prices(input_per_mtok=1.0, output_per_mtok=10.0)
        json_schema = None
        settings = type("S", (), {"max_tokens": 100})()

    Call.messages = messages
    budget = Budget(3 * worst, spent_usd=worst / 2)
    held = [budget.reserve(Call), budget.reserve(Call)]  # 0.5 + 2 worst cases in flight
    with pytest.raises(BudgetExceeded):
        budget.reserve(Call)  # a third could pass the cap
    budget.settle(held[0], worst / 4)
    with pytest.raises(BudgetExceeded):
        budget.reserve(Call)  # once stopped, no call starts
    assert budget.spent_usd == pytest.approx(worst * 0.75) and budget.in_flight_usd == pytest.approx(worst)


def test_the_dry_run_of_the_default_suite_loads_no_weights(tmp_path, monkeypatch):
    llama_cpp = pytest.importorskip("llama_cpp")

    def load(*args, **kwargs):
        raise AssertionError("the dry run loaded a model's weights")

    monkeypatch.setattr(llama_cpp, "Llama", load)
    root = Path(__file__).resolve().parents[1]
    plan = dry_run(root / "suites" / "sbar-intake.yaml", models_path=root / "models.yaml", limit=2,
                   store_path=tmp_path / "bench.sqlite")
    assert plan.models == ["smollm2-135m", "gemma3-270m"] and plan.cases == 2
    assert plan.by_stage()["answer"] == {"calls": 4, "cached": 0}
    assert not (tmp_path / "bench.sqlite").exists()
