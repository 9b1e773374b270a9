"""`bench run --dry-run`: what a run would ask, before it asks anything.

The dry run goes through the very stages a run goes through (harness.stages), with an executor that looks each
call up in the cache and calls no model, and writes nothing to the store. So its counts are the calls a run
then makes, per stage and model: how many the cache already holds, and how many would be made, with their
estimated input tokens, their output tokens (max_tokens: the upper bound; and the mean of the same model's
cached calls of that stage, where there are some) and, for models with prices, their cost in USD.

What it cannot know, and what it assumes instead (each an upper bound of the calls):
- An answer not in the cache is assumed to come back, unflagged and different from every other answer, so
  every grade, judgment, score and planted trial built on it is counted as a call to make. A failed or flagged
  answer makes fewer; two identical answers share their judge calls (the cache key is the request).
- A verdict not in the cache is assumed to parse; re-asks are counted only where the cache already holds a
  first attempt that did not parse (each re-ask the cache lacks counted, up to `judging.max_retries`).
- Judge prompts built on an answer not yet generated are measured with a stand-in as long as that model's
  cached answers of the stage on average, or max_tokens when none is cached.
No weights are loaded: the cache keys need only each model's fingerprint (a GGUF file's hash, remembered after
the first time; an HF folder's file hashes; an Ollama server's model digest, asked of the server; an API
model's endpoint and name). No tokenizer is loaded either: token counts are estimates (harness.budget).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .adapters.base import Completion
from .budget import estimate_input_tokens
from .executor import Call, Executor, judge_call, retry_call, with_retries
from .records import Ask, JudgeRequest, Verdict
from .stages import NOT_ASKED
from .store import LOOKUP_CHUNK, completion_from_row

STAGE_NAMES = {"answer": "answers", "grade": "grading", "judge": "judging", "score": "scoring",
               "adversarial": "planted", "exam": "exam"}  # the store's stage -> what the plan calls it


@dataclass
class Tally:
    """One model's calls of one stage in the plan."""

    calls: int = 0  # distinct calls the stage asks for (the cache key is the request)
    cached: int = 0
    input_tokens: int = 0  # estimated, of the calls to make
    output_tokens_max: int = 0  # max_tokens of the calls to make
    cached_output_tokens: int = 0
    cached_with_tokens: int = 0
    cached_cost_usd: float | None = None  # what the cached calls cost when they were made

    @property
    def to_make(self) -> int:
        return self.calls - self.cached

    @property
    def cached_mean_output(self) -> float | None:
        return self.cached_output_tokens / self.cached_with_tokens if self.cached_with_tokens else None


class DryExecutor(Executor):
    """Answers each call from the cache, or with a stand-in marked NOT_ASKED; counts every distinct call."""

    def __init__(self, store, made_by: str | None = None):
        super().__init__(store, "(dry run)", progress=None, no_cache=made_by is not None)
        self.made_by = made_by  # with --no-cache: only this run's calls come from the cache
        self.tallies: dict[tuple[str, str], Tally] = {}
        self._seen: set[tuple[str, str]] = set()

    def tally(self, model_id: str, stage: str) -> Tally:
        return self.tallies.setdefault((model_id, stage), Tally())

    def run(self, calls: list[Call], label: str | None) -> list[Call]:
        for start in range(0, len(calls), LOOKUP_CHUNK):
            chunk = [self._prepare(call) for call in calls[start:start + LOOKUP_CHUNK]]
            rows = self.store.cached_many([call.key for call in chunk], made_by=self.made_by)
            for call in chunk:
                row = rows.get(call.key)
                tally = self.tally(call.adapter.model_id, call.stage)
                new = (call.stage, call.key) not in self._seen
                self._seen.add((call.stage, call.key))
                if row is not None:
                    call.result = completion_from_row(row)
                    if new:
                        tally.calls += 1
                        tally.cached += 1
                        if row["output_tokens"] is not None:
                            tally.cached_output_tokens += row["output_tokens"]
                            tally.cached_with_tokens += 1
                        if row["cost_usd"] is not None:
                            tally.cached_cost_usd = (tally.cached_cost_usd or 0.0) + row["cost_usd"]
                    continue
                call.result = self._stand_in(call, tally)
                if new:
                    tally.calls += 1
                    tally.input_tokens += estimate_input_tokens(call.messages, call.json_schema)
                    tally.output_tokens_max += call.settings.max_tokens
        return calls

    @staticmethod
    def _stand_in(call: Call, tally: Tally) -> Completion:
        """A made-up completion for a call the cache lacks: never flagged or graded as an answer (NOT_ASKED),
        unique to its call, as long as the model's answers are expected to be (4 characters a token)."""
        tokens = tally.cached_mean_output or call.settings.max_tokens
        text = f"(not generated: {call.key[:16]}) " + "x" * int(4 * tokens)
        return Completion(text=text, ttft_s=None, latency_s=0.0, input_tokens=None, output_tokens=None,
                          tokens_per_s=None, finish_reason=NOT_ASKED)


def dry_ask(executor: DryExecutor, adapters: dict, settings, max_retries: int) -> Ask:
    """`ask` as harness.executor.make_ask asks, from the cache alone: a verdict the cache lacks is no verdict."""

    def ask(requests: list[JudgeRequest], label: str | None) -> list[Verdict]:
        calls = [judge_call(r, adapters, settings) for r in requests]
        executor.run(calls, label)
        verdicts = []
        for request, first in zip(requests, calls):
            if first.result.finish_reason == NOT_ASKED:
                verdicts.append(Verdict(None, NOT_ASKED, 1))
                continue

            def attempt(n: int, first: Call = first) -> Completion:
                if n == 0:
                    return first.result
                retry = executor.run([retry_call(first, n)], None)[0]
                return Completion.failed(NOT_ASKED) if retry.result.finish_reason == NOT_ASKED else retry.result

            verdicts.append(with_retries(attempt, request.parse, max_retries, request.rationale))
        return verdicts

    return ask


@dataclass
class DryRun:
    """The plan of a run and what it would cost: per stage and model, and per model."""

    suite: str
    cases: int
    samples: int
    models: list[str]
    judges: list[str]
    resumes: str | None  # the unfinished run this command would resume, if any
    rows: list[dict[str, Any]] = field(default_factory=list)
    per_model: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def by_stage(self) -> dict[str, dict[str, int]]:
        """{store stage: {calls, cached}} over every model: what results.json's generation.by_stage then says
        (its `calls` are the calls made, here `to_make`)."""
        out: dict[str, dict[str, int]] = {}
        for row in self.rows:
            mine = out.setdefault(row["stage"], {"calls": 0, "cached": 0})
            mine["calls"] += row["to_make"]
            mine["cached"] += row["cached"]
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _usd(prices, input_tokens: float, output_tokens: float | None) -> float | None:
    return None if prices is None or output_tokens is None else prices.cost(int(input_tokens), int(output_tokens))


def _known_sum(values) -> float | None:
    """The sum of the known values; None when none is known."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def summarize(plan, adapters: dict, executor: DryExecutor, resumes: str | None) -> DryRun:
    out = DryRun(plan.suite.name, len(plan.cases), plan.samples, plan.model_ids, plan.judge_ids, resumes)
    order = list(STAGE_NAMES)
    for (model_id, stage), t in sorted(executor.tallies.items(),
                                       key=lambda item: (order.index(item[0][1]) if item[0][1] in order else 99,
                                                         list(adapters).index(item[0][0]))):
        prices = adapters[model_id].prices
        mean = t.cached_mean_output
        expected = None if mean is None else mean * t.to_make
        out.rows.append({
            "stage": stage, "name": STAGE_NAMES.get(stage, stage), "model": model_id, "calls": t.calls,
            "cached": t.cached, "to_make": t.to_make, "input_tokens": t.input_tokens,
            "output_tokens_max": t.output_tokens_max,
            "cached_mean_output_tokens": None if mean is None else round(mean, 1),
            "output_tokens_expected": None if expected is None else round(expected),
            "usd_max": _usd(prices, t.input_tokens, t.output_tokens_max),
            "usd_expected": _usd(prices, t.input_tokens, expected) if t.to_make else (0.0 if prices else None),
            "cached_usd": t.cached_cost_usd,
        })
    for model_id, adapter in adapters.items():
        mine = [r for r in out.rows if r["model"] == model_id]
        priced = adapter.prices is not None

        def total(key: str) -> float | None:
            values = [r[key] for r in mine]
            return None if not priced or any(v is None for v in values) else sum(values)

        out.per_model.append({"model": model_id, "priced": priced,
                              "roles": sorted({STAGE_NAMES.get(r["stage"], r["stage"]) for r in mine},
                                              key=lambda n: list(STAGE_NAMES.values()).index(n)),
                              "to_make": sum(r["to_make"] for r in mine), "cached": sum(r["cached"] for r in mine),
                              "usd_max": total("usd_max"), "usd_expected": total("usd_expected"),
                              "cached_usd": _known_sum(r["cached_usd"] for r in mine)})
    out.notes = [
        "no model was called and no weights were loaded: the cache keys need only the models' fingerprints",
        "input tokens: characters / 4 + 4 per message (no tokenizer loaded); output: max_tokens is the upper bound, "
        "'expected' uses the mean of the same model's cached calls of the stage",
        "answers not in the cache are assumed answered, unflagged and distinct (the judge calls built on them are "
        "an upper bound), verdicts not in the cache to parse at the first try (each that does not adds up to "
        "judging.max_retries re-asks, not counted here)",
    ]
    if any(case.turns for case in plan.cases):
        out.notes.append(
            "multi-turn cases: each later turn is a call of its own, asked after the model's answer to the turn "
            "before; a turn the cache lacks is assumed answered (not failed), so the later turns after it are "
            "counted as calls to make (an upper bound: a failed turn ends its conversation) and their prompts "
            "measured with a stand-in answer; score mode asks one call per turn of such a case")
    if plan.suite.fidelity:
        out.notes.append("the fidelity stage is not counted: it loads the models' weights and asks no cached calls")
    return out


def dry_run(suite: str | Path, *, models_path: Path, model_ids: list[str] | None = None, judge: str | None = None,
            limit: int | None = None, repeat: int | None = None, options=None, fidelity_reference: str | None = None,
            store_path: Path = Path(".bench/bench.sqlite")) -> DryRun:
    """The plan of `bench run` with these arguments, from the cache alone; nothing is written. `options`: the
    run's harness.run_options.RunOptions (`repeat` and `limit` stand in for its fields when it is not given)."""
    import dataclasses

    from .run_options import RunOptions

    from .evaluate import _identity, load_plan
    from .files import stable_hash
    from .registry import create_adapter
    from .stages import run_all
    from .store import Store

    options = options or RunOptions()
    if repeat is not None:
        options = dataclasses.replace(options, repeat=repeat)
    plan = load_plan(suite, models_path=models_path, model_ids=model_ids, judge=judge, limit=limit, options=options,
                     fidelity_reference=fidelity_reference)
    adapters = {mid: create_adapter(plan.entries[mid]) for mid in dict.fromkeys([*plan.model_ids, *plan.judge_ids])}
    store = Store(Path(store_path)) if Path(store_path).is_file() else Store(Path(":memory:"))
    try:
        resumes = store.find_resumable(stable_hash(_identity(plan, adapters)))
        # --no-cache: only the calls of the run it would resume count as cached (as the real run's executor does).
        executor = DryExecutor(store, (resumes or "(dry run)") if plan.options.no_cache else None)
        run_all(plan, adapters, executor, dry_ask(executor, adapters, plan.suite.judge_generation,
                                                  plan.suite.judging.max_retries))
        return summarize(plan, adapters, executor, resumes)
    finally:
        for adapter in adapters.values():
            adapter.close()
        store.close()
