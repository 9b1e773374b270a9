"""Parse judge verdicts strictly: JSON with the expected fields, or the reason it is not."""

from __future__ import annotations

import json
import re


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
    ranking, error = _field(text, "ranking")
    if error or not isinstance(ranking, list) or not all(isinstance(x, str) for x in ranking):
        return None, error or "no 'ranking' list of labels"
    ranking = [x.strip().removeprefix("Response ").strip() for x in ranking]
    if sorted(ranking) != sorted(labels):
        return None, f"ranking {ranking} is not a permutation of {labels}"
    return ranking, None


def parse_graded(text: str, labels: list[str]) -> tuple[tuple[list[str], str] | None, str | None]:
    """A five-level pairwise verdict ("A>>B", "A>B", "A=B", "B>A", "B>>A", optionally in [[ ]]) as (the labels best
    first, strength): "strong", "slight", or "tie" (labels then as given)."""
    verdict, error = _field(text, "verdict")
    if error or not isinstance(verdict, str):
        return None, error or "no 'verdict' string"
    a, b = labels
    value = verdict.strip().removeprefix("[[").removesuffix("]]").replace(" ", "")
    found = {f"{a}>>{b}": ([a, b], "strong"), f"{a}>{b}": ([a, b], "slight"), f"{a}={b}": ([a, b], "tie"),
             f"{b}>{a}": ([b, a], "slight"), f"{b}>>{a}": ([b, a], "strong")}.get(value)
    if found is None:
        return None, f"verdict {verdict!r} is none of {a}>>{b}, {a}>{b}, {a}={b}, {b}>{a}, {b}>>{a}"
    return found, None


def _field(text: str, name: str) -> tuple[object, str | None]:
    """The value of `name` in the JSON object the text holds, or why there is none."""
    obj = _json_object(text)
    if obj is None:
        return None, f"not JSON: {text[:80]!r}"
    return obj.get(name), None


def parse_met(text: str) -> tuple[bool | None, str | None]:
    met, error = _field(text, "met")
    if error or not isinstance(met, bool):
        return None, error or "no boolean 'met'"
    return met, None


def parse_rationale(text: str) -> str | None:
    """The verdict's rationale, trimmed; None when there is none (a rationale never stands in for a verdict)."""
    value, _ = _field(text, "rationale")
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_scores(text: str, names: list[str]) -> tuple[dict[str, int] | None, str | None]:
    """{name: 1..10} for every name asked; anything else is a parse error."""
    scores, error = _field(text, "scores")
    if error or not isinstance(scores, dict):
        return None, error or "no 'scores' object"
    out = {}
    for name in names:
        value = scores.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or not 1 <= value <= 10:
            return None, f"score '{name}' is not a whole number from 1 to 10: {value!r}"
        out[name] = int(value)
    return out, None
