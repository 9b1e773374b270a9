"""Cases x models -> answers -> rubric grades -> blinded rankings -> Results -> report.

Every model call goes through `_Calls.run`, which serves the cache first, fans the rest out with each model's
own concurrency (in-process CPU models one at a time, so they do not fight over the cores), and commits each
finished call to the store at once. A run stopped part-way resumes under the same run id when the same
command is given again: finished calls come from the cache and are not counted twice.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .adapters.base import Adapter, Completion, GenerationSettings, stable_hash
from .config import Case, LoadedSuite, ModelEntry, find_suite, load_models, load_suite
from .errors import ConfigError
from .grading import CriterionResult, applicable_criteria, case_score, run_check
from .judge import blind, prompts
from .judge.judge import ask, parse_met, parse_ranking
from .registry import adapter_class
from .store import Store, request_key

# In-process CPU backends share this: one computes at a time.
_LOCAL_CPU = threading.Lock()


def build_adapter(entry: ModelEntry) -> Adapter:
    cls = adapter_class(entry.kind)
    options = cls.Options.model_validate(entry.options)
    return cls(entry.id, options, prices=entry.prices, max_concurrency=entry.max_concurrency, family=entry.family)


@dataclass
class Call:
    """One model request, with what to do with its answer."""

    adapter: Adapter
    stage: str
    messages: list[dict[str, str]]
    settings: GenerationSettings
    json_schema: dict[str, Any] | None = None
    extra: Any = None  # goes into the cache key (e.g. the prompt version)
    key: str = ""
    result: Completion | None = None
    fresh: bool = False


class _Calls:
    def __init__(self, store: Store, run_id: str, progress):
        self.store, self.run_id, self.progress = store, run_id, progress
        self._fingerprints: dict[str, str] = {}

    def fingerprint(self, adapter: Adapter) -> str:
        if adapter.model_id not in self._fingerprints:
            self._fingerprints[adapter.model_id] = adapter.fingerprint()
        return self._fingerprints[adapter.model_id]

    def prepare(self, call: Call) -> Call:
        call.key = request_key(self.fingerprint(call.adapter), call.stage, call.messages,
                               call.settings.key_dict(), {"schema": call.json_schema, "extra": call.extra})
        return call

    def run(self, calls: list[Call], label: str | None) -> list[Call]:
        """Answer every call, from the cache or the model; returns the same list, filled in."""
        pending: list[Call] = []
        for call in calls:
            self.prepare(call)
            cached = self.store.cached(call.key)
            if cached is not None:
                call.result, call.fresh = cached, False
                self.store.record_call(self.run_id, call.stage, call.key, fresh=False)
            else:
                pending.append(call)
        task = None
        if label is not None:
            task = self.progress.add_task(label, total=len(calls), completed=len(calls) - len(pending))
        if not pending:
            return calls
        # In-process CPU models share one worker, so their calls run in the order given (one model's calls
        # together, its weights warm in the caches); API models each get their own concurrency.
        by_lane: dict[str, list[Call]] = {}
        for call in pending:
            by_lane.setdefault("local" if call.adapter.local else call.adapter.model_id, []).append(call)
        executors = {lane: ThreadPoolExecutor(thread_name_prefix=f"bench-{lane}", max_workers=1 if lane == "local"
                                              else max(1, group[0].adapter.max_concurrency))
                     for lane, group in by_lane.items()}
        futures: dict[Future, Call] = {}
        try:
            for lane, group in by_lane.items():
                for call in group:
                    futures[executors[lane].submit(self._one, call)] = call
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for fut in done:
                    fut.result()  # re-raise adapter errors that no retry can fix
                    if task is not None:
                        self.progress.advance(task)
        finally:
            # Calls not started are dropped; calls in flight finish and are saved, so nothing is lost.
            for ex in executors.values():
                ex.shutdown(wait=True, cancel_futures=True)
        return calls

    def _one(self, call: Call) -> None:
        adapter = call.adapter
        with (_LOCAL_CPU if adapter.local else nullcontext()):
            completion = adapter.generate(call.messages, call.settings, call.json_schema)
        self.store.save_generation(call.key, adapter.model_id, self.fingerprint(adapter), call.stage,
                                   {"messages": call.messages, "settings": call.settings.key_dict(),
                                    "schema": call.json_schema}, completion, run_id=self.run_id)
        if completion.error is None:
            self.store.record_call(self.run_id, call.stage, call.key, fresh=True)
        call.result, call.fresh = completion, True


@dataclass
class Answer:
    case_id: str
    model_id: str
    completion: Completion
    criteria: list[CriterionResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.completion.error is None


@dataclass
class Judgment:
    case_id: str
    rep: int
    order: list[str]
    ranking: list[str] | None
    error: str | None
    attempts: int
    judge_id: str = ""
    pair: tuple[str, str] | None = None  # pairwise mode: the two models compared


class Run:
    def __init__(self, loaded: LoadedSuite, models: dict[str, ModelEntry], model_ids: list[str],
                 judge_ids: list[str], cases: list[Case], store: Store, progress, log: Callable[[str], None]):
        self.loaded, self.suite, self.rubric = loaded, loaded.suite, loaded.rubric
        self.entries = models
        self.model_ids, self.judge_ids, self.cases = model_ids, judge_ids, cases
        self.store, self.progress, self.log = store, progress, log
        self.adapters: dict[str, Adapter] = {}
        for mid in dict.fromkeys([*model_ids, *judge_ids]):
            self.adapters[mid] = build_adapter(models[mid])
        self.run_id = ""
        self.calls: _Calls | None = None

    @property
    def judge_id(self) -> str | None:
        return self.judge_ids[0] if self.judge_ids else None

    # ------------------------------------------------------------ plan identity
    def plan(self) -> dict[str, Any]:
        return {
            "suite": self.suite.name, "suite_version": self.suite.version,
            "suite_hash": stable_hash(self.suite.model_dump()),
            "cases": stable_hash([c.model_dump() for c in self.cases]),
            "rubric": stable_hash(self.rubric.model_dump()) if self.rubric else None,
            "models": {mid: self.adapters[mid].fingerprint() for mid in self.model_ids},
            "judges": {jid: self.adapters[jid].fingerprint() for jid in self.judge_ids},
        }

    def open(self) -> str:
        plan = self.plan()
        plan_hash = stable_hash(plan)
        run_id = self.store.find_resumable(plan_hash)
        if run_id:
            self.log(f"resuming run {run_id}")
        else:
            stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
            run_id = f"{stamp}-{plan_hash[:6]}"
            n = 1
            while self.store.run_info(run_id) is not None:  # two runs in the same second
                n += 1
                run_id = f"{stamp}-{plan_hash[:6]}-{n}"
        self.store.start_run(run_id, self.suite.name, plan_hash, plan)
        self.run_id = run_id
        self.calls = _Calls(self.store, run_id, self.progress)
        return run_id

    # ------------------------------------------------------------ stages
    def answers(self) -> dict[tuple[str, str], Answer]:
        calls = []
        for case in self.cases:
            messages = case.chat()
            if self.suite.system_prompt and messages[0]["role"] != "system":
                messages = [{"role": "system", "content": self.suite.system_prompt}, *messages]
            for mid in self.model_ids:
                calls.append(Call(self.adapters[mid], "answer", messages, self.suite.generation,
                                  extra={"case": case.id}))
        # Models one after the other in the list keeps each llama.cpp context warm.
        calls.sort(key=lambda c: self.model_ids.index(c.adapter.model_id))
        self.calls.run(calls, "answers")
        out: dict[tuple[str, str], Answer] = {}
        for call in calls:
            out[(call.extra["case"], call.adapter.model_id)] = Answer(call.extra["case"], call.adapter.model_id,
                                                                       call.result)
        return out

    def judge_call(self, judge_id: str, stage: str, messages, schema, prompt_version: str) -> Call:
        adapter = self.adapters[judge_id]
        return Call(adapter, stage, messages, self.suite.judge_generation,
                    schema if adapter.structured else None, {"prompt": prompt_version})

    def verdict(self, first: Call, parse, schema) -> Any:
        """Parse the first answer; on failure ask again a bounded number of times, sampling with a new seed
        (a greedy judge would only repeat itself)."""
        def attempt(n: int) -> Completion:
            if n == 0:
                return first.result
            settings = first.settings.model_copy(update={"temperature": max(first.settings.temperature, 0.7),
                                                         "seed": first.settings.seed + n})
            retry = Call(first.adapter, first.stage, first.messages, settings, first.json_schema, first.extra)
            self.calls.run([retry], label=None)
            return retry.result

        return ask(attempt, parse, self.suite.judging.max_retries)

    def grades(self, answers: dict[tuple[str, str], Answer]) -> None:
        pending: list[tuple[Answer, Any, list[Call]]] = []
        for case in self.cases:
            criteria = applicable_criteria(self.rubric.criteria if self.rubric else [], case.criteria, case.tags)
            for mid in self.model_ids:
                answer = answers[(case.id, mid)]
                if not answer.ok:
                    continue
                for crit in criteria:
                    if crit.check is not None:
                        met, detail = run_check(crit.check, answer.completion.text)
                        answer.criteria.append(CriterionResult(crit.id, crit.axis, crit.points, met, "check", detail))
                    elif not self.judge_ids or not self.suite.judging.grade_criteria:
                        answer.criteria.append(CriterionResult(crit.id, crit.axis, crit.points, None, "skipped",
                                                               "no judge configured"))
                    else:
                        messages = prompts.grade_messages(case.chat(), answer.completion.text, crit.text)
                        calls = [self.judge_call(j, "grade", messages, prompts.GRADE_SCHEMA,
                                                 prompts.GRADE_PROMPT_VERSION) for j in self.judge_ids]
                        pending.append((answer, crit, calls))
                        answer.criteria.append(None)  # placeholder keeps rubric order
        if pending:
            self.calls.run([c for _, _, calls in pending for c in calls], "grading")
        for answer, crit, calls in pending:
            verdicts = [self.verdict(call, parse_met, prompts.GRADE_SCHEMA) for call in calls]
            votes = [v.value for v in verdicts if v.error is None]
            if votes:
                met = sum(votes) * 2 > len(votes)  # majority of the judges that answered; a split is not met
                detail = f"judge said {'met' if met else 'not met'}" if len(calls) == 1 else \
                    f"{sum(votes)} of {len(votes)} judges said met"
                result = CriterionResult(crit.id, crit.axis, crit.points, met, "judge", detail)
            else:
                result = CriterionResult(crit.id, crit.axis, crit.points, None, "error", verdicts[0].error)
            answer.criteria[answer.criteria.index(None)] = result
        for answer in answers.values():
            for r in answer.criteria:
                self.store.save_grade(self.run_id, answer.case_id, answer.model_id, r.criterion_id, r.met,
                                      r.source, r.detail)

    def _guidance(self) -> str:
        return self.suite.judge_guidance or (self.rubric.description if self.rubric else "") or \
            "answers the request correctly, safely and clearly"

    def _comparisons(self, answers) -> list[tuple[Case, int, list[str], tuple[str, str] | None]]:
        """(case, rep, order shown, pair) for every judgment the mode asks for."""
        settings = self.suite.judging
        out = []
        for case in self.cases:
            ok_models = [m for m in self.model_ids if answers[(case.id, m)].ok]
            if len(ok_models) < 2:
                continue
            if settings.mode == "rank":
                for rep, order in enumerate(blind.orders(ok_models, settings.orders, settings.seed, case.id)):
                    out.append((case, rep, order, None))
                continue
            if settings.baseline:
                pairs = [(m, settings.baseline) for m in ok_models if m != settings.baseline
                         and settings.baseline in ok_models]
            else:
                pairs = [(a, b) for i, a in enumerate(ok_models) for b in ok_models[i + 1:]]
            rep = 0
            for pair in pairs:
                for order in blind.orders(list(pair), 2, settings.seed, f"{case.id}|{pair[0]}|{pair[1]}"):
                    out.append((case, rep, order, pair))
                    rep += 1
        return out

    def judgments(self, answers: dict[tuple[str, str], Answer]) -> list[Judgment]:
        if not self.judge_ids or len(self.model_ids) < 2:
            return []
        guidance = self._guidance()
        pending = []
        for case, rep, order, pair in self._comparisons(answers):
            labels = blind.labels(len(order))
            shown = {label: answers[(case.id, mid)].completion.text for label, mid in zip(labels, order)}
            messages = prompts.rank_messages(case.chat(), shown, guidance)
            for judge_id in self.judge_ids:
                call = self.judge_call(judge_id, "judge", messages, prompts.rank_schema(labels),
                                       prompts.RANK_PROMPT_VERSION)
                pending.append((case, rep, order, pair, labels, judge_id, call))
        self.calls.run([p[-1] for p in pending], "judging")
        out = []
        for case, rep, order, pair, labels, judge_id, call in pending:
            verdict = self.verdict(call, lambda text, _labels=labels: parse_ranking(text, _labels),
                                   prompts.rank_schema(labels))
            ranking = [order[labels.index(label)] for label in verdict.value] if verdict.value else None
            self.store.save_judgment(self.run_id, case.id, rep, judge_id, order, ranking, verdict.error,
                                     verdict.attempts)
            out.append(Judgment(case.id, rep, order, ranking, verdict.error, verdict.attempts, judge_id, pair))
        return out

    def close(self) -> None:
        for adapter in self.adapters.values():
            adapter.close()


def _csv_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [v.strip() for v in value.split(",") if v.strip()]


def select_cases(cases: list[Case], limit: int | None) -> list[Case]:
    return cases[:limit] if limit else cases


def run_suite(suite: str | Path, *, models_path: Path = Path("models.yaml"), model_ids: list[str] | None = None,
              judge: str | None = None, limit: int | None = None, reports_dir: Path = Path("reports"),
              store_path: Path = Path(".bench/bench.sqlite"), quiet: bool = False) -> tuple[dict, Path]:
    """Run a suite end to end; returns (results, path of the report's index.html)."""
    from rich.console import Console

    from .progress import make_progress

    from .report import write_report, write_runs_index
    from .results import build_results

    console = Console(stderr=True, quiet=quiet)
    started = time.perf_counter()
    models = load_models(Path(models_path))
    suite_path = find_suite(str(suite), Path.cwd())
    loaded = load_suite(suite_path, models)
    ids = model_ids or loaded.suite.models
    for mid in ids:
        if mid not in models:
            raise ConfigError(f"model '{mid}' is not in {models_path} (known: {', '.join(sorted(models))})",
                              key="--models")
    if judge == "none":
        judge_ids: list[str] = []  # answers and deterministic checks only
    else:
        judge_ids = _csv_list(judge) if judge else loaded.suite.judge_ids()
    for jid in judge_ids:
        if jid not in models:
            raise ConfigError(f"judge '{jid}' is not in {models_path} (known: {', '.join(sorted(models))})",
                              key="--judge")
    cases = select_cases(loaded.cases, limit)
    store = Store(Path(store_path))
    progress = make_progress(console)
    run = Run(loaded, models, ids, judge_ids, cases, store, progress, lambda m: console.print(m))
    try:
        run_id = run.open()
        console.print(f"[bold]bench run[/] {loaded.suite.name} v{loaded.suite.version}: {len(cases)} cases x "
                      f"{len(ids)} models, judge {'+'.join(judge_ids) or 'none'} "
                      f"({loaded.suite.judging.mode}) (run {run_id})")
        with progress:
            answers = run.answers()
            run.grades(answers)
            judgments = run.judgments(answers)
            adversarial = None
            if run.judge_ids and loaded.suite.judging.adversarial:
                from .judge.adversarial import run_adversarial
                adversarial = run_adversarial(run, answers, loaded.suite.judging.adversarial,
                                              loaded.suite.judging.seed)
        results = build_results(run, answers, judgments, adversarial=adversarial,
                                wall_time_s=time.perf_counter() - started)
        out_dir = Path(reports_dir) / loaded.suite.name / run_id
        index = write_report(results, out_dir)
        write_runs_index(Path(reports_dir))
        store.set_run_status(run_id, "done", str(index))
        return results, index
    except BaseException:
        if run.run_id:
            store.set_run_status(run.run_id, "interrupted")
        raise
    finally:
        run.close()
        store.close()
