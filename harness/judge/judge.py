"""Ask the judge, parse strictly, retry a bounded number of times; a verdict that never parses is an error,
recorded and shown, never guessed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from ..adapters.base import Completion


@dataclass
class Verdict:
    value: Any | None
    error: str | None
    attempts: int
    completions: list[Completion]


def _json_object(text: str) -> dict | None:
    text = text.strip()
    candidates = [text]
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match:
        candidates.append(match.group(0))
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def parse_ranking(text: str, labels: list[str]) -> tuple[list[str] | None, str | None]:
    obj = _json_object(text)
    if obj is None:
        return None, f"not JSON: {text[:80]!r}"
    ranking = obj.get("ranking")
    if not isinstance(ranking, list) or not all(isinstance(x, str) for x in ranking):
        return None, "no 'ranking' list of labels"
    ranking = [x.strip().removeprefix("Response ").strip() for x in ranking]
    if sorted(ranking) != sorted(labels):
        return None, f"ranking {ranking} is not a permutation of {labels}"
    return ranking, None


def parse_met(text: str) -> tuple[bool | None, str | None]:
    obj = _json_object(text)
    if obj is None:
        return None, f"not JSON: {text[:80]!r}"
    met = obj.get("met")
    if not isinstance(met, bool):
        return None, "no boolean 'met'"
    return met, None


def ask(call: Callable[[int], Completion], parse: Callable[[str], tuple[Any, str | None]], max_retries: int) -> Verdict:
    """`call(attempt)` makes (or fetches from cache) one judge request; attempt changes the seed."""
    completions: list[Completion] = []
    error = "no attempt made"
    for attempt in range(max_retries + 1):
        completion = call(attempt)
        completions.append(completion)
        if completion.error is not None:
            error = f"judge call failed: {completion.error}"
            continue
        value, error = parse(completion.text)
        if error is None:
            return Verdict(value, None, attempt + 1, completions)
    return Verdict(None, error, max_retries + 1, completions)
