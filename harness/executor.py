"""Calls -> completions: the cache first, then each model's lane and concurrency, each finished call committed.

Models that share this machine's CPU (in-process models, and servers whose entry says `local: true`) share
one lane and one worker, so they do not fight over the cores and each model's calls run together, in the order
given (its weights stay warm); every other model is a lane of its own with its `max_concurrency` workers.
`lane_of` says which, and the run header prints it. A run stopped part-way resumes under the same run id:
finished calls come from the cache and are not counted twice. `make_ask` turns the executor into the `ask`
callable judge code is given.

Work grows linearly with the number of calls and memory stays bounded: cache lookups and the run's notes of
cached calls go to SQLite a chunk of keys at a time, and each lane's workers draw its calls one by one from an
iterator, so no more calls are in flight (or queued) than the lane has workers.
"""

from __future__ import annotations

import queue
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .adapters.base import MAX_SEED, Adapter, Completion, GenerationSettings
from .judge.parsing import parse_rationale
from .records import Ask, JudgeRequest, Verdict
from .store import LOOKUP_CHUNK, Store, completion_from_row, request_key

# In-process CPU backends share this: one computes at a time.
_LOCAL_CPU = threading.Lock()
LOCAL_LANE = "local CPU"


@dataclass(frozen=True)
class Lane:
    """Where a model's calls run: `name` (LOCAL_LANE, or the model's own id) and how many at once."""

    name: str
    concurrency: int
    shares_cpu: bool


def lane_of(adapter: Adapter) -> Lane:
    if adapter.local:
        return Lane(LOCAL_LANE, 1, True)
    return Lane(adapter.model_id, max(1, adapter.max_concurrency), False)


def describe_lane(adapter: Adapter) -> str:
    """One line for the run header: the model's lane and how many of its calls run at once, and what to set
    when that may not be what the user meant."""
    from .adapters.openai import is_loopback

    lane = lane_of(adapter)
    if lane.shares_cpu:
        text = f"{adapter.model_id}: lane '{LOCAL_LANE}', 1 call at a time, never beside another in-process model"
        if adapter.max_concurrency > 1:
            text += f" (max_concurrency {adapter.max_concurrency} unused: it computes on this CPU)"
        return text
    text = f"{adapter.model_id}: own lane, " + (f"{lane.concurrency} calls at once" if lane.concurrency > 1
                                                 else "1 call at a time (max_concurrency 1)")
    if is_loopback(getattr(adapter, "base_url", None) or getattr(adapter.options, "base_url", None)):
        text += " (a server on this machine: set `local: true` if it computes on this CPU)"
    return text


@dataclass
class Call:
    """One model request, with what came back."""

    adapter: Adapter
    stage: str
    messages: list[dict[str, str]]
    settings: GenerationSettings
    json_schema: dict[str, Any] | None = None
    extra: Any = None  # goes into the cache key (e.g. the case id, the prompt version)
    # The answer stage's {"case_id", "turn"}: what an adapter that answers by case (a file) looks up.
    context: dict[str, Any] | None = None
    key: str = ""
    result: Completion | None = None
    fresh: bool = False


class Executor:
    """`budget` (harness.budget.Budget), when given, is asked before each call is started: once the run's spend
    would pass its cap, no further call starts, the calls in flight finish and are saved, and it raises.
    `no_cache`: answer afresh. Only calls this run itself made (before an interruption) come from the cache;
    every answer still goes into it."""

    def __init__(self, store: Store, run_id: str, progress, budget=None, no_cache: bool = False):
        self.store, self.run_id, self.progress = store, run_id, progress
        self.budget, self.no_cache = budget, no_cache
        self._fingerprints: dict[str, str] = {}

    def fingerprint(self, adapter: Adapter) -> str:
        if adapter.model_id not in self._fingerprints:
            self._fingerprints[adapter.model_id] = adapter.fingerprint()
        return self._fingerprints[adapter.model_id]

    def _prepare(self, call: Call) -> Call:
        call.key = request_key(self.fingerprint(call.adapter), call.stage, call.messages,
                               call.settings.key_dict(), {"schema": call.json_schema, "extra": call.extra})
        return call

    def run(self, calls: list[Call], label: str | None) -> list[Call]:
        """Answer every call, from the cache or the model; returns the same list, filled in."""
        task = None if label is None else self.progress.add_task(label, total=len(calls))
        pending: list[Call] = []
        for start in range(0, len(calls), LOOKUP_CHUNK):
            chunk = [self._prepare(call) for call in calls[start:start + LOOKUP_CHUNK]]
            keys = [call.key for call in chunk]
            rows = self.store.cached_many(keys, made_by=self.run_id if self.no_cache else None)
            hits = []
            for call in chunk:
                row = rows.get(call.key)
                if row is None:
                    pending.append(call)
                else:
                    call.result, call.fresh = completion_from_row(row), False
                    hits.append((call.stage, call.key, row))
            self.store.record_calls(self.run_id, hits, fresh=False)
            if task is not None and hits:
                self.progress.advance(task, len(hits))
        if pending:
            self._generate(pending, task)
        return calls

    def _generate(self, pending: list[Call], task) -> None:
        """Each lane's workers take its calls one at a time; finished calls come back through one queue, so
        the progress bar moves as they finish and the first error no retry can fix stops the rest."""
        lanes: dict[Lane, list[Call]] = {}
        for call in pending:
            lanes.setdefault(lane_of(call.adapter), []).append(call)
        finished: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()
        workers = []
        for lane, group in lanes.items():
            source = _Source(iter(group))
            for n in range(min(lane.concurrency, len(group))):
                workers.append(threading.Thread(target=self._work, args=(source, finished, stop), daemon=True,
                                                name=f"bench-{lane.name}-{n}"))
        for worker in workers:
            worker.start()
        try:
            for _ in range(len(pending)):
                error = finished.get()
                if error is not None:
                    raise error  # an adapter error that no retry can fix
                if task is not None:
                    self.progress.advance(task)
        finally:
            # Calls not started are dropped; calls in flight finish and are saved, so nothing is lost.
            stop.set()
            for worker in workers:
                worker.join()

    def _work(self, source: "_Source", finished: queue.SimpleQueue, stop: threading.Event) -> None:
        while not stop.is_set():
            call = source.next()
            if call is None:
                return
            try:
                self._one(call)
            except BaseException as exc:  # handed to the main thread, which raises it
                finished.put(exc)
                return
            finished.put(None)

    def _one(self, call: Call) -> None:
        adapter = call.adapter
        held = self.budget.reserve(call) if self.budget is not None else None
        try:
            with (_LOCAL_CPU if adapter.local else nullcontext()):
                if adapter.answers_by_case and call.context is not None:
                    completion = adapter.answer(call.context["case_id"], call.context["turn"], call.messages,
                                                call.settings)
                else:
                    completion = adapter.generate(call.messages, call.settings, call.json_schema)
        except BaseException:
            if held is not None:
                self.budget.settle(held, None)
            raise
        if held is not None:
            self.budget.settle(held, completion.cost_usd)
        self.store.save_generation(call.key, adapter.model_id, self.fingerprint(adapter), call.stage,
                                   {"messages": call.messages, "settings": call.settings.key_dict(),
                                    "schema": call.json_schema}, completion, run_id=self.run_id)
        call.result, call.fresh = completion, True


class _Source:
    """A lane's calls, handed out one at a time to its workers."""

    def __init__(self, calls: Iterator[Call]):
        self._calls, self._lock = calls, threading.Lock()

    def next(self) -> Call | None:
        with self._lock:
            return next(self._calls, None)


def with_retries(attempt: Callable[[int], Completion], parse: Callable[[str], tuple[Any, str | None]],
                 max_retries: int, rationale: bool = False) -> Verdict:
    """Parse the first answer; on failure ask again, at most `max_retries` more times. `attempt(n)` makes (or
    fetches from the cache) attempt n. A verdict that never parses is an error, recorded, never guessed; with
    `rationale`, a verdict must come with its rationale (a rationale alone is no verdict)."""
    error = "no attempt made"
    for n in range(max_retries + 1):
        completion = attempt(n)
        if completion.error is not None:
            error = f"judge call failed: {completion.error}"
            continue
        value, error = parse(completion.text)
        reason = parse_rationale(completion.text) if error is None else None
        if error is None and rationale and reason is None:
            error = "no rationale before the verdict"
        if error is None:
            return Verdict(value, None, n + 1, reason)
    return Verdict(None, error, max_retries + 1)


def judge_call(request: JudgeRequest, adapters: dict[str, Adapter], settings: GenerationSettings) -> Call:
    """The first attempt at a judge request: the schema goes along where the backend constrains JSON."""
    adapter = adapters[request.judge_id]
    return Call(adapter, request.stage, request.messages, settings, request.schema if adapter.structured else None,
                {"prompt": request.prompt_version})


def retry_call(first: Call, n: int) -> Call:
    """Attempt n (1, 2, ...) at an unparsed verdict: sampling with a new seed (a greedy judge would only repeat
    itself)."""
    settings = first.settings.model_copy(
        update={"temperature": max(first.settings.temperature, 0.7), "seed": (first.settings.seed + n) % (MAX_SEED + 1)})
    return Call(first.adapter, first.stage, first.messages, settings, first.json_schema, first.extra)


def make_ask(executor: Executor, adapters: dict[str, Adapter], settings: GenerationSettings,
             max_retries: int) -> Ask:
    """The `ask` callable for judge code: every request's first attempt is run as one batch (cache first),
    then each unparsed verdict is asked again (`retry_call`)."""

    def ask(requests: list[JudgeRequest], label: str | None) -> list[Verdict]:
        calls = [judge_call(r, adapters, settings) for r in requests]
        executor.run(calls, label)
        verdicts = []
        for request, first in zip(requests, calls):
            def attempt(n: int, first: Call = first) -> Completion:
                if n == 0:
                    return first.result
                retry = retry_call(first, n)
                executor.run([retry], label=None)
                return retry.result

            verdicts.append(with_retries(attempt, request.parse, max_retries, request.rationale))
        return verdicts

    return ask
