"""The runs index as a leaderboard over runs of the same suite: latest score per model, and its trend."""

from __future__ import annotations

import pytest

from harness.report import write_report, write_runs_index
from harness.report.runs import collect_runs
from harness.report.trends import leaderboards


def write_run(root, suite, run_id, created_at, scores, suite_hash="h1"):
    models = [{"id": m, "score": s, "score_ci": [s - 0.1, s + 0.1] if s is not None else None, "cases": 10,
               "answered": 9} for m, s in scores.items()]
    results = {"run_id": run_id, "created_at": created_at, "suite": {"name": suite, "hash": suite_hash},
               "models": models}
    write_report(results, root / suite / run_id)


@pytest.fixture
def reports(tmp_path):
    root = tmp_path / "reports"
    write_run(root, "triage", "r1", "2026-11-01T10:00:00Z", {"base": 0.30, "sft": 0.40}, suite_hash="h0")
    write_run(root, "triage", "r2", "2026-11-02T10:00:00Z", {"base": 0.30, "sft": 0.50})
    write_run(root, "triage", "r3", "2026-11-03T10:00:00Z", {"base": 0.32, "sft": None, "cloud": 0.70})
    write_run(root, "other", "o1", "2026-11-02T10:00:00Z", {"base": 0.9})
    broken = root / "triage" / "broken"
    broken.mkdir(parents=True)
    (broken / "results.json").write_text("{", encoding="utf-8")
    return root


def test_leaderboard_per_suite_with_latest_and_previous_scores(reports):
    boards = leaderboards(collect_runs(reports))
    assert [b["suite"] for b in boards] == ["other", "triage"]
    triage = boards[1]
    assert triage["runs"] == 3 and triage["settings_changed"]
    rows = {r["id"]: r for r in triage["rows"]}
    assert [r["id"] for r in triage["rows"]] == ["cloud", "sft", "base"], "by latest score; sft's latest is r2"
    assert rows["sft"]["latest"]["run_id"] == "r2" and rows["sft"]["latest"]["score"] == 0.5
    assert rows["sft"]["previous"]["run_id"] == "r1" and rows["sft"]["runs"] == 3
    assert rows["base"]["latest"]["coverage"] == {"cases": 10, "answered": 9}
    assert rows["cloud"]["previous"] is None


def test_trend_coordinates_share_one_scale_per_suite(reports):
    triage = leaderboards(collect_runs(reports))[1]
    base = next(r for r in triage["rows"] if r["id"] == "base")["trend"]
    # the suite's scale runs from the lowest interval bound (0.2) to the highest (0.8); y = 35 - 30 * (v - 0.2) / 0.6
    assert [(d["x"], d["y"]) for d in base["dots"]] == [(5.0, 30.0), (84.0, 30.0), (168.0 - 5.0, 29.0)]
    assert (base["dots"][0]["y_low"], base["dots"][0]["y_high"]) == (35.0, 25.0)
    assert base["line"] == "5.0,30.0 84.0,30.0 163.0,29.0"
    assert [d["point"]["same_suite"] for d in base["dots"]] == [False, True, True]


def test_the_index_page_shows_the_leaderboards_first(reports):
    page = write_runs_index(reports).read_text(encoding="utf-8")
    assert page.index("leaderboard over 3 run(s)") < page.index("<h2 id=\"runs\">All runs")
    assert "r1 (2026-11-01 10:00 UTC): 0.400 [0.300, 0.500]; other suite settings than the latest run" in page
    assert "9/10 answered" in page and 'href="triage/r2/index.html"' in page
    assert "could not be read" in page
