"""The store's tables (harness.store): the schema a new store is made with, and the columns added since the
first release, which an older store gains when opened (harness.store_migrations makes the changes `ALTER TABLE`
cannot)."""

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
    met INTEGER, source TEXT NOT NULL, detail TEXT, sample INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, case_id, model_id, sample, criterion_id)
);
CREATE TABLE IF NOT EXISTS judgments (
    run_id TEXT NOT NULL, case_id TEXT NOT NULL, rep INTEGER NOT NULL, judge_id TEXT NOT NULL,
    shown_order TEXT NOT NULL, ranking TEXT, error TEXT, attempts INTEGER NOT NULL, sample INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, case_id, sample, rep, judge_id)
);
CREATE TABLE IF NOT EXISTS answers (
    run_id TEXT NOT NULL, case_id TEXT NOT NULL, model_id TEXT NOT NULL, key TEXT NOT NULL, text TEXT NOT NULL,
    ttft_s REAL, latency_s REAL, input_tokens INTEGER, output_tokens INTEGER, tokens_per_s REAL,
    finish_reason TEXT, error TEXT, cost_usd REAL, retries INTEGER, sample INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, case_id, model_id, sample)
);
CREATE TABLE IF NOT EXISTS judge_scores (
    run_id TEXT NOT NULL, case_id TEXT NOT NULL, model_id TEXT NOT NULL, judge_id TEXT NOT NULL, scores TEXT,
    error TEXT, attempts INTEGER NOT NULL, rationale TEXT, sample INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, case_id, model_id, sample, judge_id)
);
CREATE TABLE IF NOT EXISTS exam_trials (
    run_id TEXT NOT NULL, judge_id TEXT NOT NULL, case_id TEXT NOT NULL, corruption TEXT NOT NULL,
    shown_order TEXT NOT NULL, correct REAL, error TEXT, attempts INTEGER NOT NULL, rationale TEXT, texts TEXT,
    PRIMARY KEY (run_id, judge_id, case_id, corruption, shown_order)
);
CREATE TABLE IF NOT EXISTS fidelity (
    run_id TEXT NOT NULL, model_id TEXT NOT NULL, reference TEXT NOT NULL, kind TEXT, size_mib REAL,
    reference_kind TEXT, reference_size_mib REAL, source TEXT NOT NULL, seconds REAL, reason TEXT, texts TEXT,
    created_at REAL NOT NULL, cache_key TEXT,
    PRIMARY KEY (run_id, model_id, reference)
);
CREATE TABLE IF NOT EXISTS planted_trials (
    run_id TEXT NOT NULL, judge_id TEXT NOT NULL, case_id TEXT NOT NULL, planted INTEGER NOT NULL,
    shown_order TEXT NOT NULL, weak_first INTEGER, attempts INTEGER NOT NULL,
    PRIMARY KEY (run_id, judge_id, case_id, planted, shown_order)
);
"""

# Columns added after the first release: an older store gains them when opened.
ADDED_COLUMNS = {
    "runs": {"spec": "TEXT", "wall_time_s": "REAL", "stages_done_at": "REAL", "stage_times": "TEXT"},
    "grades": {"axis": "TEXT", "points": "REAL", "position": "INTEGER", "rationale": "TEXT", "met_loose": "INTEGER"},
    "judgments": {"pair": "TEXT", "rationale": "TEXT", "strength": "TEXT"},
    "answers": {"flags": "TEXT", "turns": "TEXT"},
    "run_calls": {"model_id": "TEXT", "cost_usd": "REAL", "input_tokens": "INTEGER", "output_tokens": "INTEGER"},
}
