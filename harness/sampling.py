"""Repeated samples of every case: `bench run --repeat N`, or `generation.samples: N` in the suite (the flag wins).

Each model answers each case N times at the suite's temperature, which must be above 0 (greedy decoding gives
the same answer N times: such a repeat is refused). Every sample is a call of its own, cached on its own:

- Sample 0 is asked exactly as a run without repeats asks (same settings, same cache key). Its cached answer
  from such a run is reused, and that is honest: it was drawn with the same temperature, seed and settings,
  so it is a draw from the very distribution the repeat samples; a repeat run is an N=1 run plus N-1 more draws.
- Sample s > 0 is asked with seed + s (wrapping at the largest seed) and with the sample index in the cache
  key's `extra`, so a backend that honours seeds draws anew, one that does not (Anthropic) still gets a call
  of its own, and no sample stands in for another.

Grading and judging use every sample: each sample is graded on its own, and sample s of every model forms one
ranking set per case (rank mode: the N sets each judged in the suite's orders; pairwise: each pair within a
sample). Statistics keep the case as the unit (harness.results.repeats).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_serializer, model_validator

from .adapters.base import MAX_SEED, GenerationSettings

MAX_SAMPLES = 100


class SuiteGeneration(GenerationSettings):
    """A suite's `generation`: what the contestants are asked with, and how many samples of each case."""

    samples: int = Field(1, ge=1, le=MAX_SAMPLES)

    @model_validator(mode="after")
    def _not_greedy(self):
        if self.samples > 1 and self.temperature <= 0:
            raise ValueError(f"generation.samples: {self.samples} samples of each case at temperature 0 would be "
                             f"the same answer {self.samples} times; set generation.temperature above 0")
        return self

    @model_serializer(mode="wrap")
    def _samples_only_when_repeated(self, handler) -> dict[str, Any]:
        # A suite without repeats dumps as it did before samples existed: same suite hash, same run identity.
        data = handler(self)
        if isinstance(data, dict) and data.get("samples") == 1:
            data.pop("samples")
        return data

    def for_sample(self, sample: int) -> GenerationSettings:
        """The settings sample number `sample` is asked with (the sample count itself is no model setting)."""
        base = GenerationSettings.model_validate(self.model_dump(exclude={"samples"}))
        if sample == 0:
            return base
        return base.model_copy(update={"seed": (base.seed + sample) % (MAX_SEED + 1)})


def sample_extra(case_id: str, sample: int) -> dict[str, Any]:
    """The cache key's `extra` of one answer call: sample 0 keys as a run without repeats does."""
    return {"case": case_id} if sample == 0 else {"case": case_id, "sample": sample}


def samples_of(spec_generation: dict[str, Any] | None) -> int:
    """How many samples of each case a recorded run asked for (1 when its spec does not say)."""
    return int((spec_generation or {}).get("samples", 1) or 1)


def repeated(loaded, repeat: int, temperature: float | None = None) -> SuiteGeneration:
    """The suite's generation settings with `repeat` samples of each case (`--repeat`, which wins over the
    suite's `generation.samples`); a greedy repeat is refused, naming the flag and the suite's key.
    `temperature`: the command line's `--temperature`, when given (it is the one the samples are drawn at)."""
    from .errors import ConfigError

    generation = loaded.suite.generation
    if not 1 <= repeat <= MAX_SAMPLES:
        raise ConfigError(f"expected a number of samples from 1 to {MAX_SAMPLES}, got {repeat}", key="--repeat")
    drawn_at = generation.temperature if temperature is None else temperature
    if repeat > 1 and drawn_at <= 0:
        where = "--temperature" if temperature is not None else f"generation.temperature in {loaded.path}"
        raise ConfigError(f"{repeat} samples of each case at temperature 0 would be the same answer {repeat} times; "
                          f"set {where} above 0", key="--repeat")
    return generation.model_copy(update={"samples": repeat})


def check_not_greedy(generation, suite_path) -> None:
    """The suite's `generation.samples` with `--temperature 0` on the command line: refused like a greedy
    repeat."""
    from .errors import ConfigError

    samples = getattr(generation, "samples", 1)
    if samples > 1 and generation.temperature <= 0:
        raise ConfigError(f"{suite_path} asks for {samples} samples of each case (generation.samples); at "
                          f"temperature 0 they would be the same answer {samples} times", key="--temperature")


def refuse_file_answers(samples: int, model_ids, entries) -> None:
    """A model that answers from a file gives one answer per case and turn: repeated samples of it are no
    samples. Refused, naming the model."""
    from .errors import ConfigError
    from .registry import adapter_class

    if samples <= 1:
        return
    for model_id in model_ids:
        if adapter_class(entries[model_id].kind).answers_by_case:
            raise ConfigError(f"'{model_id}' answers from a file (kind: {entries[model_id].kind}): {samples} samples "
                              "of each case would be the same answer each time; run it without repeats",
                              key="--repeat")
