"""Repeated samples of each case (`--repeat N`, `generation.samples`): refused when greedy, cached per sample,
graded and judged per sample, and the case kept as the unit of every figure."""

from __future__ import annotations

import json
import sqlite3
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from harness import stats
from harness.cli import main
from harness.results.build import build_results
from harness.stats.repeats import variance_split
from harness.store import Store
from tests.conftest import write_project

SAMPLING = """\
  varied:
    kind: mock
    family: delta
    sample_by_seed: true
    responses:
      - "Situation: cough.\\nBackground: none.\\nAssessment: unclear.\\nRecommendation: book an appointment; I recommend rest."
      - "You have a cold."
      - "Situation: cough.\\nRecommendation: see a clinician."
      - "Situation: cough.\\nBackground: smoker.\\nAssessment: needs review.\\nRecommendation: see a clinician; I recommend it."
"""


def _project(root: Path, *, n_cases: int = 6, temperature: float = 0.8, judged: bool = True) -> Path:
    suite = write_project(root, n_cases=n_cases, extra_models=SAMPLING)
    data = yaml.safe_load(suite.read_text())
    data["models"] = ["good", "varied"]
    data["generation"] = {"max_tokens": 64, "temperature": temperature, "seed": 5}
    if not judged:
        data.pop("judge")
    suite.write_text(yaml.safe_dump(data, sort_keys=False))
    return suite


def _run(root: Path, *extra: str) -> int:
    return main(["run", str(root / "suites" / "mini.yaml"), "--config", str(root / "models.yaml"),
                 "--store", str(root / ".bench" / "bench.sqlite"), "--out", str(root / "reports"), "--quiet", *extra])


def _latest(root: Path) -> dict:
    # by time written: run ids made in the same second do not sort in the order they were made
    runs = sorted((root / "reports" / "mini").glob("*/results.json"), key=lambda p: p.stat().st_mtime_ns)
    return json.loads(runs[-1].read_text(encoding="utf-8"))


def test_a_greedy_repeat_is_refused_naming_the_flag_and_the_key(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, temperature=0.0)
    assert _run(tmp_path, "--repeat", "3") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "--repeat" in err and "generation.temperature" in err and "mini.yaml" in err
    assert not (tmp_path / "reports").exists()


def test_generation_samples_at_temperature_0_is_refused_with_its_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    suite = _project(tmp_path, temperature=0.0)
    text = suite.read_text().replace("  seed: 5\n", "  seed: 5\n  samples: 3\n")
    suite.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "samples: 3" in row)
    assert _run(tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert f"mini.yaml:{line}: generation.samples:" in err and "temperature" in err


def test_sample_0_is_the_cached_answer_of_a_run_without_repeats(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, n_cases=4, judged=False)
    assert _run(tmp_path) == 0
    single = _latest(tmp_path)
    assert single["models"][0]["samples"] == 1 and single["models"][0]["repeats"] is None
    assert _run(tmp_path, "--repeat", "3") == 0
    repeated = _latest(tmp_path)
    answers = repeated["generation"]["by_stage"]["answer"]
    assert answers == {"calls": 2 * 4 * 2, "cached": 4 * 2}  # samples 1 and 2 are new calls, sample 0 is cached
    for case_before, case_after in zip(single["cases"], repeated["cases"]):
        assert case_after["answers"]["varied"]["text"] == case_before["answers"]["varied"]["text"]
        assert len(case_after["samples"]["varied"]) == 2
    # Each sample was asked with its own seed (seed + sample) and is a cache entry of its own.
    db = sqlite3.connect(tmp_path / ".bench" / "bench.sqlite")
    seeds = sorted(json.loads(r[0])["settings"]["seed"] for r in db.execute(
        "SELECT request FROM generations WHERE stage = 'answer' AND model_id = 'varied'"))
    db.close()
    assert seeds == [5] * 4 + [6] * 4 + [7] * 4


def test_scores_take_the_case_as_the_unit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, n_cases=8)
    assert _run(tmp_path, "--repeat", "3") == 0
    results = _latest(tmp_path)
    varied = next(m for m in results["models"] if m["id"] == "varied")
    rows = [(case["id"], sample, answer["score"]) for case in results["cases"]
            for sample, answer in enumerate([case["answers"]["varied"], *case["samples"]["varied"]])]
    frame = pd.DataFrame(rows, columns=["case_id", "sample", "score"]).assign(model="varied")
    assert frame["score"].nunique() > 1  # the samples differ
    means = frame.groupby("case_id", sort=False, as_index=False)["score"].mean().assign(model="varied")
    expected = stats.model_scores(means[["model", "case_id", "score"]], n_boot=2000, seed=20261123).iloc[0]
    assert varied["n"] == 8 and varied["cases"] == 8 and varied["samples"] == 3
    assert varied["score"] == pytest.approx(float(np.clip(means["score"].mean(), 0, 1)))
    assert varied["score_ci"] == pytest.approx([expected["ci_low"], expected["ci_high"]])  # cases resampled
    split = variance_split(frame).iloc[0]
    assert varied["repeats"]["within_variance"] == pytest.approx(split["within"])
    assert varied["repeats"]["between_variance"] == pytest.approx(split["between"])
    # Consistency by hand: (case, criterion) whose samples all agree.
    units = {}
    for case in results["cases"]:
        for answer in [case["answers"]["varied"], *case["samples"]["varied"]]:
            for c in answer["criteria"]:
                if c["met"] is not None:
                    units.setdefault((case["id"], c["id"]), set()).add(c["met"])
    assert varied["repeats"]["units"] == len(units)
    assert varied["repeats"]["consistency"] == pytest.approx(sum(len(v) == 1 for v in units.values()) / len(units))
    good = next(m for m in results["models"] if m["id"] == "good")
    assert good["repeats"]["consistency"] == 1.0  # the same answer every time
    assert good["repeats"]["pass_hat_k"] is None and "judge" in good["repeats"]["pass_hat_k_reason"]
    runs = sorted((tmp_path / "reports" / "mini").iterdir())
    page = (runs[-1] / "index.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="repeats">'):]
    section = section[:section.index("</section>")]
    assert section.count("<tr><td class=\"mono\">") == 2  # one row per model
    assert "judge judge (rank) · 3 samples of each case" in (runs[-1] / "summary.md").read_text(encoding="utf-8")
    assert f"{varied['repeats']['consistency'] * 100:.1f}% <span class=\"small muted\">of {varied['repeats']['units']}</span>" in section


def test_every_sample_is_judged_and_win_rates_pool_samples_per_case(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, n_cases=6)
    assert _run(tmp_path, "--repeat", "2") == 0
    results = _latest(tmp_path)
    judgments = [j for case in results["cases"] for j in case["judgments"]]
    assert len(judgments) == 6 * 2 * 2  # cases x samples x orders
    assert sorted({j["sample"] for j in judgments}) == [0, 1]
    row = results["pairwise"][0]
    assert row["n"] == 6  # one outcome per case, over its samples and orders
    # The case's outcome is the share of its samples' and orders' rankings that put a first.
    wins = []
    for case in results["cases"]:
        firsts = [j["ranking"][0] == row["a"] for j in case["judgments"]]
        wins.append(sum(firsts) / len(firsts))
    assert row["win_rate"] == pytest.approx(float(np.mean(wins)))
    graded = [c for case in results["cases"] for a in [case["answers"]["varied"], *case["samples"]["varied"]]
              for c in a["criteria"] if c["source"] == "judge"]
    assert len(graded) == 6 * 2  # the judge-graded criterion, in every sample


def test_pass_hat_k_in_a_check_only_suite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, n_cases=8, judged=False)
    rubric = tmp_path / "rubrics" / "mini.yaml"
    data = yaml.safe_load(rubric.read_text())
    data["criteria"] = [c for c in data["criteria"] if "check" in c]  # no judge-graded criterion left
    rubric.write_text(yaml.safe_dump(data))
    assert _run(tmp_path, "--repeat", "4") == 0
    varied = next(m for m in _latest(tmp_path)["models"] if m["id"] == "varied")
    results = _latest(tmp_path)
    per_case = [[a["score"] == 1.0 for a in [case["answers"]["varied"], *case["samples"]["varied"]]]
                for case in results["cases"]]
    for k in range(1, 5):
        expected = np.mean([comb(sum(p), k) / comb(4, k) for p in per_case])
        assert varied["repeats"]["pass_hat_k"][str(k)] == pytest.approx(expected)
    assert 0 < varied["repeats"]["pass_hat_k"]["1"] < 1


OLD_TABLES = {  # the four tables as bench wrote them before repeats (no sample column)
    "grades": "run_id TEXT NOT NULL, case_id TEXT NOT NULL, model_id TEXT NOT NULL, criterion_id TEXT NOT NULL, "
              "met INTEGER, source TEXT NOT NULL, detail TEXT, PRIMARY KEY (run_id, case_id, model_id, criterion_id)",
    "judgments": "run_id TEXT NOT NULL, case_id TEXT NOT NULL, rep INTEGER NOT NULL, judge_id TEXT NOT NULL, "
                 "shown_order TEXT NOT NULL, ranking TEXT, error TEXT, attempts INTEGER NOT NULL, "
                 "PRIMARY KEY (run_id, case_id, rep, judge_id)",
    "answers": "run_id TEXT NOT NULL, case_id TEXT NOT NULL, model_id TEXT NOT NULL, key TEXT NOT NULL, "
               "text TEXT NOT NULL, ttft_s REAL, latency_s REAL, input_tokens INTEGER, output_tokens INTEGER, "
               "tokens_per_s REAL, finish_reason TEXT, error TEXT, cost_usd REAL, retries INTEGER, "
               "PRIMARY KEY (run_id, case_id, model_id)",
    "judge_scores": "run_id TEXT NOT NULL, case_id TEXT NOT NULL, model_id TEXT NOT NULL, judge_id TEXT NOT NULL, "
                    "scores TEXT, error TEXT, attempts INTEGER NOT NULL, rationale TEXT, "
                    "PRIMARY KEY (run_id, case_id, model_id, judge_id)",
}


def _make_old(path: Path) -> None:
    """Rewrite a store's tables as an older bench had them: no sample column (the columns added later kept)."""
    db = sqlite3.connect(path)
    for table, ddl in OLD_TABLES.items():
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})") if r[1] != "sample"]
        base = {part.split()[0] for part in ddl.split(", ") if not part.startswith("PRIMARY")}
        db.execute(f"CREATE TABLE old_{table} ({ddl})")
        for extra in (c for c in columns if c not in base):
            db.execute(f"ALTER TABLE old_{table} ADD COLUMN {extra}")
        db.execute(f"INSERT INTO old_{table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {table}")
        db.execute(f"DROP TABLE {table}")
        db.execute(f"ALTER TABLE old_{table} RENAME TO {table}")
    db.commit()
    db.close()


def test_a_store_from_before_repeats_opens_and_its_runs_rebuild(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = write_project(tmp_path, n_cases=4)
    suite.write_text(suite.read_text().replace("judging: {mode: rank,", "judging: {mode: [rank, score],"))
    assert _run(tmp_path) == 0
    run_id = _latest(tmp_path)["run_id"]
    path = tmp_path / ".bench" / "bench.sqlite"
    store = Store(path)
    before = build_results(store, run_id).model_dump(mode="json")
    store.close()
    _make_old(path)
    db = sqlite3.connect(path)
    assert "sample" not in [r[1] for r in db.execute("PRAGMA table_info(answers)")]
    db.close()
    store = Store(path)  # rebuilds the four tables, rows becoming sample 0
    try:
        after = build_results(store, run_id).model_dump(mode="json")
        keys = [r[1] for r in store._rows("PRAGMA table_info(answers)") if r[5]]  # primary key columns
    finally:
        store.close()
    assert after == before
    assert "sample" in keys
    assert before["judge"]["judgments"] == 4 * 2 and before["models"][0]["judge_scores"]["overall"]["n"] == 4
    # The same command again answers everything from the migrated cache.
    assert _run(tmp_path) == 0
    assert _latest(tmp_path)["generation"]["calls"] == 0


def test_a_mock_that_does_not_sample_keeps_its_fingerprint(tmp_path):
    # The fingerprints bench gives these models without sample_by_seed (main's mock, with its `echo` option):
    # their cached calls stay valid.
    from harness.config import load_models
    from harness.registry import create_adapter

    write_project(tmp_path)
    models = load_models(tmp_path / "models.yaml")
    assert {mid: create_adapter(entry).fingerprint() for mid, entry in models.items()} == {
        "good": "mock:b3eafdd1dee3bb87", "bad": "mock:f741d9bca8014ace", "judge": "mock:aca9eb6e83f6fb83"}
    sampling = models["good"].model_copy(update={"options": models["good"].options.model_copy(
        update={"sample_by_seed": True})})
    assert create_adapter(sampling).fingerprint() != "mock:b3eafdd1dee3bb87"


def test_compare_pairs_case_means_over_samples(tmp_path, monkeypatch):
    from harness.compare import N_BOOT, SEED, compare_runs
    from harness.results.model import Results

    monkeypatch.chdir(tmp_path)
    suite = _project(tmp_path, n_cases=6, judged=False)
    assert _run(tmp_path, "--repeat", "3") == 0
    old = _latest(tmp_path)
    suite.write_text(suite.read_text().replace("seed: 5", "seed: 50"))
    assert _run(tmp_path, "--repeat", "3") == 0
    new = _latest(tmp_path)

    def means(results: dict) -> list[float]:
        return [float(np.mean([a["score"] for a in [c["answers"]["varied"], *c["samples"]["varied"]]]))
                for c in results["cases"]]

    change = next(m for m in compare_runs(Results.model_validate(old), Results.model_validate(new)).models
                  if m.id == "varied")
    expected = stats.paired_bootstrap(means(new), means(old), n_boot=N_BOOT, seed=SEED)
    assert change.score.n == 6 and means(new) != means(old)
    assert change.score.diff == pytest.approx(expected[0]) and change.score.ci == pytest.approx(list(expected[1]))
