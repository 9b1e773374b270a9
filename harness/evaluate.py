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
from .answering import answers_file_fields, answers_file_warnings, ask_later_turns, conversation_answer
from .cases import Case
from .config import LoadedSuite, ModelEntry, check_can_judge, find_suite, load_models, load_suite, resolve_model
from .errors import ConfigError
from .executor import Call, Executor, describe_lane, make_ask
from .files import portable_path, stable_hash
from .flags import DEFAULT_POLICY
from .grading import flag_answers, grade_answers
from .judge.adversarial import run_planted_trials
from .judge.compare import guidance, judge_answers
from .judge.exam import exam_pairs, run_exam
from .judge import prompts
from .judge.score import score_answers
from .labels import read_labels
from .records import Answer
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


def load_plan(suite: str | Path, *, models_path: Path, model_ids: list[str] | None = None,
              judge: str | None = None, limit: int | None = None, gates: list[Any] | None = None,
              options: RunOptions | None = None, fidelity_reference: str | None = None) -> Plan:
    """The run's plan. Model and judge ids are models-file entries or shorthand ids (harness.shorthand); `limit`
    is the same as `options.limit`."""
    options = options or RunOptions()
    if limit is not None:
        options = dataclasses.replace(options, limit=limit)
    models_path = Path(models_path)
    source = str(models_path) if models_path.exists() else f"{models_path} (no such file)"
    models = load_models(models_path, missing_ok=True)
    loaded = load_suite(find_suite(str(suite), Path.cwd()), models, models_source=source)
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
                    "score": prompts.SCORE_PROMPT_VERSION},
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


def answer_cases(plan: Plan, adapters: dict[str, Adapter], executor: Executor, store: Store,
                 run_id: str) -> dict[tuple[str, str], Answer]:
    """Every model answers every case (the suite's system prompt first); the answers are flagged (harness.flags)
    and stored together."""
    suite = plan.suite
    order = {mid: i for i, mid in enumerate(plan.model_ids)}
    calls = []
    for case in plan.cases:
        messages = case.chat()
        if suite.system_prompt and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": suite.system_prompt}, *messages]
        for mid in plan.model_ids:
            calls.append(Call(adapters[mid], "answer", messages, plan.generation, extra={"case": case.id},
                              context={"case_id": case.id, "turn": 1}))
    # Models one after the other in the list keeps each llama.cpp context warm.
    calls.sort(key=lambda c: order[c.adapter.model_id])
    executor.run(calls, "answers")
    later = ask_later_turns(plan.cases, calls, executor)  # multi-turn cases: each later turn, asked live
    n_turns = {case.id: case.n_turns for case in plan.cases}
    out: dict[tuple[str, str], Answer] = {}
    keyed = []
    for call in calls:
        key = (call.extra["case"], call.adapter.model_id)
        answer, answer_key = Answer(*key, call.result), call.key
        if key in later:  # a multi-turn case: the answer is the last turn's, every turn kept
            answer.completion, answer.turns, answer_key = conversation_answer(call, later[key], n_turns[key[0]])
        out[key] = answer
        keyed.append((answer, answer_key))
    flag_answers(plan.cases, out, suite.system_prompt)
    store.save_answers(run_id, keyed)
    return out


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
               clock: StageClock | None = None) -> None:
    suite, rubric = plan.suite, plan.loaded.rubric
    clock = clock or StageClock(store, run_id)
    executor = Executor(store, run_id, progress, no_cache=plan.options.no_cache)
    ask = make_ask(executor, adapters, suite.judge_generation, suite.judging.max_retries)
    judging = suite.judging
    with progress:
        began = time.perf_counter()
        answers = answer_cases(plan, adapters, executor, store, run_id)
        clock.record("answers", began)
        began = time.perf_counter()
        shown = {"reference": judging.reference, "rationale": judging.rationale}
        grade_answers(plan.cases, rubric, plan.model_ids, answers, plan.judge_ids, ask, judging.grade_criteria,
                      {**DEFAULT_POLICY, **suite.scoring.flagged}, **shown)
        store.save_grades(run_id, list(answers.values()))
        clock.record("grading", began)
        said = guidance(suite.judge_guidance, rubric.description if rubric else None)
        if judging.comparison:
            began = time.perf_counter()
            store.save_judgment(run_id, list(judge_answers(
                plan.cases, plan.model_ids, plan.judge_ids, answers, mode=judging.comparison, orders=judging.orders,
                seed=judging.seed, baseline=judging.baseline, guidance=said, ask=ask, **shown)))
            clock.record("judging", began)
        if plan.judge_ids and "score" in judging.modes:
            began = time.perf_counter()
            store.save_score(run_id, list(score_answers(plan.cases, plan.model_ids, plan.judge_ids, answers,
                                                        rubric.axes if rubric else [], guidance=said, ask=ask,
                                                        **shown)))
            clock.record("scoring", began)
        if plan.judge_ids and judging.adversarial:
            began = time.perf_counter()
            store.save_trial(run_id, list(run_planted_trials(plan.cases, plan.model_ids, plan.judge_ids, answers,
                                                             judging.adversarial, judging.seed, said, ask, **shown)))
            clock.record("adversarial", began)
        if plan.judge_ids and suite.exam.pairs:
            began = time.perf_counter()
            store.save_exam_trial(run_id, list(run_exam_stage(plan, ask, said)))
            clock.record("exam", began)


def run_exam_stage(plan: Plan, ask, said: str) -> list:
    """The judge's exam over the suite's cases with a reference, in the run's judging mode."""
    suite, rubric = plan.suite, plan.loaded.rubric
    pairs = exam_pairs(plan.loaded.cases, suite.exam.pairs, suite.exam.seed, suite.exam.corruptions)
    return run_exam(pairs, plan.judge_ids, mode=suite.judging.comparison or "score", guidance=said, ask=ask,
                    axes=rubric.axes if rubric else [], rationale=suite.judging.rationale)


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
    suite's fidelity stage (or adds the stage). The wall time and the stage times cover the whole command:
    loading, the model stages, fidelity, the statistics and the report."""
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
            f" {plan.suite.name} v{plan.suite.version}: {len(plan.cases)} cases{chosen} x {len(plan.model_ids)} models, "
            f"judge {'+'.join(plan.judge_ids) or 'none'} ({'+'.join(plan.suite.judging.modes)}) (run {run_id})"), highlight=False)
        for adapter in adapters.values():
            console.print("  " + describe_lane(adapter), markup=False, highlight=False)
        for warning in answers_file_warnings(plan.model_ids, adapters, plan.loaded.cases):
            print(f"bench: {warning}", file=sys.stderr)  # shown with --quiet too
        run_stages(plan, adapters, store, run_id, make_progress(console), clock)
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
