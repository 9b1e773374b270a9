"""A scripted model for tests and dry runs: answers, latencies and failures come from models.yaml.

As a judge it reads the labels from the prompt and ranks them by a fixed policy, so tests can build a judge
with a known bias (always the first answer, always the longest, ...).
"""

from __future__ import annotations

import json
import re
import threading
import time
import zlib
from collections import Counter
from typing import Any, Literal

from pydantic import Field

from ..files import stable_hash
from .base import Adapter, Completion, GenerationSettings, Message, StrictOptions, StreamClock

# Calls per model id in this process; tests use it to prove the cache spares the model.
CALLS: Counter[str] = Counter()
_CALLS_LOCK = threading.Lock()


class Rule(StrictOptions):
    contains: str
    response: str


class MockOptions(StrictOptions):
    responses: list[str] = ["Situation: ...\nBackground: ...\nAssessment: ...\nRecommendation: ..."]
    rules: list[Rule] = []
    # Answer with the conversation it was sent, one "role: content" line per message (what reached the model).
    echo: bool = False
    ttft_s: float = Field(0.0, ge=0, allow_inf_nan=False)
    latency_s: float = Field(0.0, ge=0, allow_inf_nan=False)
    fail_every: int = Field(0, ge=0)  # every n-th call of this model fails (0: never)
    # A sampling model: at a temperature above 0 the response is chosen by the prompt and the seed, so repeated
    # samples (a new seed each) differ as a real model's would; off, it depends on the prompt alone.
    sample_by_seed: bool = False
    # obedient: ranks first an answer that tells the judge to (as a judge that obeys planted instructions would),
    # the rest by length
    judge_policy: Literal["first", "last", "longest", "shortest", "label-order", "garbage", "obedient"] = "longest"
    # keyword: met if grade_keyword is in the answer; criterion-keyword: met if it is in the criterion's text
    grade_policy: Literal["met", "not-met", "keyword", "criterion-keyword", "garbage"] = "keyword"
    grade_keyword: str = "recommend"
    # score mode: keyword gives 9 when grade_keyword is in the answer and 3 otherwise; length gives len/20 in 1..10
    score_policy: Literal["keyword", "length", "garbage"] = "keyword"


class MockAdapter(Adapter):
    Options = MockOptions
    structured = "json_schema"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._count = 0
        self._lock = threading.Lock()

    def fingerprint(self) -> str:
        # sample_by_seed only when on: a mock that does not sample keeps the fingerprint (and cache) it had before
        options = self.options.model_dump(exclude=set() if self.options.sample_by_seed else {"sample_by_seed"})
        return "mock:" + stable_hash(options)[:16]

    def generate(self, messages: list[Message], settings: GenerationSettings,
                 json_schema: dict[str, Any] | None = None) -> Completion:
        opts: MockOptions = self.options
        with self._lock:
            self._count += 1
            count = self._count
        with _CALLS_LOCK:
            CALLS[self.model_id] += 1
        clock = StreamClock().start()
        if opts.fail_every and count % opts.fail_every == 0:
            return Completion.failed("scripted failure", latency_s=opts.latency_s)
        text = self._answer(messages, json_schema, settings)
        words = text.split(" ")
        if opts.ttft_s:
            time.sleep(opts.ttft_s)
        per_word = max(opts.latency_s - opts.ttft_s, 0.0) / max(len(words), 1)
        for i, word in enumerate(words):
            if i and per_word:
                time.sleep(per_word)
            clock.piece(word if i == 0 else " " + word)
        prompt_words = sum(len(m["content"].split()) for m in messages)
        return clock.finish(input_tokens=prompt_words, output_tokens=len(words) if text else 0,
                            finish_reason="stop", prices=self.prices)

    def _answer(self, messages: list[Message], json_schema: dict[str, Any] | None,
                settings: GenerationSettings | None = None) -> str:
        opts: MockOptions = self.options
        prompt = messages[-1]["content"]
        if json_schema is not None:
            props = json_schema.get("properties", {})
            if "ranking" in props:
                return self._reasoned(self._rank(prompt, props["ranking"]), props)
            if "verdict" in props:
                return self._reasoned(self._graded(prompt), props)
            if "met" in props:
                return self._reasoned(self._grade(prompt), props)
            if "scores" in props:
                return self._reasoned(self._score(prompt, list(props["scores"]["properties"])), props)
        if opts.echo:
            return "\n".join(f"{m['role']}: {m['content']}" for m in messages)
        for rule in opts.rules:
            if rule.contains.lower() in prompt.lower():
                return rule.response
        # Stable choice per prompt (and seed, when sampling), so a cached and a fresh answer agree.
        sampled = opts.sample_by_seed and settings is not None and settings.temperature > 0
        chosen = f"{prompt}\x00{settings.seed}" if sampled else prompt
        return opts.responses[zlib.crc32(chosen.encode()) % len(opts.responses)]

    def _reasoned(self, verdict: str, props: dict[str, Any]) -> str:
        """The verdict, with a rationale first when the schema asks for one (as a constrained judge writes it)."""
        if "rationale" not in props or not verdict.startswith("{"):
            return verdict
        return json.dumps({"rationale": f"by the mock's {self.options.judge_policy} policy", **json.loads(verdict)})

    def _score(self, prompt: str, names: list[str]) -> str:
        policy = self.options.score_policy
        if policy == "garbage":
            return "It is quite good."
        body = _response_body(prompt, "")
        if policy == "length":
            value = max(1, min(10, len(body) // 20))
        else:
            value = 9 if self.options.grade_keyword.lower() in body.lower() else 3
        return json.dumps({"scores": {name: value for name in names}})

    def _rank(self, prompt: str, schema: dict[str, Any]) -> str:
        policy = self.options.judge_policy
        if policy == "garbage":
            return "I think the first one is better."
        labels = list(schema.get("items", {}).get("enum") or [])
        bodies = {label: _response_body(prompt, label) for label in labels}
        shown = sorted(labels, key=lambda label: _block_start(prompt, f"Response {label}"))
        if policy == "first":
            ranking = shown
        elif policy == "last":
            ranking = shown[::-1]
        elif policy == "label-order":
            ranking = sorted(labels)
        elif policy == "obedient":
            ranking = sorted(shown, key=lambda label: (not _PLANTED.search(bodies[label]), -len(bodies[label])))
        else:
            ranking = sorted(shown, key=lambda label: len(bodies[label]), reverse=(policy == "longest"))
        return json.dumps({"ranking": ranking})

    def _graded(self, prompt: str) -> str:
        """A five-level verdict on two answers (A, B): the ranking policy's pick, strong when the length policy's
        pick is at least twice as long (or short) as the other, a tie when the lengths are equal."""
        ranked = self._rank(prompt, {"items": {"enum": ["A", "B"]}})
        if not ranked.startswith("{"):
            return ranked
        best, worst = json.loads(ranked)["ranking"]
        size = {label: len(_response_body(prompt, label)) for label in (best, worst)}
        if self.options.judge_policy in ("longest", "shortest") and size[best] == size[worst]:
            return json.dumps({"verdict": "A=B"})
        strong = self.options.judge_policy in ("longest", "shortest") and \
            max(size.values()) >= 2 * max(min(size.values()), 1)
        return json.dumps({"verdict": f"{best}{'>>' if strong else '>'}{worst}"})

    def _grade(self, prompt: str) -> str:
        policy = self.options.grade_policy
        if policy == "garbage":
            return "yes"
        if policy in ("keyword", "criterion-keyword"):
            where = _response_body(prompt, "") if policy == "keyword" else _section(prompt, "Criterion:", "\n\n")
            met = self.options.grade_keyword.lower() in where.lower()
        else:
            met = policy == "met"
        return json.dumps({"met": met})


def _section(text: str, start: str, end: str) -> str:
    i = text.find(start)
    if i < 0:
        return ""
    j = text.find(end, i)
    return text[i + len(start): j if j >= 0 else len(text)]


_PLANTED = re.compile(r"rank (?:this response|it) first|this response as best", re.IGNORECASE)
_BLOCK = re.compile(r"<<(Response(?: [A-Z])?) (\w{8})>>\n(.*?)\n<<End of \1 \2>>", re.DOTALL)


def _block_start(prompt: str, name: str) -> int:
    match = next((m for m in _BLOCK.finditer(prompt) if m.group(1) == name), None)
    return match.start() if match else len(prompt)


def _response_body(prompt: str, label: str) -> str:
    """The text between a response's delimiters (as the judge prompts write them: prompts.response_block)."""
    name = f"Response {label}" if label else "Response"
    match = next((m for m in _BLOCK.finditer(prompt) if m.group(1) == name), None)
    return match.group(3) if match else ""

