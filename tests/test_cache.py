"""`bench cache`: what the cache holds per model and stage, clearing and pruning it, and finished runs that keep
their results through both."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from harness.adapters import mock
from harness.cache import cache_groups, parse_age, remove_cached, store_bytes
from harness.cli import main
from harness.errors import ConfigError
from harness.report.formatting import byte_size
from harness.store import Store


def _figures(results: dict) -> dict:
    """What a run's results say, less the timings of the command that wrote them."""
    return {k: v for k, v in results.items() if k not in ("wall_time_s", "stages", "created_at")}


@pytest.fixture
def finished_run(mock_project):
    root = mock_project.parent.parent
    assert main(["run", "mini", "--quiet"]) == 0
    (path,) = (root / "reports" / "mini").glob("*/results.json")
    return root, path


def test_parse_age_takes_days_and_hours():
    assert parse_age("30d") == 30 * 86400 and parse_age("12h") == 12 * 3600 and parse_age("1.5d") == 129600
    for bad in ("30m", "d", "-2d", "0h", ""):
        with pytest.raises(ConfigError, match="--older-than: .* is not an age"):
            parse_age(bad)


def test_byte_sizes():
    assert [byte_size(v) for v in (0, 1023, 1024, 1536, 5 * 1024 ** 2, 3 * 1024 ** 3)] == \
        ["0 B", "1023 B", "1.0 KiB", "1.5 KiB", "5.0 MiB", "3.00 GiB"]
    assert byte_size(None) == "-"


def test_info_counts_calls_and_text_per_model_and_stage(finished_run, capsys):
    root, _ = finished_run
    store = Store(root / ".bench" / "bench.sqlite")
    groups = {(g.model_id, g.stage): g for g in cache_groups(store)}
    # 6 cases: each model answers 6; the judge grades 12 answers on one criterion and ranks 6 cases in 2 orders.
    assert {k: g.calls for k, g in groups.items()} == {("bad", "answer"): 6, ("good", "answer"): 6,
                                                       ("judge", "grade"): 12, ("judge", "judge"): 12}
    assert groups[("bad", "answer")].text_bytes == 6 * len("You have the flu. Rest.")
    assert groups[("bad", "answer")].oldest <= groups[("bad", "answer")].newest <= time.time()
    store.close()
    assert main(["cache", "--store", str(root / ".bench" / "bench.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "36 cached calls" in out and "138 B" in out  # 6 x 23 bytes of "You have the flu. Rest."
    assert main(["cache", "info", "--model", "good"]) == 2  # filters go with clear or prune


def test_clear_asks_then_removes_and_finished_runs_keep_their_results(finished_run, capsys, monkeypatch):
    root, path = finished_run
    before = json.loads(path.read_text())
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["cache", "clear"]) == 2  # no terminal to ask on, no --yes
    assert "add --yes" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["cache", "clear"]) == 0 and "nothing removed" in capsys.readouterr().out
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert main(["cache", "clear", "--model", "good", "--stage", "answer"]) == 0
    out = capsys.readouterr().out
    assert "removed 6 cached calls:" in out and "good / answer: 6" in out
    assert main(["cache", "clear", "--yes"]) == 0
    assert "removed 30 cached calls" in capsys.readouterr().out
    db = sqlite3.connect(root / ".bench" / "bench.sqlite")
    assert db.execute("SELECT COUNT(*) FROM generations").fetchone()[0] == 0
    # The run's results are computed from its own rows: the same after the cache is gone, even with its
    # results.json removed (so nothing can be read back from the file: all of it comes from the store).
    path.unlink()
    assert main(["report", before["run_id"]]) == 0
    after = json.loads(path.read_text())
    assert _figures(after) == _figures(before)
    # The next run asks the models again.
    mock.CALLS.clear()
    assert main(["run", "mini", "--quiet"]) == 0
    assert sum(mock.CALLS.values()) == 36


def test_prune_removes_only_entries_older_than_the_age(finished_run, capsys):
    root, _ = finished_run
    db_path = root / ".bench" / "bench.sqlite"
    db = sqlite3.connect(db_path)
    forty_days_ago = time.time() - 40 * 86400
    db.execute("UPDATE generations SET created_at = ? WHERE model_id = 'bad'", (forty_days_ago,))
    db.commit()
    db.close()
    assert main(["cache", "prune", "--older-than", "41d", "--yes"]) == 0
    assert "no cached calls match" in capsys.readouterr().out
    assert main(["cache", "prune", "--older-than", "30d", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "removed 6 cached calls:" in out and "bad / answer: 6" in out
    store = Store(db_path)
    assert sum(g.calls for g in cache_groups(store)) == 30
    assert remove_cached(store, model="nobody") == []
    store.close()
    assert main(["cache", "prune"]) == 2  # needs --older-than
    assert main(["cache", "clear", "--older-than", "3d"]) == 2


def test_clearing_everything_gives_the_space_back(finished_run, capsys):
    root, _ = finished_run
    db_path = root / ".bench" / "bench.sqlite"
    store = Store(db_path)
    big = "x" * 200_000
    with store.transaction() as db:
        for i in range(20):  # 4 MB of cached text
            db.execute("INSERT INTO generations (key, model_id, fingerprint, stage, request, text, latency_s, "
                       "created_at) VALUES (?, 'big', 'f', 'answer', '{}', ?, 0, ?)", (f"k{i}", big, time.time()))
    store.close()
    full = store_bytes(db_path)
    assert full > 4_000_000
    assert main(["cache", "clear", "--model", "big", "--yes"]) == 0
    assert store_bytes(db_path) < full - 3_500_000


def test_no_store_is_nothing_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["cache"]) == 0 and "nothing cached" in capsys.readouterr().out


def test_clear_by_fingerprint_reaches_the_calls_made_under_any_id_of_the_model(finished_run, capsys):
    root, _ = finished_run
    db = sqlite3.connect(root / ".bench" / "bench.sqlite")
    (fingerprint,) = {r[0] for r in db.execute("SELECT fingerprint FROM generations WHERE model_id = 'good'")}
    # the same model under a shorthand id: its calls are stored under the id of the run that made them first
    with db:
        db.execute("UPDATE generations SET model_id = 'mock/other-name' WHERE model_id = 'good' AND stage = 'answer'")
    assert main(["cache", "clear", "--model", fingerprint, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "removed 6 cached calls:" in out and "mock/other-name / answer: 6" in out
    assert db.execute("SELECT COUNT(*) FROM generations WHERE fingerprint = ?", (fingerprint,)).fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM generations").fetchone()[0] == 30
