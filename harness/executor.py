"""Calls -> completions: the cache first, then each model's lane and concurrency, each finished call committed.

In-process CPU models share one lane and one worker, so they do not fight over the cores and each model's
calls run together, in the order given (its weights stay warm); API models each get their own concurrency.
A run stopped part-way resumes under the same run id: finished calls come from the cache and are not counted
twice. `make_ask` turns the executor into the `ask` callable judge code is given.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable

from .adapters.base import Adapter, Completion, GenerationSettings
from .records import Ask, JudgeRequest, Verdict
from .store import Store, request_key

# In-process CPU backends share this: one computes at a time.
_LOCAL_CPU = threading.Lock()


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
    def __init__(self, store: Store, run_id: str, progress):
        self.store, self.run_id, self.progress = store, run_id, progress
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
        pending: list[Call] = []
        for call in calls:
            self._prepare(call)
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
        by_lane: dict[str, list[Call]] = {}
        for call in pending:
            by_lane.setdefault("local" if call.adapter.local else call.adapter.model_id, []).append(call)
        pools = {lane: ThreadPoolExecutor(thread_name_prefix=f"bench-{lane}", max_workers=1 if lane == "local"
                                          else max(1, group[0].adapter.max_concurrency))
                 for lane, group in by_lane.items()}
        futures: list[Future] = []
        try:
            for lane, group in by_lane.items():
                futures += [pools[lane].submit(self._one, call) for call in group]
            for future in as_completed(futures):
                future.result()  # re-raise adapter errors that no retry can fix
                if task is not None:
                    self.progress.advance(task)
        finally:
            # Calls not started are dropped; calls in flight finish and are saved, so nothing is lost.
            for pool in pools.values():
                pool.shutdown(wait=True, cancel_futures=True)
        return calls

    def _one(self, call: Call) -> None:
        adapter = call.adapter
        with (_LOCAL_CPU if adapter.local else nullcontext()):
            if adapter.answers_by_case and call.context is not None:
                completion = adapter.answer(call.context["case_id"], call.context["turn"], call.messages, call.settings)
            else:
                completion = adapter.generate(call.messages, call.settings, call.json_schema)
        self.store.save_generation(call.key, adapter.model_id, self.fingerprint(adapter), call.stage,
                                   {"messages": call.messages, "settings": call.settings.key_dict(),
                                    "schema": call.json_schema}, completion, run_id=self.run_id)
        if completion.error is None:
            self.store.record_call(self.run_id, call.stage, call.key, fresh=True)
        call.result, call.fresh = completion, True


def with_retries(attempt: Callable[[int], Completion], parse: Callable[[str], tuple[Any, str | None]],
                 max_retries: int) -> Verdict:
    """Parse the first answer; on failure ask again, at most `max_retries` more times. `attempt(n)` makes (or
    fetches from the cache) attempt n. A verdict that never parses is an error, recorded, never guessed."""
    error = "no attempt made"
    for n in range(max_retries + 1):
        completion = attempt(n)
        if completion.error is not None:
            error = f"judge call failed: {completion.error}"
            continue
        value, error = parse(completion.text)
        if error is None:
            return Verdict(value, None, n + 1)
    return Verdict(None, error, max_retries + 1)


def make_ask(executor: Executor, adapters: dict[str, Adapter], settings: GenerationSettings,
             max_retries: int) -> Ask:
    """The `ask` callable for judge code: every request's first attempt is run as one batch (cache first),
    then each unparsed verdict is asked again, sampling with a new seed (a greedy judge would only repeat
    itself)."""

    def first_call(request: JudgeRequest) -> Call:
        adapter = adapters[request.judge_id]
        return Call(adapter, request.stage, request.messages, settings,
                    request.schema if adapter.structured else None, {"prompt": request.prompt_version})

    def ask(requests: list[JudgeRequest], label: str | None) -> list[Verdict]:
        calls = [first_call(r) for r in requests]
        executor.run(calls, label)
        verdicts = []
        for request, first in zip(requests, calls):
            def attempt(n: int, first: Call = first) -> Completion:
                if n == 0:
                    return first.result
                retry_settings = first.settings.model_copy(
                    update={"temperature": max(first.settings.temperature, 0.7), "seed": first.settings.seed + n})
                retry = Call(first.adapter, first.stage, first.messages, retry_settings, first.json_schema,
                             first.extra)
                executor.run([retry], label=None)
                return retry.result

            verdicts.append(with_retries(attempt, request.parse, max_retries))
        return verdicts

    return ask
