"""The adapter contract: chat messages + generation settings in, a `Completion` out.

Every adapter measures time the same way: the clock starts just before the request is sent,
`ttft_s` is the time to the first non-empty piece of streamed text, `latency_s` the time to
the end of the stream, and `tokens_per_s` is the decode rate after the first token:
(output_tokens - 1) / (latency_s - ttft_s). `timing` below holds that arithmetic once.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


class StrictOptions(BaseModel):
    """Base for each adapter's options: unknown keys in models.yaml are errors."""

    model_config = ConfigDict(extra="forbid")


class Prices(StrictOptions):
    """USD per million tokens: finite and not negative."""

    input_per_mtok: float = Field(0.0, ge=0, allow_inf_nan=False)
    output_per_mtok: float = Field(0.0, ge=0, allow_inf_nan=False)

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float:
        return ((input_tokens or 0) * self.input_per_mtok + (output_tokens or 0) * self.output_per_mtok) / 1e6


MAX_OUTPUT_TOKENS = 1_000_000  # past any model's output limit; larger is a typo, not a setting
MAX_SEED = 2**32 - 1  # llama.cpp takes an unsigned 32-bit seed (and reads -1 as "random")


class GenerationSettings(StrictOptions):
    """What every backend is asked with; a value no backend could honour is refused when the file is read."""

    max_tokens: int = Field(256, ge=1, le=MAX_OUTPUT_TOKENS)
    temperature: float = Field(0.0, ge=0, le=100, allow_inf_nan=False)
    top_p: float = Field(1.0, ge=0, le=1, allow_inf_nan=False)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    stop: list[str] = []
    repeat_penalty: float = Field(1.0, gt=0, le=100, allow_inf_nan=False)  # 1.0 is off; backends without one ignore it

    def key_dict(self) -> dict[str, Any]:
        return self.model_dump()


@dataclass
class Completion:
    text: str
    ttft_s: float | None
    latency_s: float
    input_tokens: int | None
    output_tokens: int | None
    tokens_per_s: float | None
    finish_reason: str | None
    error: str | None = None
    cost_usd: float | None = None
    retries: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, error: str, latency_s: float = 0.0, retries: int = 0) -> "Completion":
        # Text is never invented on failure: it stays empty and the error is recorded.
        return cls(text="", ttft_s=None, latency_s=latency_s, input_tokens=None, output_tokens=None,
                   tokens_per_s=None, finish_reason="error", error=error, retries=retries)


@dataclass
class StreamClock:
    """Measures one streamed request. Call `start()` just before sending, `piece(text)` per chunk."""

    started: float = 0.0
    first: float | None = None
    pieces: list[str] = field(default_factory=list)

    def start(self) -> "StreamClock":
        self.started = time.perf_counter()
        return self

    def piece(self, text: str | None) -> None:
        if text:
            if self.first is None:
                self.first = time.perf_counter()
            self.pieces.append(text)

    def finish(self, *, input_tokens: int | None, output_tokens: int | None, finish_reason: str | None,
               prices: "Prices | None" = None, retries: int = 0) -> Completion:
        end = time.perf_counter()
        latency = end - self.started
        ttft = (self.first - self.started) if self.first is not None else None
        return Completion(
            text="".join(self.pieces),
            ttft_s=ttft,
            latency_s=latency,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            tokens_per_s=decode_rate(output_tokens, ttft, latency),
            finish_reason=finish_reason,
            cost_usd=prices.cost(input_tokens, output_tokens) if prices else None,
            retries=retries,
        )


def decode_rate(output_tokens: int | None, ttft_s: float | None, latency_s: float) -> float | None:
    if not output_tokens or ttft_s is None:
        return None
    decode_time = latency_s - ttft_s
    if output_tokens <= 1 or decode_time <= 0:
        return None
    return (output_tokens - 1) / decode_time


class Adapter(ABC):
    """One configured model. Subclasses set `Options` and implement `fingerprint` and `generate`.

    `local = True` marks adapters that compute on this machine's CPU; the runner lets only one
    of those work at a time so that two models do not fight over the same cores.
    `structured` names how the backend constrains JSON: "json_schema" (llama.cpp, OpenAI-compatible),
    "tool" (Anthropic) or None (the prompt asks, the parser checks).
    """

    Options: type[StrictOptions] = StrictOptions
    local: bool = False
    structured: str | None = None
    # True for a kind that answers by case id and turn (answers read from a file): the answer stage then calls
    # `answer(case_id, turn, messages, settings)` instead of `generate`.
    answers_by_case: bool = False

    def __init__(self, model_id: str, options: StrictOptions, prices: Prices | None = None,
                 max_concurrency: int = 1, family: str | None = None):
        self.model_id = model_id
        self.options = options
        self.prices = prices
        self.max_concurrency = max_concurrency
        self.family = family

    @abstractmethod
    def fingerprint(self) -> str:
        """A string naming exactly what answers (weights hash, endpoint + model id, ...)."""

    @abstractmethod
    def generate(self, messages: list[Message], settings: GenerationSettings,
                 json_schema: dict[str, Any] | None = None) -> Completion:
        """Answer one chat. Errors are returned as `Completion.failed(...)`, except `AdapterError`
        for problems no retry can fix (missing key, missing package), which is raised."""

    def answer(self, case_id: str, turn: int, messages: list[Message], settings: GenerationSettings) -> Completion:
        """The answer to one turn of one case (only kinds with `answers_by_case`)."""
        raise NotImplementedError(f"{type(self).__name__} answers prompts, not case ids")

    def size_mib(self) -> float | None:
        """The size of what answers, in MiB, where the kind knows it (a weights file); None otherwise."""
        return None

    def close(self) -> None:  # pragma: no cover - trivial default
        pass

