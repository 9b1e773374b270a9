"""The executor at scale: cache lookups and the run's notes of cached calls go to SQLite a chunk of keys at a
time; each lane runs at most its concurrency and takes its calls one by one; the progress bar moves for every
call; a server on this machine keeps its concurrency unless its entry says `local: true`; the run records
each stage's time and each model's retries, and its wall time covers the statistics and the report."""

from __future__ import annotations

import json
import math
import textwrap
import threading
import time

import pytest

from harness.adapters.base import Adapter, Completion, GenerationSettings, StrictOptions
from harness.adapters.mock import MockAdapter, MockOptions
from harness.config import load_models
from harness.executor import LOCAL_LANE, Call, Executor, describe_lane, lane_of
from harness.registry import create_adapter
from harness.store import LOOKUP_CHUNK, Store
from tests.helpers.fake_openai import FakeOpenAI
from tests.helpers.http_server import LocalServer

SETTINGS = GenerationSettings(max_tokens=8)


class Progress:
    """Records what the executor tells a progress bar."""

    def __init__(self):
        self.totals: dict[int, int] = {}
        self.advances: list[tuple[int, int]] = []

    def add_task(self, description, total, completed=0):
        self.totals[len(self.totals)] = total
        return len(self.totals) - 1

    def advance(self, task, amount=1):
        self.advances.append((task, amount))


class Tracking(Adapter):
    """Sleeps `delay_s` per call and records how many of its calls (and of its lane's) ran at once."""

    Options = StrictOptions

    def __init__(self, model_id, *, local=False, max_concurrency=1, delay_s=0.01, shared=None):
        super().__init__(model_id, StrictOptions(), max_concurrency=max_concurrency)
        self.local, self.delay_s = local, delay_s
        self.shared = shared if shared is not None else {"now": 0, "peak": 0}
        self.mine = {"now": 0, "peak": 0, "calls": 0}
        self._lock = threading.Lock()

    def fingerprint(self):
        return f"tracking:{self.model_id}"

    def generate(self, messages, settings, json_schema=None):
        with self._lock:
            for counter in (self.mine, self.shared):
                counter["now"] += 1
                counter["peak"] = max(counter["peak"], counter["now"])
            self.mine["calls"] += 1
        time.sleep(self.delay_s)
        with self._lock:
            for counter in (self.mine, self.shared):
                counter["now"] -= 1
        return Completion("ok", 0.0, self.delay_s, 1, 1, None, "stop")


def calls_for(adapter, n, start=0):
    return [Call(adapter, "answer", [{"role": "user", "content": f"q{i}"}], SETTINGS, extra={"i": i})
            for i in range(start, start + n)]


def test_cache_lookups_and_cached_calls_go_to_sqlite_a_chunk_at_a_time(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    model = MockAdapter("m", MockOptions())
    n = 2 * LOOKUP_CHUNK + 7
    Executor(store, "first", Progress()).run(calls_for(model, n), "answers")
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    progress = Progress()
    calls = calls_for(model, n)
    Executor(store, "second", progress).run(calls, "answers")
    store._db.set_trace_callback(None)
    chunks = math.ceil(n / LOOKUP_CHUNK)
    assert sum(s.startswith("SELECT * FROM generations WHERE key IN (") for s in statements) == chunks
    assert not any("WHERE key = ?" in s or "WHERE key = '" in s for s in statements)
    assert sum(s == "BEGIN" for s in statements) == chunks  # one transaction per chunk notes its cached calls
    assert all(c.result.text and not c.fresh for c in calls)
    assert store.call_counts("second") == {"answer": {"calls": 0, "cached": n}}
    assert progress.totals == {0: n} and [a for _, a in progress.advances] == [LOOKUP_CHUNK, LOOKUP_CHUNK, 7]


def test_a_fresh_call_is_saved_and_counted_together(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    progress = Progress()
    Executor(store, "run", progress).run(calls_for(MockAdapter("m", MockOptions()), 3), "answers")
    store._db.set_trace_callback(None)
    # Three calls, each its own transaction holding its cache entry and its run note; progress once per call.
    assert sum(s == "BEGIN" for s in statements) == 3 and sum(s == "COMMIT" for s in statements) == 3
    assert store.call_counts("run") == {"answer": {"calls": 3, "cached": 0}}
    assert progress.advances == [(0, 1)] * 3


def test_each_lane_runs_at_most_its_concurrency(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    local_cpu = {"now": 0, "peak": 0}
    gguf_a = Tracking("gguf-a", local=True, shared=local_cpu)
    gguf_b = Tracking("gguf-b", local=True, shared=local_cpu)
    api = Tracking("api", max_concurrency=5, delay_s=0.05)
    calls = calls_for(gguf_a, 6) + calls_for(api, 40) + calls_for(gguf_b, 6, start=100)
    Executor(store, "run", Progress()).run(calls, "answers")
    assert local_cpu["peak"] == 1  # in-process models: one call at a time, never two models at once
    assert api.mine["peak"] == 5 and api.mine["calls"] == 40
    assert gguf_a.mine["calls"] == gguf_b.mine["calls"] == 6
    assert lane_of(gguf_a) == lane_of(gguf_b) and lane_of(gguf_a).name == LOCAL_LANE
    assert lane_of(api).concurrency == 5 and lane_of(api).name == "api"


def test_an_error_no_retry_can_fix_stops_the_lane_without_starting_the_rest(tmp_path):
    from harness.errors import AdapterError

    class Broken(Tracking):
        tickets = iter(range(1, 10**6))

        def generate(self, messages, settings, json_schema=None):
            ticket = next(self.tickets)  # taken under the GIL: each call its own number
            super().generate(messages, settings, json_schema)
            if ticket == 3:
                raise AdapterError("the key was rejected")
            return Completion("ok", 0.0, 0.0, 1, 1, None, "stop")

    broken = Broken("api", max_concurrency=2, delay_s=0.02)
    with pytest.raises(AdapterError, match="rejected"):
        Executor(Store(tmp_path / "s.sqlite"), "run", Progress()).run(calls_for(broken, 500), "answers")
    assert broken.mine["calls"] <= 3 + 2  # the failing call, and at most what was in flight beside it


def _slow_openai(delay_s: float):
    fake = FakeOpenAI(key="sk-sched", plan=lambda prompt, attempt: "slow", slow_s=delay_s)
    seen = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def handler(request, reply):
        with lock:
            seen["now"] += 1
            seen["peak"] = max(seen["peak"], seen["now"])
        try:
            fake(request, reply)
        finally:
            with lock:
                seen["now"] -= 1

    return handler, seen


@pytest.mark.parametrize("local", [False, True])
def test_a_server_on_this_machine_keeps_its_concurrency_unless_its_entry_says_local(tmp_path, monkeypatch, local):
    monkeypatch.setenv("SCHED_KEY", "sk-sched")
    handler, seen = _slow_openai(0.2)
    with LocalServer(handler) as server:
        (tmp_path / "models.yaml").write_text(textwrap.dedent(f"""\
            version: 1
            models:
              server:
                kind: openai
                model: m
                base_url: {server.url}/v1
                api_key_env: SCHED_KEY
                max_concurrency: 8
                local: {str(local).lower()}
            """))
        adapter = create_adapter(load_models(tmp_path / "models.yaml")["server"])
        adapter.generate([{"role": "user", "content": "warm"}], SETTINGS)  # the SDK imported, the client made
        n = 32 if not local else 4
        seen["peak"] = 0
        began = time.perf_counter()
        calls = calls_for(adapter, n)
        Executor(Store(tmp_path / "s.sqlite"), "run", Progress()).run(calls, "answers")
        wall = time.perf_counter() - began
        adapter.close()
    assert all(c.result.error is None for c in calls)
    # All 8 at once when the machine keeps up; a busy one may stagger the starts a little.
    assert seen["peak"] == 1 if local else 5 <= seen["peak"] <= 8
    if local:
        assert "lane 'local CPU', 1 call at a time" in describe_lane(adapter)
        assert "max_concurrency 8 unused" in describe_lane(adapter)
    else:
        assert wall < 4 * 0.2 * 2.5  # 4 waves of 8 at 0.2 s each, with room for a busy machine (serial: 6.4 s)
        assert describe_lane(adapter) == ("server: own lane, 8 calls at once (a server on this machine: set "
                                          "`local: true` if it computes on this CPU)")


def test_stage_times_retries_and_the_whole_wall_time_are_recorded(mock_project, monkeypatch):
    from harness.evaluate import run_suite
    from harness.lookup import find_run

    root = mock_project.parent.parent
    models = (root / "models.yaml").read_text()
    monkeypatch.setenv("SCHED_KEY", "sk-sched")
    # Every answer of the server model fails once with a 500 and is retried.
    fake = FakeOpenAI(key="sk-sched", plan=lambda prompt, attempt: "500" if attempt == 1 else None)
    with LocalServer(fake) as server:
        (root / "models.yaml").write_text(models + textwrap.indent(textwrap.dedent(f"""\
            server:
              kind: openai
              model: m
              base_url: {server.url}/v1
              api_key_env: SCHED_KEY
              backoff_initial_s: 0.01
              backoff_max_s: 0.02
            """), "  "))
        results, index = run_suite(mock_project, models_path=root / "models.yaml", model_ids=["good", "server"],
                                   quiet=True)
    stages = results.stages
    for name in ("setup_s", "answers_s", "grading_s", "judging_s", "statistics_s", "report_s"):
        assert getattr(stages, name) is not None and getattr(stages, name) >= 0, name
    assert stages.adversarial_s is None  # the suite plants no instructions (adversarial: 0)
    recorded = sum(v for v in stages.model_dump().values() if v is not None)
    assert results.wall_time_s >= round(recorded, 2) - 0.01  # the whole command, statistics and report included
    assert {m.id: m.retries for m in results.models} == {"good": 0, "server": 6}
    on_disk = json.loads((index.parent / "results.json").read_text())
    assert on_disk["wall_time_s"] == results.wall_time_s and on_disk["stages"] == stages.model_dump()
    assert f"wall time {results.wall_time_s:.1f} s" in (index.parent / "summary.md").read_text()
    html = index.read_text()
    assert "retries (answers)" in html and "ends after this page is written" in html
    # `bench report` rebuilds the same figures from the store.
    rebuilt, _ = find_run(results.run_id, reports_dir=root / "reports", store_path=root / ".bench" / "bench.sqlite")
    assert rebuilt.stages == stages and rebuilt.wall_time_s == results.wall_time_s
    assert {m.id: m.retries for m in rebuilt.models} == {"good": 0, "server": 6}
