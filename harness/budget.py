"""What a call may cost, before it is made: the token estimates the dry run shows, and the spending cap of
`bench run --max-cost USD`.

Estimates, and why they are what they are:
- `estimate_input_tokens`: the characters of the request (messages, and the JSON schema where one is sent) / 4,
  plus 4 tokens of chat template per message: the usual rule of thumb for English text with a BPE tokenizer. No
  tokenizer is loaded for it (loading one means loading the model, or a download).
- `worst_input_tokens`: the UTF-8 bytes of the same text, plus 8 tokens per message: an upper bound for the
  byte-level BPE tokenizers of today's models (every token covers at least one byte), whatever the language.
- Output: `max_tokens`, the most a call can produce.

The cap is per run, not per command: it bounds what the run's own calls cost (a call answered from the cache
costs nothing; the calls an interrupted command made count when the run resumes, since the run id is the
same). Before each call is started, its worst case (`worst_case_usd`) is added to the spend so far and to the
worst case of the calls in flight; if that would pass the cap, no further call starts, the calls in flight
finish and are saved, and the command stops with `BudgetExceeded` (exit code 3). The same command with a
higher cap resumes the run: what finished comes from the cache. A model without prices costs nothing here.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any

from .adapters.base import Message, Prices
from .errors import BenchError

TEMPLATE_TOKENS = 4  # per message, the typical chat template's own tokens (role markers, separators)
WORST_TEMPLATE_TOKENS = 8


def _request_text(messages: list[Message], schema: dict[str, Any] | None) -> str:
    text = "".join(m["content"] for m in messages)
    return text + (json.dumps(schema) if schema else "")


def estimate_input_tokens(messages: list[Message], schema: dict[str, Any] | None = None) -> int:
    """A typical count of the request's input tokens: characters / 4, plus the template's tokens."""
    return math.ceil(len(_request_text(messages, schema)) / 4) + TEMPLATE_TOKENS * len(messages)


def worst_input_tokens(messages: list[Message], schema: dict[str, Any] | None = None) -> int:
    """An upper bound of the request's input tokens: its UTF-8 bytes, plus the template's tokens."""
    return len(_request_text(messages, schema).encode("utf-8")) + WORST_TEMPLATE_TOKENS * len(messages)


def worst_case_usd(prices: Prices | None, messages: list[Message], schema: dict[str, Any] | None,
                   max_tokens: int) -> float:
    """The most one call can cost: the worst input and `max_tokens` out, at the model's prices (0 without)."""
    if prices is None:
        return 0.0
    return prices.cost(worst_input_tokens(messages, schema), max_tokens)


class BudgetExceeded(BenchError):
    """The run stopped before its spend could pass --max-cost; what finished is saved. Exit code 3."""

    exit_code = 3

    def __init__(self, budget: "Budget", next_call_usd: float):
        self.budget, self.next_call_usd = budget, next_call_usd
        super().__init__()

    def __str__(self) -> str:  # read when printed: by then the calls that were in flight have finished
        b = self.budget
        return (f"stopped at --max-cost ${b.cap_usd:.4f}: this run has spent ${b.spent_usd:.4f} "
                f"(${b.spent_usd - b.spent_before_usd:.4f} in {b.calls} call(s) of this command), and the next call "
                f"could cost up to ${self.next_call_usd:.4f}; finished calls are saved: run the same command with a "
                f"higher --max-cost to resume")


class Budget:
    """The spending cap of one run, shared by the executor's workers (thread-safe)."""

    def __init__(self, cap_usd: float, spent_usd: float = 0.0):
        if not math.isfinite(cap_usd) or cap_usd < 0:
            raise ValueError("the cap must be a finite amount of USD, 0 or more")
        self.cap_usd = cap_usd
        self.spent_before_usd = self.spent_usd = spent_usd
        self.in_flight_usd = 0.0
        self.calls = 0
        self.stopped = False
        self._lock = threading.Lock()

    def reserve(self, call) -> float:
        """Before a call (harness.executor.Call) starts: hold its worst case, or raise when it could pass the
        cap. Once raised, every later call is refused too (no call starts after the stop)."""
        worst = worst_case_usd(call.adapter.prices, call.messages, call.json_schema, call.settings.max_tokens)
        with self._lock:
            if self.stopped or self.spent_usd + self.in_flight_usd + worst > self.cap_usd:
                self.stopped = True
                raise BudgetExceeded(self, worst)
            self.in_flight_usd += worst
            return worst

    def settle(self, held: float, cost_usd: float | None) -> None:
        """A call ended: its hold is released and what it cost (if known) is spent."""
        with self._lock:
            self.in_flight_usd -= held
            self.spent_usd += cost_usd or 0.0
            self.calls += 1


def start_budget(store, run_id: str, cap_usd: float, adapters, say) -> Budget:
    """The cap of this run, starting from what its calls have cost so far (a resumed run); says what it found."""
    spent = store.run_spend(run_id)
    priced = [a.model_id for a in adapters if a.prices is not None]
    say(f"--max-cost ${cap_usd:.4f}: spent so far by this run ${spent:.4f}; "
        + (f"priced: {', '.join(priced)}" if priced else "no model has prices: nothing counts against the cap"))
    return Budget(cap_usd, spent)
