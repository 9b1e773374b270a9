"""Case selection (--tags, --case, --limit), the contestants' generation overrides and --no-cache: what each
chooses, what results.json records, and what the run identity makes of it."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from harness.adapters import mock
from harness.adapters.base import GenerationSettings
from harness.cases import Case
from harness.cli import main
from harness.errors import ConfigError
from harness.run_options import RunOptions, effective_generation, select_cases
from tests.conftest import write_project

SUITE = Path("suites/x.yaml")


def cases(tags_per_case: list[list[str]]) -> list[Case]:
    return [Case(id=f"c{i:02d}", tags=tags, messages=[{"role": "user", "content": f"q{i}"}])
            for i, tags in enumerate(tags_per_case)]


def test_case_and_tags_narrow_in_the_suites_order_and_are_recorded():
    suite = cases([["red-flag", "cardiac"], ["routine"], ["routine", "gi"], ["red-flag", "gi"], []])
    chosen, record = select_cases(suite, RunOptions(case_ids=("c03", "c01")), seed=7, suite_file=SUITE)
    assert [c.id for c in chosen] == ["c01", "c03"]
    assert record["case_ids"] == ["c03", "c01"] and record["cases"] == 2 and record["of"] == 5
    chosen, record = select_cases(suite, RunOptions(tags=("gi", "cardiac")), seed=7, suite_file=SUITE)
    assert [c.id for c in chosen] == ["c00", "c02", "c03"]  # any of the tags
    assert record["groups"] == {"red-flag": 2, "routine": 1} and record["seed"] is None
    chosen, _ = select_cases(suite, RunOptions(tags=("gi",), case_ids=("c00", "c02")), seed=7, suite_file=SUITE)
    assert [c.id for c in chosen] == ["c02"]  # each narrows
    chosen, record = select_cases(suite, RunOptions(), seed=7, suite_file=SUITE)
    assert len(chosen) == 5 and record is None


def test_limit_samples_each_first_tag_group_in_proportion_with_the_suites_seed_or_its_own():
    tags = [["red-flag", "x"]] * 11 + [["routine"]] * 34
    suite = cases(tags)
    chosen, record = select_cases(suite, RunOptions(limit=10), seed=1234, suite_file=SUITE)
    assert Counter(c.tags[0] for c in chosen) == {"red-flag": 2, "routine": 8}  # quotas 2.44 and 7.56
    assert [c.id for c in chosen] == sorted(c.id for c in chosen)
    assert record == {"tags": [], "case_ids": [], "limit": 10, "seed": 1234, "stratified_by": "first tag",
                      "cases": 10, "of": 45, "groups": {"red-flag": 2, "routine": 8}, "ids": [c.id for c in chosen]}
    again, _ = select_cases(suite, RunOptions(limit=10), seed=1234, suite_file=SUITE)
    assert again == chosen
    own, record = select_cases(suite, RunOptions(limit=10, case_seed=5), seed=1234, suite_file=SUITE)
    assert record["seed"] == 5 and Counter(c.tags[0] for c in own) == {"red-flag": 2, "routine": 8}
    # within the tags chosen
    chosen, record = select_cases(suite, RunOptions(tags=("red-flag",), limit=3), seed=1, suite_file=SUITE)
    assert len(chosen) == 3 and all(c.tags[0] == "red-flag" for c in chosen) and record["of"] == 45


@pytest.mark.parametrize("options, message", [
    (RunOptions(case_ids=("nope",)), r"--case: suite suites/x\.yaml has no case 'nope'"),
    (RunOptions(tags=("nope",)), r"--tags: no case of suite suites/x\.yaml has the tag 'nope' \(tags: a, b\)"),
    (RunOptions(tags=("b",), case_ids=("c00",)), r"--tags: none of the cases chosen with --case"),
    (RunOptions(limit=0), r"--limit: 0 is not a number of cases"),
])
def test_bad_selections_are_one_line_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        select_cases(cases([["a"], ["b"]]), options, seed=1, suite_file=SUITE)


def test_overrides_are_checked_like_the_suites_own_settings():
    suite = GenerationSettings(max_tokens=200, temperature=0.0, seed=0)
    assert effective_generation(suite, {}) is suite
    changed = effective_generation(suite, {"temperature": 0.7, "seed": 3})
    assert (changed.temperature, changed.seed, changed.max_tokens) == (0.7, 3, 200)
    with pytest.raises(ConfigError, match=r"^--max-tokens: 0: Input should be greater than or equal to 1$"):
        effective_generation(suite, {"max_tokens": 0})
    with pytest.raises(ConfigError, match=r"^--seed: 4294967296: "):
        effective_generation(suite, {"seed": 2**32})
    with pytest.raises(ConfigError, match=r"^--temperature: -0.5: "):
        effective_generation(suite, {"temperature": -0.5})


# ---------------------------------------------------------------- through `bench run`

def tagged_project(root: Path) -> Path:
    """The mock project with 9 cases: 3 red-flag cases first, then 6 routine ones."""
    suite = write_project(root, n_cases=9)
    rows = [json.loads(line) for line in (root / "suites" / "mini.jsonl").read_text().splitlines()]
    for i, row in enumerate(rows):
        row["tags"] = ["red-flag", "cardiac"] if i < 3 else ["routine"]
    (root / "suites" / "mini.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return suite


def results_of(root: Path, run_id: str | None = None) -> dict:
    paths = sorted((root / "reports" / "mini").glob("*/results.json"), key=lambda p: p.stat().st_mtime)
    if run_id:
        paths = [p for p in paths if p.parent.name == run_id]
    return json.loads(paths[-1].read_text())


def test_run_limit_is_a_stratified_sample_recorded_in_the_spec(tmp_path, monkeypatch):
    tagged_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "mini", "--limit", "3", "--quiet"]) == 0
    results = results_of(tmp_path)
    selection = results["spec"]["selection"]
    # 3 of 9 in groups of 3 and 6: one red-flag case and two routine ones (the first 3 would all be red flags).
    assert selection["groups"] == {"red-flag": 1, "routine": 2} and selection["seed"] == 7
    assert results["suite"]["cases"] == 3 and [c["id"] for c in results["cases"]] == selection["ids"]
    assert main(["run", "mini", "--tags", "routine", "--case", "case-05", "--case", "case-07", "--quiet"]) == 0
    results = results_of(tmp_path)
    assert results["spec"]["selection"]["ids"] == ["case-05", "case-07"]
    assert results["spec"]["selection"]["tags"] == ["routine"]


def test_unknown_case_is_a_one_line_error_naming_the_suite(mock_project, capsys):
    assert main(["run", "mini", "--case", "case-99", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "mini.yaml has no case 'case-99'" in err


def test_overrides_reach_the_contestants_not_the_judge_and_make_another_run(mock_project):
    root = mock_project.parent.parent
    assert main(["run", "mini", "--quiet"]) == 0
    plain = results_of(root)
    mock.CALLS.clear()
    assert main(["run", "mini", "--temperature", "0.7", "--max-tokens", "64", "--seed", "5", "--quiet"]) == 0
    results = results_of(root)
    spec = results["spec"]
    assert spec["generation_overrides"] == {"temperature": 0.7, "max_tokens": 64, "seed": 5}
    assert (spec["generation"]["temperature"], spec["generation"]["max_tokens"], spec["generation"]["seed"]) == (0.7, 64, 5)
    assert spec["judge_generation"] == plain["spec"]["judge_generation"]
    # New answers (6 x 2: other settings, another cache key); the judge's calls see the same answers: cached.
    assert mock.CALLS["good"] + mock.CALLS["bad"] == 12 and mock.CALLS["judge"] == 0
    assert results["run_id"] != plain["run_id"]
    db = sqlite3.connect(root / ".bench" / "bench.sqlite")
    temps = Counter((stage, json.loads(request)["settings"]["temperature"])
                    for stage, request in db.execute("SELECT stage, request FROM generations"))
    assert temps == {("answer", 0.0): 12, ("answer", 0.7): 12, ("grade", 0.0): 12, ("judge", 0.0): 12}
    assert main(["run", "mini", "--max-tokens", "0", "--quiet"]) == 2


def test_no_cache_answers_afresh_still_stores_and_says_so(mock_project):
    root = mock_project.parent.parent
    assert main(["run", "mini", "--quiet"]) == 0
    mock.CALLS.clear()
    assert main(["run", "mini", "--no-cache", "--quiet"]) == 0
    fresh = results_of(root)
    assert sum(mock.CALLS.values()) == 36  # 12 answers + 12 grades + 12 judgments, all asked again
    assert fresh["generation"]["calls"] == 36 and fresh["generation"]["cached"] == 0
    assert fresh["spec"]["no_cache"] is True
    mock.CALLS.clear()
    assert main(["run", "mini", "--quiet"]) == 0  # what the no-cache run stored serves the next run
    assert sum(mock.CALLS.values()) == 0 and results_of(root)["spec"]["no_cache"] is False


def _dies_after(monkeypatch, n: int) -> dict:
    from harness.adapters.mock import MockAdapter

    original = MockAdapter.generate
    state = {"n": 0, "limit": n}

    def dying(self, messages, settings, json_schema=None):
        state["n"] += 1
        if state["n"] > state["limit"]:
            raise KeyboardInterrupt
        return original(self, messages, settings, json_schema)

    monkeypatch.setattr(MockAdapter, "generate", dying)
    return state


def test_an_interrupted_no_cache_run_resumes_its_own_fresh_calls_only(mock_project, monkeypatch):
    root = mock_project.parent.parent
    assert main(["run", "mini", "--quiet"]) == 0  # the cache holds every call of this plan
    state = _dies_after(monkeypatch, 5)
    assert main(["run", "mini", "--no-cache", "--quiet"]) == 130
    db = sqlite3.connect(root / ".bench" / "bench.sqlite")
    (interrupted,) = [r[0] for r in db.execute("SELECT run_id FROM runs WHERE status = 'interrupted'")]
    state["limit"] = 10**6
    mock.CALLS.clear()
    assert main(["run", "mini", "--no-cache", "--quiet"]) == 0
    results = results_of(root)
    assert results["run_id"] == interrupted  # the same no-cache run, resumed
    # Its 5 fresh calls are reused; the other 31 are asked afresh, none taken from the earlier run's cache.
    assert sum(mock.CALLS.values()) == 31
    assert results["generation"]["calls"] == 36 and results["generation"]["cached"] == 0


def test_a_no_cache_run_never_resumes_an_interrupted_cached_run(mock_project, monkeypatch):
    root = mock_project.parent.parent
    state = _dies_after(monkeypatch, 5)
    assert main(["run", "mini", "--quiet"]) == 130
    db = sqlite3.connect(root / ".bench" / "bench.sqlite")
    (cached_run,) = [r[0] for r in db.execute("SELECT run_id FROM runs WHERE status = 'interrupted'")]
    state["limit"] = 10**6
    mock.CALLS.clear()
    assert main(["run", "mini", "--no-cache", "--quiet"]) == 0
    results = results_of(root)
    assert results["run_id"] != cached_run
    assert sum(mock.CALLS.values()) == 36 and results["generation"]["cached"] == 0


def test_judge_exam_draws_its_pairs_from_the_chosen_cases(tmp_path, monkeypatch):
    from harness import stages
    from tests.test_judge_checkable import project

    project(tmp_path, monkeypatch, n_cases=6, exam="{pairs: 6}")
    seen = []
    real = stages.exam_pairs

    def spy(cases, *args, **kwargs):
        seen.append([c.id for c in cases])
        return real(cases, *args, **kwargs)

    monkeypatch.setattr(stages, "exam_pairs", spy)
    assert main(["judge-exam", "mini", "--case", "case-01", "--case", "case-04", "--quiet"]) in (0, 1)
    assert seen == [["case-01", "case-04"]]
    assert main(["judge-exam", "mini", "--case", "case-77", "--quiet"]) == 2


def test_overrides_and_selection_are_part_of_the_run_identity(mock_project, monkeypatch):
    """An interrupted run is resumed only by a command with the same overrides and the same cases."""
    root = mock_project.parent.parent
    state = _dies_after(monkeypatch, 3)
    assert main(["run", "mini", "--temperature", "0.7", "--quiet"]) == 130
    db = sqlite3.connect(root / ".bench" / "bench.sqlite")

    def interrupted() -> set[str]:
        return {r[0] for r in db.execute("SELECT run_id FROM runs WHERE status = 'interrupted'")}

    (warm,) = interrupted()
    assert main(["run", "mini", "--quiet"]) == 130  # the suite's temperature: another run
    assert main(["run", "mini", "--temperature", "0.7", "--limit", "3", "--quiet"]) == 130  # other cases: another
    assert len(interrupted()) == 3
    hashes = {r[0] for r in db.execute("SELECT plan_hash FROM runs")}
    assert len(hashes) == 3
    state["limit"] = 10**6
    assert main(["run", "mini", "--temperature", "0.7", "--quiet"]) == 0
    assert results_of(root)["run_id"] == warm  # the same overrides and cases: resumed
    assert main(["run", "mini", "--temperature", "0.0", "--quiet"]) == 0  # the suite's own value: no other run
    assert results_of(root)["spec"]["generation_overrides"] == {"temperature": 0.0}
    assert len(interrupted()) == 1
