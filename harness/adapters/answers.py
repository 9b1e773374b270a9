"""Answers generated elsewhere, read from a file (`kind: answers`): a contestant or a baseline, never a judge.

    my-vllm-batch:
      kind: answers
      path: answers/my-model.jsonl     # relative to the working directory, like every path in models.yaml
      format: auto                     # or bench | arena-hard | alpaca-eval | fastchat (harness.answer_files)
      model: my-model                  # only the rows of this model, in a file holding several

The file is read and checked when the model is created, before any call of the run: a malformed row, a second
answer for the same case and turn, or the answers of several models without `model` stop the run with one line
naming the file, the row and the key. The answer stage asks by case id and turn (`answers_by_case`); a case the
file has no answer for is a failed answer, counted as missing, never skipped. Answers for cases the suite does
not have are counted by `coverage` (the run warns and results.json counts them). Timings and token counts come
from the file where it gives them; bench measures none of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ..answer_files import AnswerFile, AnswerRecord, match_answers, read_answers
from ..errors import ConfigError
from .base import Adapter, Completion, GenerationSettings, Message, StrictOptions, decode_rate


class AnswersOptions(StrictOptions):
    path: str = Field(min_length=1)
    format: Literal["auto", "bench", "arena-hard", "alpaca-eval", "fastchat"] = "auto"
    model: str | None = Field(None, min_length=1)


class AnswersAdapter(Adapter):
    Options = AnswersOptions
    answers_by_case = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        opts: AnswersOptions = self.options
        self.path = Path(os.path.expanduser(opts.path))
        self.file: AnswerFile = read_answers(self.path, opts.format, opts.model)
        _refuse_problems(self.file, opts.model)

    def fingerprint(self) -> str:
        # The file's bytes name what answers; the model picked from it is part of that.
        opts: AnswersOptions = self.options
        return f"answers:{self.file.sha256}" + (f":{opts.model}" if opts.model else "")

    def answer(self, case_id: str, turn: int, messages: list[Message], settings: GenerationSettings) -> Completion:
        record = self.file.answers.get((case_id, turn))
        if record is None:
            failed = Completion.failed(f"no answer in {self.path} for case {case_id} turn {turn}")
            failed.latency_s = None  # not a call that took time: no latency to count
            return failed
        return self._completion(record)

    def generate(self, messages: list[Message], settings: GenerationSettings,
                 json_schema: dict[str, Any] | None = None) -> Completion:
        failed = Completion.failed(f"answers from {self.path} by case id and turn: it has no answer to a new prompt")
        failed.latency_s = None
        return failed

    def _completion(self, record: AnswerRecord) -> Completion:
        prices = self.prices
        cost = None
        if prices is not None and _known_or_free(record.input_tokens, prices.input_per_mtok) and \
                _known_or_free(record.output_tokens, prices.output_per_mtok):
            cost = prices.cost(record.input_tokens, record.output_tokens)
        rate = decode_rate(record.output_tokens, record.ttft_s, record.latency_s) \
            if record.latency_s is not None else None
        # The file does not say why generation stopped: no finish reason is invented.
        return Completion(text=record.text, ttft_s=record.ttft_s, latency_s=record.latency_s,
                          input_tokens=record.input_tokens, output_tokens=record.output_tokens, tokens_per_s=rate,
                          finish_reason=None, cost_usd=cost)

    def coverage(self, expected: list[tuple[str, int]]) -> dict[str, Any]:
        """The file against the (case id, turn) pairs a suite asks: counts, and a few of the unknown pairs."""
        missing, unknown = match_answers(self.file, expected)
        return {"path": str(self.path), "format": self.file.format, "sha256": self.file.sha256,
                "answers": len(self.file.answers), "missing": len(missing), "unknown": len(unknown),
                "unknown_examples": [f"{case_id} turn {turn}" for case_id, turn in unknown[:3]]}

    def describe(self) -> str:
        """One line for `bench models --check`: what the file holds."""
        names = f" of {', '.join(self.file.models)}" if self.file.models else ""
        return f"{len(self.file.answers)} answers{names} ({self.file.format}) in {self.path}"


def _known_or_free(tokens: int | None, price: float) -> bool:
    return tokens is not None or price == 0


def _refuse_problems(file: AnswerFile, model: str | None) -> None:
    """Answer files are checked as strictly as every other input: the first problem stops the run."""
    problems = [p for p in file.problems if not (p.kind == "mixed_models" and model is not None)]
    if not problems:
        return
    first = problems[0]
    if first.kind == "mixed_models":
        raise ConfigError(f"{first.message}: pick one with 'model'", path=first.path)
    more = f" (and {len(problems) - 1} more problem(s) in the file)" if len(problems) > 1 else ""
    raise ConfigError(first.message.removesuffix("; the first is kept") + more, path=first.path, line=first.line,
                      key=first.key)
