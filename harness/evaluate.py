"""Orchestration: config -> executor + stages -> store -> Results -> report, in that order.

    plan = load_plan(...)            the suite, its cases and rubric, the models and judges, the gates
    run_suite(...)                   answers, grades, judgments, planted-instruction trials; then the results
                                     computed from the store, the report, and the verdicts of the run's gates

A run stopped part-way resumes under the same run id when the same command is given again: finished calls
come from the cache and are not counted twice.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .adapters.base import Adapter, GenerationSettings
from .answering import answers_file_fields, answers_file_warnings
from .cases import Case
from .config import LoadedSuite, ModelEntry, check_can_judge, find_suite, load_models, load_suite, resolve_model
from .errors import ConfigError
from .executor import Executor, describe_lane, make_ask
from .files import portable_path, stable_hash
from .flags import DEFAULT_POLICY
from .judge.compare import guidance
from .judge import prompts
from .labels import read_labels
from .sampling import check_not_greedy, refuse_file_answers, repeated
from .registry import create_adapter
from .results.model import Results, StageTimes
from .run_options import RunOptions, effective_generation, select_cases
from .store import Store


@dataclass
class Plan:
    """Everything a run is asked, resolved and validated before any model is called."""

    loaded: LoadedSuite
    entries: dict[str, ModelEntry]
    model_ids: list[str]
    judge_ids: list[str]
    cases: list[Case]
    gates: list[Any]  # harness.gates.spec.Gate
    labels: list[Any] = ()  # harness.labels: the suite's human labels, read when the run starts
    generation: GenerationSettings | None = None  # the contestants' settings: the suite's, with the overrides
    options: RunOptions = RunOptions()
    selection: dict[str, Any] | None = None  # how the cases were chosen (harness.run_options); None: all

    def __post_init__(self):
        if self.generation is None:
            self.generation = self.loaded.suite.generation

    @property
    def suite(self):
        return self.loaded.suite

    @property
    def samples(self) -> int:
        """Samples of each case each model is asked for (harness.sampling)."""
        return getattr(self.generation, "samples", 1)


def load_plan(suite: str | Path, *, models_path: Path, model_ids: list[str] | None = None,
              judge: str | None = None, limit: int | None = None, gates: list[Any] | None = None,
              options: RunOptions | None = None, fidelity_reference: str | None = None) -> Plan:
    """The run's plan. Model and judge ids are models-file entries or shorthand ids (harness.shorthand); `limit`
    is the same as `options.limit`; `options.repeat` asks for that many samples of each case (harness.sampling),
    in place of the suite's `generation.samples`."""
    options = options or RunOptions()
    if limit is not None:
        options = dataclasses.replace(options, limit=limit)
    models_path = Path(models_path)
    source = str(models_path) if models_path.exists() else f"{models_path} (no such file)"
    models = load_models(models_path, missing_ok=True)
    loaded = load_suite(find_suite(str(suite), Path.cwd()), models, models_source=source)
    if options.repeat is not None:
        loaded.suite = loaded.suite.model_copy(
            update={"generation": repeated(loaded, options.repeat, options.temperature)})
    ids = model_ids or loaded.suite.models
    if judge == "none":
        judge_ids: list[str] = []  # answers and deterministic checks only
    else:
        judge_ids = [j.strip() for j in judge.split(",") if j.strip()] if judge else loaded.suite.judge_ids()
    entries = dict(models)
    for mid in ids:
        entries[mid] = resolve_model(mid, models, source=source, key="--models" if model_ids else "models")
    for jid in judge_ids:
        entries[jid] = resolve_model(jid, models, source=source, role="judge", key="--judge" if judge else "judge")
        check_can_judge(jid, entries[jid], key="--judge" if judge else "judge")
    if fidelity_reference or loaded.suite.fidelity:
        from .fidelity.stage import plan_fidelity

        loaded.suite = plan_fidelity(loaded.suite, fidelity_reference, entries, list(ids),
                                     str(loaded.path))
    cases, selection = select_cases(loaded.cases, options, seed=loaded.suite.judging.seed, suite_file=loaded.path)
    generation = effective_generation(loaded.suite.generation, options.overrides())
    check_not_greedy(generation, loaded.path)
    refuse_file_answers(generation.samples, ids, entries)
    labels = read_labels(loaded.path.parent / loaded.suite.labels) if loaded.suite.labels else []
    return Plan(loaded, entries, list(ids), judge_ids, cases, loaded.gates if gates is None else gates, labels,
                generation, options, selection)


def _identity(plan: Plan, adapters: dict[str, Adapter]) -> dict[str, Any]:
    """What makes two runs the same run (so an interrupted one resumes): not the gates, not the paths."""
    suite, rubric = plan.suite, plan.loaded.rubric
    return {
        "suite": suite.name, "suite_version": suite.version,
        "suite_hash": stable_hash(suite.model_dump()),
        "cases": stable_hash([c.model_dump() for c in plan.cases]),
        "rubric": stable_hash(rubric.model_dump()) if rubric else None,
        "models": {mid: adapters[mid].fingerprint() for mid in plan.model_ids},
        "judges": {jid: adapters[jid].fingerprint() for jid in plan.judge_ids},
        # Only when set, so a run without them keeps the identity it had before they existed (and resumes).
        **({"generation": plan.generation.model_dump()} if plan.generation != suite.generation else {}),
        **({"no_cache": True} if plan.options.no_cache else {}),
    }


def _spec(plan: Plan, adapters: dict[str, Adapter], identity: dict[str, Any]) -> dict[str, Any]:
    """The snapshot results are computed from: the suite's settings, rubric, cases, models, judges, gates."""
    suite, rubric = plan.suite, plan.loaded.rubric

    def described(mid: str, fingerprints: dict[str, str]) -> dict[str, Any]:
        entry = plan.entries[mid]
        return {"id": mid, "kind": entry.kind, "family": entry.family, "fingerprint": fingerprints[mid],
                "size_mib": adapters[mid].size_mib(), **answers_file_fields(adapters[mid], plan.loaded.cases)}

    return {
        "suite": {"name": suite.name, "version": suite.version, "description": suite.description,
                  "case_format": suite.case_format, "path": portable_path(plan.loaded.path),
                  "hash": identity["suite_hash"]},
        "settings": {"scoring": {"missing": suite.scoring.missing,
                                 "flagged": {**DEFAULT_POLICY, **suite.scoring.flagged}},
                     "system_prompt": suite.system_prompt, "judge_guidance": suite.judge_guidance,
                     "generation": plan.generation.model_dump(),
                     "judge_generation": suite.judge_generation.model_dump(),
                     "judging": suite.judging.model_dump(), "exam": suite.exam.model_dump(),
                     "generation_overrides": plan.options.overrides(), "selection": plan.selection,
                     "no_cache": plan.options.no_cache},
        "rubric": rubric.model_dump() if rubric else None,
        "cases": [case.model_dump() for case in plan.cases],
        "models": [described(mid, identity["models"]) for mid in plan.model_ids],
        "judges": [described(jid, identity["judges"]) for jid in plan.judge_ids],
        "gates": [gate.model_dump() for gate in plan.gates],
        "fidelity": suite.fidelity.model_dump() if suite.fidelity else None,
        "labels": [label.model_dump(exclude_none=True) for label in plan.labels],
        "prompts": {"rank": prompts.RANK_PROMPT_VERSION, "grade": prompts.GRADE_PROMPT_VERSION,
                    "score": prompts.SCORE_PROMPT_VERSION,
                    **({"graded": prompts.GRADED_PROMPT_VERSION} if suite.judging.verdict == "graded" else {})},
    }


def open_run(store: Store, plan: Plan, adapters: dict[str, Adapter], log) -> str:
    identity = _identity(plan, adapters)
    plan_hash = stable_hash(identity)
    run_id = store.find_resumable(plan_hash)
    if run_id:
        log(f"resuming run {run_id}")
    else:
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
        run_id = f"{stamp}-{plan_hash[:6]}"
        n = 1
        while store.run_info(run_id) is not None:  # two runs in the same second
            n += 1
            run_id = f"{stamp}-{plan_hash[:6]}-{n}"
    store.start_run(run_id, plan.suite.name, plan_hash, identity, _spec(plan, adapters, identity))
    return run_id


class StageClock:
    """Seconds per stage of this command, each recorded in the store as it ends (so `bench report` shows them
    and an interrupted run keeps those it finished)."""

    def __init__(self, store: Store, run_id: str):
        self.store, self.run_id = store, run_id
        self.times: dict[str, float] = {}

    def record(self, stage: str, started: float) -> None:
        self.times[stage] = time.perf_counter() - started
        self.store.record_times(self.run_id, {stage: self.times[stage]})


def run_stages(plan: Plan, adapters: dict[str, Adapter], store: Store, run_id: str, progress,
               clock: StageClock | None = None, budget=None) -> None:
    """Every stage (harness.stages), each stage's rows stored as it ends; `budget` (harness.budget) caps the
    run's spend."""
    from .stages import run_all

    suite = plan.suite
    executor = Executor(store, run_id, progress, budget, no_cache=plan.options.no_cache)
    ask = make_ask(executor, adapters, suite.judge_generation, suite.judging.max_retries)
    with progress:
        run_all(plan, adapters, executor, ask, store=store, run_id=run_id, clock=clock or StageClock(store, run_id))


def finished_results(store: Store, run_id: str) -> Results:
    """The run's Results from the store, with the verdicts of the gates it recorded."""
    from .gates.evaluate import recorded_verdicts
    from .results.build import build_results  # pandas and scipy: not needed to find a bad input file

    results = build_results(store, run_id)
    results.gates = recorded_verdicts(results)
    return results


def run_suite(suite: str | Path, *, models_path: Path = Path("models.yaml"), model_ids: list[str] | None = None,
              judge: str | None = None, limit: int | None = None, reports_dir: Path = Path("reports"),
              store_path: Path = Path(".bench/bench.sqlite"), quiet: bool = False,
              gates: list[Any] | None = None, options: RunOptions | None = None,
              fidelity_reference: str | None = None) -> tuple[Results, Path]:
    """Run a suite end to end; returns (results, path of the report's index.html). `gates` replaces the
    suite's gates as the ones this run records and evaluates; `fidelity_reference` sets the reference of the
    suite's fidelity stage (or adds the stage); `options.repeat` asks for that many samples of each case
    (harness.sampling), `options.max_cost` caps the run's spend in USD (harness.budget). The wall time and the
    stage times cover the whole command: loading, the model stages, fidelity, the statistics and the report."""
    from rich.console import Console

    from .progress import make_progress, plain

    console = Console(stderr=True, quiet=quiet)
    started = time.perf_counter()
    plan = load_plan(suite, models_path=models_path, model_ids=model_ids, judge=judge, limit=limit, gates=gates,
                     options=options, fidelity_reference=fidelity_reference)
    adapters = {mid: create_adapter(plan.entries[mid]) for mid in dict.fromkeys([*plan.model_ids, *plan.judge_ids])}
    store = Store(Path(store_path))
    run_id = ""
    try:
        run_id = open_run(store, plan, adapters, lambda m: console.print(m, markup=False, highlight=False))
        clock = StageClock(store, run_id)
        clock.record("setup", started)
        chosen = f" (of {len(plan.loaded.cases)}, chosen on the command line)" if plan.selection else ""
        console.print(plain("bench run", "bold") + plain(
            f" {plan.suite.name} v{plan.suite.version}: {len(plan.cases)} cases{chosen} x {len(plan.model_ids)} models"
            f"{f', {plan.samples} samples of each case' if plan.samples > 1 else ''}, "
            f"judge {'+'.join(plan.judge_ids) or 'none'} ({'+'.join(plan.suite.judging.modes)}) (run {run_id})"), highlight=False)
        for adapter in adapters.values():
            console.print("  " + describe_lane(adapter), markup=False, highlight=False)
        for warning in answers_file_warnings(plan.model_ids, adapters, plan.loaded.cases):
            print(f"bench: {warning}", file=sys.stderr)  # shown with --quiet too
        budget = None
        if plan.options.max_cost is not None:
            from .budget import start_budget

            budget = start_budget(store, run_id, plan.options.max_cost, adapters.values(),
                                  lambda m: console.print("  " + m, markup=False, highlight=False))
        run_stages(plan, adapters, store, run_id, make_progress(console), clock, budget)
        if plan.suite.fidelity:
            from .fidelity.stage import fidelity_stage

            began = time.perf_counter()
            fidelity_stage(plan, store, run_id, lambda message: console.print(message, markup=False),
                           {mid: adapter.fingerprint() for mid, adapter in adapters.items()})
            clock.record("fidelity", began)
        store.finish_stages(run_id)
        return _finish(store, run_id, plan, reports_dir, clock, started)
    except BaseException:
        if run_id:
            store.set_run_status(run_id, "interrupted")
        raise
    finally:
        for adapter in adapters.values():
            adapter.close()
        store.close()


def judge_exam(suite: str | Path, *, models_path: Path, judge: str | None, store_path: Path, pairs: int | None = None,
               quiet: bool = False, options: RunOptions | None = None) -> dict[str, dict]:
    """The exam alone, so a judge can be qualified before a long run: {judge id: exam summary}. Its verdicts
    are cached like every other call. `options` may narrow the cases its pairs come from (`--tags`, `--case`)."""
    from rich.console import Console

    from .progress import make_progress
    from .results.scored import exam_summary
    from .stages import run_exam_stage

    plan = load_plan(suite, models_path=models_path, judge=judge, options=options)
    plan.loaded.cases = plan.cases  # the exam draws its pairs from the suite's cases: here, the chosen ones
    if not plan.judge_ids:
        raise ConfigError("no judge: give --judge M or a suite with a judge", key="--judge")
    exam = plan.suite.exam if pairs is None else plan.suite.exam.model_copy(update={"pairs": pairs})
    plan.loaded.suite = plan.suite.model_copy(update={"exam": exam})
    adapters = {jid: create_adapter(plan.entries[jid]) for jid in plan.judge_ids}
    store = Store(Path(store_path))
    console = Console(stderr=True, quiet=quiet)
    try:
        progress = make_progress(console)
        judging = plan.suite.judging
        executor = Executor(store, f"exam-{_dt.datetime.now(_dt.timezone.utc):%Y%m%d-%H%M%S}", progress)
        ask = make_ask(executor, adapters, plan.suite.judge_generation, judging.max_retries)
        rubric = plan.loaded.rubric
        with progress:
            trials = run_exam_stage(plan, ask, guidance(plan.suite.judge_guidance, rubric.description if rubric else None))
    finally:
        for adapter in adapters.values():
            adapter.close()
        store.close()
    return {jid: exam_summary([t for t in trials if t.judge_id == jid], exam.min_accuracy) for jid in plan.judge_ids}


def _finish(store: Store, run_id: str, plan: Plan, reports_dir: Path, clock: StageClock,
            started: float) -> tuple[Results, Path]:
    """Statistics, then the report; then the whole command's wall time goes to the store, results.json and
    summary.md. index.html is written before its own writing time is known: it shows every stage before it,
    and says that results.json holds the whole (as does the page `bench report` writes again)."""
    from .files import atomic_write_text
    from .report import render_markdown, write_report, write_runs_index

    began = time.perf_counter()
    results = finished_results(store, run_id)
    clock.record("statistics", began)
    results.stages = StageTimes.from_seconds(clock.times)
    began = time.perf_counter()
    index = write_report(results, Path(reports_dir) / plan.suite.name / run_id)
    write_runs_index(Path(reports_dir))
    clock.record("report", began)
    wall_time_s = time.perf_counter() - started
    store.record_times(run_id, {}, wall_time_s=wall_time_s)
    results.stages = StageTimes.from_seconds(clock.times)
    results.wall_time_s = round(wall_time_s, 2)
    atomic_write_text(index.parent / "results.json", results.to_json())
    atomic_write_text(index.parent / "summary.md", render_markdown(results))
    store.set_run_status(run_id, "done", str(index))
    return results, index
