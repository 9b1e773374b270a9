"""SQLite store (WAL): runs and what they were asked, the generation cache, and every stage's rows.

Every finished model call is committed at once, so a run stopped by Ctrl-C or kill -9 loses at most the calls
in flight. The cache key is the model fingerprint plus the request; only successful generations serve as
cache entries, failures are kept apart (`failures`) for the record and retried next time.
`run_calls` remembers which keys a run used and whether the call was fresh; its primary key makes a resumed
run count each call once. A run's answers, grades, judgments and planted-instruction trials are rows of their
own, with the run's spec (a snapshot of the suite, rubric, cases, models and gates it was asked): results are
computed from these rows and the run id alone (harness.results), so the cache can be pruned without losing
a finished run.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from .adapters.base import Completion
from .files import stable_hash
from .records import Answer, CriterionResult, ExamTrial, Judgment, JudgeScore, PlantedTrial
from .store_migrations import key_samples
from .store_schema import ADDED_COLUMNS as _ADDED_COLUMNS, SCHEMA

# Keys per cache query: well under SQLite's limit on bound parameters (32,766 since 3.32, 999 before).
LOOKUP_CHUNK = 500


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
            key_samples(self._db, SCHEMA)  # a store from before repeats: its rows become sample 0
            for table, columns in _ADDED_COLUMNS.items():
                have = {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}
                for name, sql_type in columns.items():
                    if name not in have:
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, tuple(params))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Statements that commit together (one commit, one fsync at most) or not at all."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    # ------------------------------------------------------------ runs
    def find_resumable(self, plan_hash: str) -> str | None:
        row = self._exec("SELECT run_id FROM runs WHERE plan_hash = ? AND status != 'done' "
                         "ORDER BY started_at DESC LIMIT 1", (plan_hash,)).fetchone()
        return row["run_id"] if row else None

    def start_run(self, run_id: str, suite: str, plan_hash: str, plan: dict, spec: dict) -> None:
        """Record the run (or mark a resumed one running again) with the spec it runs under now."""
        self._exec("INSERT INTO runs (run_id, suite, plan_hash, status, started_at, plan, spec) "
                   "VALUES (?, ?, ?, 'running', ?, ?, ?) "
                   "ON CONFLICT(run_id) DO UPDATE SET status = 'running', spec = excluded.spec",
                   (run_id, suite, plan_hash, time.time(), json.dumps(plan), json.dumps(spec, ensure_ascii=False)))

    def finish_stages(self, run_id: str, wall_time_s: float | None = None) -> None:
        """The model stages are done: results can be computed. `wall_time_s` is the whole command's time, when
        known (a run records it again once its report is written, with `record_times`)."""
        self._exec("UPDATE runs SET wall_time_s = ?, stages_done_at = ? WHERE run_id = ?",
                   (wall_time_s, time.time(), run_id))

    def record_times(self, run_id: str, stages: dict[str, float], wall_time_s: float | None = None) -> None:
        """Seconds per stage (merged into those recorded before, a stage measured again replacing its figure)
        and, when given, the whole command's wall time: what the run's Results report as its timings."""
        with self._transaction() as db:
            row = db.execute("SELECT stage_times FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            times = json.loads(row["stage_times"]) if row and row["stage_times"] else {}
            times.update(stages)
            db.execute("UPDATE runs SET stage_times = ?, wall_time_s = COALESCE(?, wall_time_s) WHERE run_id = ?",
                       (json.dumps(times), wall_time_s, run_id))

    def set_run_status(self, run_id: str, status: str, report_path: str | None = None) -> None:
        self._exec("UPDATE runs SET status = ?, finished_at = ?, report_path = COALESCE(?, report_path) WHERE run_id = ?",
                   (status, time.time(), report_path, run_id))

    def run_info(self, run_id: str) -> dict | None:
        row = self._exec("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        info = dict(row)
        for key in ("plan", "spec", "stage_times"):
            info[key] = json.loads(info[key]) if info.get(key) else None
        return info

    # ------------------------------------------------------------ generations (the cache)
    def cached(self, key: str) -> Completion | None:
        row = self._exec("SELECT * FROM generations WHERE key = ?", (key,)).fetchone()
        return None if row is None else completion_from_row(row)

    def cached_many(self, keys: list[str], made_by: str | None = None) -> dict[str, sqlite3.Row]:
        """The cache rows of `keys` that have one, by key: one query per `LOOKUP_CHUNK` keys. Rows, not
        Completions, so that each caller makes its own (a Completion is mutable). With `made_by`, only the
        calls that run made fresh (a run that answers afresh, resumed)."""
        found: dict[str, sqlite3.Row] = {}
        unique = list(dict.fromkeys(keys))
        only_run = ("" if made_by is None else
                    " AND key IN (SELECT key FROM run_calls WHERE run_id = ? AND fresh = 1)")
        for start in range(0, len(unique), LOOKUP_CHUNK):
            chunk = unique[start:start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            params = chunk if made_by is None else [*chunk, made_by]
            for row in self._rows(f"SELECT * FROM generations WHERE key IN ({marks}){only_run}", params):
                found[row["key"]] = row
        return found

    def save_generation(self, key: str, model_id: str, fingerprint: str, stage: str, request: dict,
                        completion: Completion, run_id: str | None = None) -> None:
        """Keep a finished call: a success as a cache entry (and, given a run, as one of the run's fresh calls,
        in the same transaction: a call is either saved and counted or neither); a failure for the record."""
        now = time.time()
        c = completion
        if c.error is not None:
            self._exec("INSERT INTO failures (run_id, key, model_id, stage, error, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (run_id, key, model_id, stage, c.error, now))
            return
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO generations (key, model_id, fingerprint, stage, request, text, ttft_s, "
                "latency_s, input_tokens, output_tokens, tokens_per_s, finish_reason, cost_usd, retries, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, model_id, fingerprint, stage, json.dumps(request, ensure_ascii=False), c.text, c.ttft_s,
                 c.latency_s, c.input_tokens, c.output_tokens, c.tokens_per_s, c.finish_reason, c.cost_usd,
                 c.retries, now))
            if run_id is not None:
                db.execute("INSERT OR IGNORE INTO run_calls (run_id, stage, key, fresh, model_id, cost_usd, "
                           "input_tokens, output_tokens) VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
                           (run_id, stage, key, model_id, c.cost_usd, c.input_tokens, c.output_tokens))

    def record_call(self, run_id: str, stage: str, key: str, fresh: bool) -> None:
        self.record_calls(run_id, [(stage, key)], fresh)

    def record_calls(self, run_id: str, calls: list[tuple], fresh: bool) -> None:
        """Note calls of the run, in one transaction: (stage, key) pairs, or (stage, key, cache row) with the
        generation's row (its model, cost and tokens are kept with the run, so the run's cost survives a pruned
        cache); a pair already noted keeps its first entry (a resumed run counts each call once)."""
        if not calls:
            return

        def row(call: tuple) -> tuple:
            found = call[2] if len(call) > 2 else None
            meta = (found["model_id"], found["cost_usd"], found["input_tokens"], found["output_tokens"]) \
                if found is not None else (None, None, None, None)
            return (run_id, call[0], call[1], int(fresh), *meta)

        with self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO run_calls (run_id, stage, key, fresh, model_id, cost_usd, "
                           "input_tokens, output_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [row(c) for c in calls])

    def call_counts(self, run_id: str) -> dict[str, dict[str, int]]:
        rows = self._rows("SELECT stage, SUM(fresh) AS calls, SUM(1 - fresh) AS cached FROM run_calls "
                          "WHERE run_id = ? GROUP BY stage", (run_id,))
        return {r["stage"]: {"calls": int(r["calls"] or 0), "cached": int(r["cached"] or 0)} for r in rows}

    def call_costs(self, run_id: str) -> list[dict]:
        """Per model, stage and fresh/cached: calls, those with a known cost, their summed cost and tokens. A call
        noted before costs were kept with the run takes them from its cache row, while that row exists."""
        rows = self._rows(
            "SELECT COALESCE(rc.model_id, g.model_id) AS model_id, rc.stage AS stage, rc.fresh AS fresh, "
            "COUNT(*) AS calls, COUNT(COALESCE(rc.cost_usd, g.cost_usd)) AS priced, "
            "SUM(COALESCE(rc.cost_usd, g.cost_usd)) AS cost_usd, "
            "SUM(COALESCE(rc.input_tokens, g.input_tokens)) AS input_tokens, "
            "SUM(COALESCE(rc.output_tokens, g.output_tokens)) AS output_tokens "
            "FROM run_calls rc LEFT JOIN generations g ON g.key = rc.key AND rc.model_id IS NULL "
            "WHERE rc.run_id = ? GROUP BY 1, 2, 3", (run_id,))
        return [dict(r) for r in rows]

    def run_spend(self, run_id: str) -> float:
        """USD the run's own calls cost (the calls it made, not those the cache answered), where known."""
        return float(sum(r["cost_usd"] or 0.0 for r in self.call_costs(run_id) if r["fresh"]))

    def failure_count(self, run_id: str) -> int:
        """Calls of this run that ended failed: a call that failed and then succeeded (a resumed run asks again)
        is not a failure, and one that failed several times counts once."""
        return int(self._exec("SELECT COUNT(DISTINCT key) FROM failures WHERE run_id = ? AND key NOT IN "
                              "(SELECT key FROM run_calls WHERE run_id = ?)", (run_id, run_id)).fetchone()[0])

    # ------------------------------------------------------------ for modules that report on the store
    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self._rows(sql, params)

    def transaction(self):
        """Statements that commit together or not at all (a context manager yielding the connection)."""
        return self._transaction()

    # ------------------------------------------------------------ a run's rows
    def save_answer(self, run_id: str, answer: Answer, key: str) -> None:
        self.save_answers(run_id, [(answer, key)])

    def save_answers(self, run_id: str, answers: list[tuple[Answer, str]]) -> None:
        """A stage's answers (each with its cache key), in one transaction."""
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO answers (run_id, case_id, model_id, key, text, ttft_s, latency_s, "
                           "input_tokens, output_tokens, tokens_per_s, finish_reason, error, cost_usd, retries, flags, "
                           "sample, turns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [(run_id, a.case_id, a.model_id, key, c.text, c.ttft_s, c.latency_s, c.input_tokens,
                             c.output_tokens, c.tokens_per_s, c.finish_reason, c.error, c.cost_usd, c.retries,
                             json.dumps(a.flags), a.sample, _turns_json(a)) for a, key in answers
                            for c in (a.completion,)])

    def save_grades(self, run_id: str, answer: Answer | list[Answer]) -> None:
        """The criterion grades of one answer or of many, in one transaction."""
        answers = answer if isinstance(answer, list) else [answer]
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO grades (run_id, case_id, model_id, criterion_id, met, source, detail, axis, "
                "points, position, rationale, met_loose, sample) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, a.case_id, a.model_id, r.criterion_id, None if r.met is None else int(r.met),
                  r.source, r.detail, r.axis, r.points, position, r.rationale,
                  None if r.met_loose is None else int(r.met_loose), a.sample)
                 for a in answers for position, r in enumerate(a.criteria)])

    def save_judgment(self, run_id: str, j: Judgment | list[Judgment]) -> None:
        """One judgment or many, in one transaction."""
        judgments = j if isinstance(j, list) else [j]
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO judgments (run_id, case_id, rep, judge_id, shown_order, ranking, error, "
                "attempts, pair, rationale, sample, strength) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, j.case_id, j.rep, j.judge_id, json.dumps(j.order),
                  json.dumps(j.ranking) if j.ranking is not None else None, j.error, j.attempts,
                  json.dumps(list(j.pair)) if j.pair else None, j.rationale, j.sample, j.strength) for j in judgments])

    def save_score(self, run_id: str, s: JudgeScore | list[JudgeScore]) -> None:
        """One judge score or many, in one transaction."""
        scores = s if isinstance(s, list) else [s]
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO judge_scores (run_id, case_id, model_id, judge_id, scores, error, "
                           "attempts, rationale, sample) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [(run_id, s.case_id, s.model_id, s.judge_id, json.dumps(s.scores) if s.scores else None,
                             s.error, s.attempts, s.rationale, s.sample) for s in scores])

    def save_exam_trial(self, run_id: str, t: ExamTrial | list[ExamTrial]) -> None:
        """One exam trial or many, in one transaction."""
        trials = t if isinstance(t, list) else [t]
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO exam_trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [(run_id, t.judge_id, t.case_id, t.corruption, json.dumps(t.order), t.correct, t.error,
                             t.attempts, t.rationale, json.dumps(list(t.texts)) if t.texts else None)
                            for t in trials])

    def save_trial(self, run_id: str, t: PlantedTrial | list[PlantedTrial]) -> None:
        """One planted-instruction trial or many, in one transaction."""
        trials = t if isinstance(t, list) else [t]
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO planted_trials VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(run_id, t.judge_id, t.case_id, int(t.planted), json.dumps(t.order),
                             None if t.weak_first is None else int(t.weak_first), t.attempts) for t in trials])

    def save_fidelity(self, run_id: str, row: dict[str, Any]) -> None:
        """One candidate against one reference: the texts' per-token figures (JSON), or the reason there are
        none. Written once the candidate is done, so a resumed run computes only what is missing."""
        self._exec("INSERT OR REPLACE INTO fidelity VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (run_id, row["model_id"], row["reference"], row.get("kind"), row.get("size_mib"),
                    row.get("reference_kind"), row.get("reference_size_mib"), json.dumps(row["source"]),
                    row.get("seconds"), row.get("reason"),
                    None if row.get("texts") is None else json.dumps(row["texts"]), time.time(), row.get("cache_key")))

    def fidelity_rows(self, run_id: str) -> list[dict[str, Any]]:
        return [_fidelity_row(r) for r in
                self._rows("SELECT * FROM fidelity WHERE run_id = ? ORDER BY created_at", (run_id,))]

    def cached_fidelity(self, cache_key: str) -> dict[str, Any] | None:
        """The latest scored row of any run for the same candidate, reference and texts (their fingerprints);
        a row without figures is never reused, it is tried again."""
        row = self._exec("SELECT * FROM fidelity WHERE cache_key = ? AND reason IS NULL AND texts IS NOT NULL "
                         "ORDER BY created_at DESC LIMIT 1", (cache_key,)).fetchone()
        return None if row is None else _fidelity_row(row)

    def answers(self, run_id: str) -> list[Answer]:
        """The run's answers with their criterion grades (in rubric order)."""
        grades: dict[tuple[str, str, int], list[CriterionResult]] = {}
        for g in self._rows("SELECT * FROM grades WHERE run_id = ? ORDER BY case_id, model_id, sample, position",
                            (run_id,)):
            grades.setdefault((g["case_id"], g["model_id"], g["sample"]), []).append(CriterionResult(
                g["criterion_id"], g["axis"], g["points"], None if g["met"] is None else bool(g["met"]),
                g["source"], g["detail"] or "", g["rationale"],
                None if g["met_loose"] is None else bool(g["met_loose"])))
        out = []
        for row in self._rows("SELECT * FROM answers WHERE run_id = ?", (run_id,)):
            completion = completion_from_row(row)
            completion.error = row["error"]
            out.append(Answer(row["case_id"], row["model_id"], completion,
                              grades.get((row["case_id"], row["model_id"], row["sample"]), []),
                              json.loads(row["flags"]) if row["flags"] else [], row["sample"],
                              [Completion(**t) for t in json.loads(row["turns"])] if row["turns"] else []))
        return out

    def judgments(self, run_id: str) -> list[Judgment]:
        return [Judgment(r["case_id"], r["rep"], json.loads(r["shown_order"]),
                         json.loads(r["ranking"]) if r["ranking"] else None, r["error"], r["attempts"], r["judge_id"],
                         tuple(json.loads(r["pair"])) if r["pair"] else None, r["rationale"], r["sample"],
                         r["strength"]) for r in self._rows("SELECT * FROM judgments WHERE run_id = ?", (run_id,))]

    def scores(self, run_id: str) -> list[JudgeScore]:
        return [JudgeScore(r["case_id"], r["model_id"], r["judge_id"], json.loads(r["scores"]) if r["scores"] else None,
                           r["error"], r["attempts"], r["rationale"], r["sample"])
                for r in self._rows("SELECT * FROM judge_scores WHERE run_id = ?", (run_id,))]

    def exam_trials(self, run_id: str) -> list[ExamTrial]:
        return [ExamTrial(r["judge_id"], r["case_id"], r["corruption"], json.loads(r["shown_order"]), r["correct"],
                          r["error"], r["attempts"], r["rationale"], tuple(json.loads(r["texts"])) if r["texts"] else None)
                for r in self._rows("SELECT * FROM exam_trials WHERE run_id = ?", (run_id,))]

    def trials(self, run_id: str) -> list[PlantedTrial]:
        return [PlantedTrial(r["judge_id"], r["case_id"], bool(r["planted"]), json.loads(r["shown_order"]),
                             None if r["weak_first"] is None else bool(r["weak_first"]), r["attempts"])
                for r in self._rows("SELECT * FROM planted_trials WHERE run_id = ?", (run_id,))]


def _fidelity_row(r: sqlite3.Row) -> dict[str, Any]:
    row = dict(r)
    row["source"] = json.loads(row["source"])
    row["texts"] = json.loads(row["texts"]) if row["texts"] else None
    return row


def completion_from_row(row: sqlite3.Row) -> Completion:
    return Completion(text=row["text"], ttft_s=row["ttft_s"], latency_s=row["latency_s"],
                      input_tokens=row["input_tokens"], output_tokens=row["output_tokens"],
                      tokens_per_s=row["tokens_per_s"], finish_reason=row["finish_reason"],
                      cost_usd=row["cost_usd"], retries=row["retries"] or 0)


def _turns_json(answer: Answer) -> str | None:
    """Every turn's completion of a multi-turn answer (None for a single-turn one)."""
    if not answer.turns:
        return None
    return json.dumps([dataclasses.asdict(t) for t in answer.turns], ensure_ascii=False)
