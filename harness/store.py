"""SQLite store (WAL): runs, the generation cache, grades and judgments.

Every finished model call is committed at once, so a run stopped by Ctrl-C or kill -9 loses at most the calls
in flight. The cache key is the model fingerprint plus the request; only successful generations serve as
cache entries, failures are kept apart (`failures`) for the record and retried next time.
`run_calls` remembers which keys a run used and whether the call was fresh; its primary key makes a resumed
run count each call once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from .adapters.base import Completion, stable_hash

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, suite TEXT NOT NULL, plan_hash TEXT NOT NULL, status TEXT NOT NULL,
    started_at REAL NOT NULL, finished_at REAL, report_path TEXT, plan TEXT
);
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY, model_id TEXT NOT NULL, fingerprint TEXT NOT NULL, stage TEXT NOT NULL,
    request TEXT NOT NULL, text TEXT NOT NULL, ttft_s REAL, latency_s REAL, input_tokens INTEGER,
    output_tokens INTEGER, tokens_per_s REAL, finish_reason TEXT, cost_usd REAL, retries INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, key TEXT NOT NULL, model_id TEXT NOT NULL,
    stage TEXT NOT NULL, error TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS run_calls (
    run_id TEXT NOT NULL, stage TEXT NOT NULL, key TEXT NOT NULL, fresh INTEGER NOT NULL,
    PRIMARY KEY (run_id, stage, key)
);
CREATE TABLE IF NOT EXISTS grades (
    run_id TEXT NOT NULL, case_id TEXT NOT NULL, model_id TEXT NOT NULL, criterion_id TEXT NOT NULL,
    met INTEGER, source TEXT NOT NULL, detail TEXT,
    PRIMARY KEY (run_id, case_id, model_id, criterion_id)
);
CREATE TABLE IF NOT EXISTS judgments (
    run_id TEXT NOT NULL, case_id TEXT NOT NULL, rep INTEGER NOT NULL, judge_id TEXT NOT NULL,
    shown_order TEXT NOT NULL, ranking TEXT, error TEXT, attempts INTEGER NOT NULL,
    PRIMARY KEY (run_id, case_id, rep, judge_id)
);
"""


def request_key(fingerprint: str, stage: str, messages: list[dict], settings: dict, extra: Any = None) -> str:
    return stable_hash({"fingerprint": fingerprint, "stage": stage, "messages": messages,
                        "settings": settings, "extra": extra})


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, tuple(params))

    # ------------------------------------------------------------ runs
    def find_resumable(self, plan_hash: str) -> str | None:
        row = self._exec("SELECT run_id FROM runs WHERE plan_hash = ? AND status != 'done' "
                         "ORDER BY started_at DESC LIMIT 1", (plan_hash,)).fetchone()
        return row["run_id"] if row else None

    def start_run(self, run_id: str, suite: str, plan_hash: str, plan: dict) -> None:
        self._exec("INSERT INTO runs (run_id, suite, plan_hash, status, started_at, plan) VALUES (?, ?, ?, 'running', ?, ?) "
                   "ON CONFLICT(run_id) DO UPDATE SET status = 'running'",
                   (run_id, suite, plan_hash, time.time(), json.dumps(plan)))

    def set_run_status(self, run_id: str, status: str, report_path: str | None = None) -> None:
        self._exec("UPDATE runs SET status = ?, finished_at = ?, report_path = COALESCE(?, report_path) WHERE run_id = ?",
                   (status, time.time(), report_path, run_id))

    def run_info(self, run_id: str) -> dict | None:
        row = self._exec("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return dict(row) if row else None

    def list_runs(self) -> list[dict]:
        return [dict(r) for r in self._exec("SELECT * FROM runs ORDER BY started_at DESC").fetchall()]

    # ------------------------------------------------------------ generations (the cache)
    def cached(self, key: str) -> Completion | None:
        row = self._exec("SELECT * FROM generations WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return Completion(text=row["text"], ttft_s=row["ttft_s"], latency_s=row["latency_s"],
                          input_tokens=row["input_tokens"], output_tokens=row["output_tokens"],
                          tokens_per_s=row["tokens_per_s"], finish_reason=row["finish_reason"],
                          cost_usd=row["cost_usd"], retries=row["retries"] or 0)

    def save_generation(self, key: str, model_id: str, fingerprint: str, stage: str, request: dict,
                        completion: Completion, run_id: str | None = None) -> None:
        now = time.time()
        if completion.error is not None:
            self._exec("INSERT INTO failures (run_id, key, model_id, stage, error, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (run_id, key, model_id, stage, completion.error, now))
            return
        c = completion
        self._exec(
            "INSERT OR REPLACE INTO generations (key, model_id, fingerprint, stage, request, text, ttft_s, latency_s, "
            "input_tokens, output_tokens, tokens_per_s, finish_reason, cost_usd, retries, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, model_id, fingerprint, stage, json.dumps(request, ensure_ascii=False), c.text, c.ttft_s,
             c.latency_s, c.input_tokens, c.output_tokens, c.tokens_per_s, c.finish_reason, c.cost_usd, c.retries, now))

    def record_call(self, run_id: str, stage: str, key: str, fresh: bool) -> None:
        self._exec("INSERT OR IGNORE INTO run_calls (run_id, stage, key, fresh) VALUES (?, ?, ?, ?)",
                   (run_id, stage, key, int(fresh)))

    def call_counts(self, run_id: str) -> dict[str, dict[str, int]]:
        rows = self._exec("SELECT stage, SUM(fresh) AS calls, SUM(1 - fresh) AS cached FROM run_calls "
                          "WHERE run_id = ? GROUP BY stage", (run_id,)).fetchall()
        return {r["stage"]: {"calls": int(r["calls"] or 0), "cached": int(r["cached"] or 0)} for r in rows}

    def failure_count(self, run_id: str, stage: str | None = None) -> int:
        sql, params = "SELECT COUNT(*) FROM failures WHERE run_id = ?", [run_id]
        if stage:
            sql += " AND stage = ?"
            params.append(stage)
        return int(self._exec(sql, params).fetchone()[0])

    # ------------------------------------------------------------ grades and judgments
    def save_grade(self, run_id: str, case_id: str, model_id: str, criterion_id: str, met: bool | None,
                   source: str, detail: str) -> None:
        self._exec("INSERT OR REPLACE INTO grades VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (run_id, case_id, model_id, criterion_id, None if met is None else int(met), source, detail))

    def save_judgment(self, run_id: str, case_id: str, rep: int, judge_id: str, shown_order: list[str],
                      ranking: list[str] | None, error: str | None, attempts: int) -> None:
        self._exec("INSERT OR REPLACE INTO judgments VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (run_id, case_id, rep, judge_id, json.dumps(shown_order),
                    json.dumps(ranking) if ranking is not None else None, error, attempts))
