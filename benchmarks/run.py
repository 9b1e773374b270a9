"""bench's speed against its targets, measured in one run and printed side by side. Not a test: the figures
depend on the machine and on what else it is doing, so read them, do not gate on them.

    python benchmarks/run.py                 # everything: about 10 minutes on a 2-core machine
    python benchmarks/run.py --only fanout,scaling
    python benchmarks/run.py --quick         # smaller sizes, a first look in a minute or two

Sections (each prints its rows as it finishes, and all rows come again in one table at the end):
  llama    bench against a bare llama-cpp-python loop on the same prompts (bundled SmolLM2, greedy)
  fanout   the openai kind against a local stub answering after 250 ms, 32 / 64 / 128 calls at once
  warm     a warm re-run: 1,000 cases x 4 mock models and a mock judge, every call from the cache
  scaling  the answers stage on 2k / 4k / 8k / 16k fresh mock calls, and 100k calls from the cache
  scale    statistics and report time, and the report's size, at 8 models x 2,000 cases
Every run happens in a temporary folder (its own store and reports), removed at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.projects import write_mock_project  # noqa: E402

STUB = REPO / "benchmarks" / "openai_stub.py"
STUB_DELAY_S = 0.25


@dataclass
class Row:
    what: str
    measured: str
    target: str
    met: bool | None  # None: no target, a figure to read

    def line(self) -> str:
        verdict = {True: "met", False: "NOT MET", None: "-"}[self.met]
        return f"{self.what:<52} {self.measured:<34} {self.target:<22} {verdict}"


def _quiet_progress():
    from rich.console import Console

    from harness.progress import LineProgress

    return LineProgress(Console(quiet=True))


# ---------------------------------------------------------------- bench against a bare llama-cpp-python loop

LLAMA_MAX_TOKENS = 64
LLAMA_THREADS = 1


def _llama_prompts(quick: bool) -> list[list[dict]]:
    lines = (REPO / "suites" / "sbar-intake.jsonl").read_text().splitlines()
    return [json.loads(line)["messages"] for line in lines[: 3 if quick else 5]]


def bench_llama(quick: bool, work: Path) -> list[Row]:
    """bench's answers stage against a bare llama-cpp-python loop, on one llama.cpp context (two contexts in one
    process slow each other down, and separate processes drift apart on a shared machine). The context's
    prompt cache is cleared before every call, so neither side reuses what the other just evaluated; each
    prompt goes through both in turns, the order alternating; the figure is the median of the pairs' ratios."""
    from harness.adapters.base import GenerationSettings
    from harness.config import load_models
    from harness.executor import Call, Executor
    from harness.registry import create_adapter
    from harness.store import Store

    entry = load_models(REPO / "models.yaml")["smollm2-135m"]
    # One thread: on a shared machine two llama.cpp threads wait on each other whenever another process takes
    # a core, and that noise would swamp the difference measured here.
    entry = entry.model_copy(update={"options": entry.options.model_copy(update={"n_threads": LLAMA_THREADS})})
    chats, settings = _llama_prompts(quick), GenerationSettings(max_tokens=LLAMA_MAX_TOKENS)
    adapter = create_adapter(entry)
    adapter.generate(chats[0], settings)  # loads the weights and hashes the file once
    llm = adapter._llm
    store = Store(work / "llama.sqlite")
    executor = Executor(store, "llama", _quiet_progress())

    def raw(messages, key) -> tuple[float, str]:
        # In a thread of its own, as bench's executor runs calls: on this machine the same loop ran 4 to 7 times
        # slower in the main thread than in another one (measured, alternating), which would flatter bench.
        llm.reset()
        out: list[str] = []

        def loop() -> None:
            out.append("".join(chunk["choices"][0].get("delta", {}).get("content") or "" for chunk in
                               llm.create_chat_completion(messages=messages, stream=True, max_tokens=LLAMA_MAX_TOKENS,
                                                          temperature=0.0, top_p=1.0, seed=0, repeat_penalty=1.0)))

        began = time.perf_counter()
        worker = threading.Thread(target=loop)
        worker.start()
        worker.join()
        return time.perf_counter() - began, out[0]

    overheads = []

    def through_bench(messages, key) -> tuple[float, str]:
        llm.reset()
        call = Call(adapter, "answer", messages, settings, extra=key)  # a new key each time: never cached
        began = time.perf_counter()
        executor.run([call], None)
        wall = time.perf_counter() - began
        overheads.append(wall - call.result.latency_s)  # what bench adds around the model's own stream
        return wall, call.result.text

    ratios, raw_wall, same, pairs = [], 0.0, 0, 0
    for round_no in range(2 if quick else 4):
        for i, messages in enumerate(chats):
            first, second = (raw, through_bench) if (round_no + i) % 2 == 0 else (through_bench, raw)
            timed = {first: first(messages, [round_no, i]), second: second(messages, [round_no, i])}
            (r_wall, r_text), (b_wall, b_text) = timed[raw], timed[through_bench]
            ratios.append(b_wall / r_wall)
            raw_wall += r_wall
            same += b_text == r_text
            pairs += 1
    adapter.close()
    store.close()
    median = statistics.median(ratios)
    low, high = (statistics.quantiles(ratios, n=4)[i] for i in (0, 2))
    overhead_ms = 1e3 * statistics.median(overheads)
    return [Row(f"bench / bare llama-cpp-python, {len(chats)} prompts x {pairs // len(chats)}",
                f"median {median:.2f}x per prompt (IQR {low:.2f}-{high:.2f})", "<= 1.10x", median <= 1.10),
            Row("  bench's own time per call (outside the model's stream)",
                f"{overhead_ms:.1f} ms ({100 * overhead_ms / 1e3 / (raw_wall / pairs):.2f}% of a call)", "", None),
            Row("  same answer text as the bare loop", f"{same}/{pairs}", "all", same == pairs),
            Row("  bare loop, all prompts and rounds", f"{raw_wall:.1f} s", "", None)]


# ---------------------------------------------------------------- fan-out against a local stub

def bench_fanout(quick: bool, work: Path) -> list[Row]:
    from harness.adapters.base import GenerationSettings
    from harness.config import load_models
    from harness.executor import Call, Executor, describe_lane
    from harness.registry import create_adapter
    from harness.store import Store

    stub = subprocess.Popen([sys.executable, str(STUB), "--delay", str(STUB_DELAY_S)], stdout=subprocess.PIPE,
                            text=True)
    rows = []
    try:
        port = int(stub.stdout.readline())
        plan = [(256, 32, True), (1024, 32, False), (1024, 64, True), (1024, 128, False)]
        if quick:
            plan = [(256, 32, True), (512, 64, True)]
        for n, concurrency, has_target in plan:
            models = work / f"fanout-{n}-{concurrency}.yaml"
            models.write_text(f"version: 1\nmodels:\n  stub:\n    kind: openai\n    model: stub\n"
                              f"    base_url: http://127.0.0.1:{port}/v1\n    max_concurrency: {concurrency}\n")
            adapter = create_adapter(load_models(models)["stub"])
            if not rows:
                began = time.perf_counter()
                adapter.generate([{"role": "user", "content": "warm up"}], GenerationSettings())
                rows.append(Row("  first call (imports the SDK, opens the client)",
                                f"{time.perf_counter() - began:.2f} s; {describe_lane(adapter)}", "", None))
            else:
                adapter.generate([{"role": "user", "content": "warm up"}], GenerationSettings())
            store = Store(work / f"fanout-{n}-{concurrency}.sqlite")
            executor = Executor(store, "fanout", _quiet_progress())
            calls = [Call(adapter, "answer", [{"role": "user", "content": f"question {i}"}], GenerationSettings(),
                          extra={"i": i}) for i in range(n)]
            began = time.perf_counter()
            executor.run(calls, None)
            wall = time.perf_counter() - began
            failed = sum(1 for c in calls if c.result.error)
            ideal = math.ceil(n / concurrency) * STUB_DELAY_S
            ratio = wall / ideal
            rows.append(Row(f"fan-out: {n} calls at {concurrency} (250 ms each)",
                            f"{wall:.2f} s = {ratio:.2f}x ideal {ideal:g} s" + (f", {failed} failed" if failed else ""),
                            "<= 1.25x ideal" if has_target else "(no target)",
                            (ratio <= 1.25 and not failed) if has_target else None))
            adapter.close()
            store.close()
    finally:
        stub.terminate()
        tail = stub.communicate(timeout=10)[0].strip().splitlines()
    if tail:
        rows.append(Row("  stub: requests served, most in flight at once", tail[-1], "", None))
    return rows


# ---------------------------------------------------------------- runs through run_suite

def _run(project: Path, suite: str):
    from harness.evaluate import run_suite

    began = time.perf_counter()
    results, index = run_suite(suite, models_path=project / "models.yaml", reports_dir=project / "reports",
                               store_path=project / ".bench" / "bench.sqlite", quiet=True)
    return results, index, time.perf_counter() - began


def _stages(results) -> str:
    stages = results.stages.model_dump() if results.stages else {}
    return ", ".join(f"{k[:-2]} {v:.2f}" for k, v in stages.items() if v is not None)


def bench_warm(quick: bool, work: Path) -> list[Row]:
    n_cases = 250 if quick else 1000
    project = write_mock_project(work / "warm", n_cases=n_cases, n_models=4)
    cwd = os.getcwd()
    os.chdir(project)
    try:
        cold, _, cold_s = _run(project, "bench")
        warm, _, warm_s = _run(project, "bench")
    finally:
        os.chdir(cwd)
    return [Row(f"warm re-run: {n_cases:,} cases x 4 models, judged", f"{warm_s:.2f} s, {warm.generation.calls} new "
                f"calls, {warm.generation.cached:,} cached", "< 2 s, 0 new calls",
                warm_s < 2 and warm.generation.calls == 0),
            Row("  warm stages (s)", _stages(warm), "", None),
            Row("  the cold run before it", f"{cold_s:.1f} s, {cold.generation.calls:,} calls; {_stages(cold)}", "",
                None)]


def bench_scale(quick: bool, work: Path) -> list[Row]:
    n_cases = 500 if quick else 2000
    project = write_mock_project(work / "scale", n_cases=n_cases, n_models=8)
    cwd = os.getcwd()
    os.chdir(project)
    try:
        results, index, wall_s = _run(project, "bench")
    finally:
        os.chdir(cwd)
    stages = results.stages
    size_mb = sum(p.stat().st_size for p in index.parent.iterdir() if p.is_file()) / 1e6
    html_mb = index.stat().st_size / 1e6
    return [Row(f"statistics, 8 models x {n_cases:,} cases", f"{stages.statistics_s:.2f} s", "< 1.5 s",
                stages.statistics_s < 1.5),
            Row(f"report writing, 8 x {n_cases:,}", f"{stages.report_s:.2f} s", "(no target)", None),
            Row(f"report size, 8 x {n_cases:,}", f"index.html {html_mb:.1f} MB (folder {size_mb:.1f} MB)",
                "< 8 MB", html_mb < 8),
            Row("  that run's stages (s)", f"{_stages(results)}; whole {wall_s:.1f} s", "", None)]


# ---------------------------------------------------------------- the answers stage alone

def _answers_stage(project: Path, store_path: Path, run_id: str) -> tuple[float, float, int]:
    """(wall s, CPU s, calls) of the answers stage alone: cache lookups, calls, the answers stored."""
    from harness.evaluate import load_plan
    from harness.executor import Executor
    from harness.grading import flag_answers
    from harness.stages import answer_stage
    from harness.registry import create_adapter
    from harness.store import Store

    plan = load_plan(project / "suites" / "bench.yaml", models_path=project / "models.yaml", judge="none")
    adapters = {mid: create_adapter(plan.entries[mid]) for mid in plan.model_ids}
    store = Store(store_path)
    store.start_run(run_id, "bench", run_id, {}, {})
    executor = Executor(store, run_id, _quiet_progress())
    wall, cpu = time.perf_counter(), time.process_time()
    answers, keyed = answer_stage(plan, adapters, executor)  # as a run's answers stage: ask, flag, store
    for mine in answers.values():
        flag_answers(plan.cases, mine, plan.suite.system_prompt)
    store.save_answers(run_id, keyed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    store.close()
    return wall, cpu, len(keyed)


def bench_scaling(quick: bool, work: Path) -> list[Row]:
    sizes = [500, 1000, 2000, 4000] if quick else [2000, 4000, 8000, 16000]
    rows, cpu_per_call, wall_per_call = [], {}, {}
    for n in sizes:
        project = write_mock_project(work / f"scaling-{n}", n_cases=n, n_models=1, judge=False)
        # The better of two runs (each on an empty store): other work on a shared machine only ever adds time.
        wall, cpu, calls = min(_answers_stage(project, project / f"store-{k}.sqlite", "fresh") for k in range(2))
        cpu_per_call[n], wall_per_call[n] = cpu / calls, wall / calls
        rows.append(Row(f"answers stage, {n:,} fresh mock calls", f"{wall:.2f} s ({1e6 * wall / calls:.0f} us/call, "
                        f"CPU {1e6 * cpu / calls:.0f} us/call)", "", None))
    # Judged on CPU time: it is this process's own work, where wall time on a shared machine also holds
    # whatever else ran meanwhile (both are shown).
    growth = cpu_per_call[sizes[-1]] / cpu_per_call[sizes[0]]
    wall_growth = wall_per_call[sizes[-1]] / wall_per_call[sizes[0]]
    rows.append(Row(f"  linear: CPU per call at {sizes[-1]:,} / at {sizes[0]:,}",
                    f"{growth:.2f}x (wall per call {wall_growth:.2f}x)", "<= 1.25x", growth <= 1.25))
    big = 20_000 if quick else 100_000
    project = write_mock_project(work / "scaling-big", n_cases=big, n_models=1, judge=False)
    fill_wall, _, _ = _answers_stage(project, project / "store.sqlite", "fill")
    wall, cpu, calls = _answers_stage(project, project / "store.sqlite", "cached")
    rows.append(Row(f"answers stage, {big:,} calls from the cache", f"{wall:.2f} s, CPU {1e3 * cpu / calls:.3f} "
                    f"ms/call", "finishes; CPU < 1 ms/call", cpu / calls < 1e-3))
    rows.append(Row(f"  the {big:,} fresh calls that filled the cache", f"{fill_wall:.1f} s", "", None))
    return rows


SECTIONS = {"llama": bench_llama, "fanout": bench_fanout, "warm": bench_warm, "scaling": bench_scaling,
            "scale": bench_scale}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections ({', '.join(SECTIONS)})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a first look, not the targets' sizes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    work = Path(tempfile.mkdtemp(prefix="bench-benchmarks-"))
    print(f"bench benchmarks on {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}"
          f"{' (quick sizes)' if args.quick else ''}; work folder {work}", flush=True)
    header = f"{'what':<52} {'measured':<34} {'target':<22} verdict"
    rows: list[Row] = []
    began = time.perf_counter()
    try:
        for name in chosen:
            print(f"\n[{name}]", flush=True)
            started = time.perf_counter()
            for row in SECTIONS[name](args.quick, work):
                rows.append(row)
                print(row.line(), flush=True)
            print(f"({name}: {time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nSummary ({time.perf_counter() - began:.0f} s in all)\n{header}\n{'-' * len(header)}")
    for row in rows:
        print(row.line())
    judged = [r for r in rows if r.met is not None]
    print(f"\n{sum(r.met for r in judged)} of {len(judged)} targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
