"""Rubric grading: deterministic checks, and the score formula (HealthBench's).

A criterion is *met* when the behaviour it describes is present; for a negative criterion that is bad.
Score of one answer = sum of the points of the criteria met / sum of the positive points of the criteria
that apply. The suite score (the mean) is clipped to [0, 1] in stats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .config import Check, Criterion


@dataclass(frozen=True)
class CriterionResult:
    criterion_id: str
    axis: str
    points: float
    met: bool | None  # None: could not be graded (judge error, no judge); left out of the score
    source: str  # "check" | "judge" | "error" | "skipped"
    detail: str = ""


def _heading_pattern(heading: str) -> re.Pattern[str]:
    # A heading at the start of a line: "Situation:", "**Situation**", "## Situation", "S - Situation:",
    # "1. Situation" (small models like to number them).
    name = re.escape(heading)
    return re.compile(rf"^[ \t>]*(?:#{{1,6}}[ \t]*)?(?:\d{{1,2}}[.)][ \t]*)?(?:[*_]{{1,2}})?"
                      rf"(?:[A-Z][ \t]*[-:.)][ \t]*)?{name}\b", re.IGNORECASE | re.MULTILINE)


def run_check(check: Check, text: str) -> tuple[bool, str]:
    """Return (met, detail) for one deterministic check."""
    flags = re.IGNORECASE if check.ignore_case else 0
    folded = text.lower() if check.ignore_case else text
    if check.type == "regex":
        match = re.search(check.pattern, text, flags | re.MULTILINE)
        return (match is not None, f"matched '{match.group(0)[:60]}'" if match else "no match")
    if check.type in ("contains", "not_contains"):
        phrases = check.phrases or []
        found = [p for p in phrases if (p.lower() if check.ignore_case else p) in folded]
        if check.type == "not_contains":
            return (not found, f"found {found}" if found else "none found")
        met = bool(found) if check.any else len(found) == len(phrases)
        return (met, f"found {len(found)} of {len(phrases)}: {found}")
    if check.type == "sections":
        headings = check.sections or []
        present = [h for h in headings if _heading_pattern(h).search(text)]
        missing = [h for h in headings if h not in present]
        detail = f"found {len(present)} of {len(headings)} headings" + (f"; missing {missing}" if missing else "")
        return (not missing, detail)
    if check.type == "word_limit":
        words = len(text.split())
        return (words <= check.max_words, f"{words} words (limit {check.max_words})")
    raise ValueError(f"unknown check type {check.type}")  # config validation makes this unreachable


def applicable_criteria(rubric_criteria: list[Criterion], case_criteria: list[Criterion],
                        tags: list[str]) -> list[Criterion]:
    return [c for c in [*rubric_criteria, *case_criteria] if c.applies(tags)]


def case_score(results: list[CriterionResult], axis: str | None = None) -> float | None:
    """Sum of points met over the sum of positive points, over graded criteria (of one axis if given).

    None when no positive points apply (the case says nothing about that axis)."""
    graded = [r for r in results if r.met is not None and (axis is None or r.axis == axis)]
    possible = sum(r.points for r in graded if r.points > 0)
    if possible <= 0:
        return None
    achieved = sum(r.points for r in graded if r.met)
    return achieved / possible
