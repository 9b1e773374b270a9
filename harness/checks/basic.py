"""bench's own rubric checks: regex, contains, not_contains, sections, word_limit."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from .registry import CheckOptions, CheckOutcome, register


class RegexOptions(CheckOptions):
    pattern: str
    ignore_case: bool = True

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
        return pattern


@register("regex", RegexOptions, "met if the pattern matches anywhere (multi-line mode)")
def regex(spec: RegexOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    flags = (re.IGNORECASE if spec.ignore_case else 0) | re.MULTILINE
    match = re.search(spec.pattern, response, flags)
    return CheckOutcome(match is not None, f"matched '{match.group(0)[:60]}'" if match else "no match")


class ContainsOptions(CheckOptions):
    phrases: list[str] = Field(min_length=1)
    any: bool = False  # any phrase (True) or all phrases (False)
    ignore_case: bool = True


class NotContainsOptions(CheckOptions):
    phrases: list[str] = Field(min_length=1)
    ignore_case: bool = True


def _found(phrases: list[str], response: str, ignore_case: bool) -> list[str]:
    folded = response.lower() if ignore_case else response
    return [p for p in phrases if (p.lower() if ignore_case else p) in folded]


@register("contains", ContainsOptions, "met if all phrases appear (or any, with `any: true`)")
def contains(spec: ContainsOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    found = _found(spec.phrases, response, spec.ignore_case)
    met = bool(found) if spec.any else len(found) == len(spec.phrases)
    return CheckOutcome(met, f"found {len(found)} of {len(spec.phrases)}: {found}")


@register("not_contains", NotContainsOptions, "met if none of the phrases appears")
def not_contains(spec: NotContainsOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    found = _found(spec.phrases, response, spec.ignore_case)
    return CheckOutcome(not found, f"found {found}" if found else "none found")


class SectionsOptions(CheckOptions):
    sections: list[str] = Field(min_length=1)
    ignore_case: bool = True


def heading_pattern(heading: str, ignore_case: bool = True) -> re.Pattern[str]:
    # A heading at the start of a line: "Situation:", "**Situation**", "## Situation", "S - Situation:",
    # "1. Situation" (small models like to number them).
    name = re.escape(heading)
    flags = (re.IGNORECASE if ignore_case else 0) | re.MULTILINE
    return re.compile(rf"^[ \t>]*(?:#{{1,6}}[ \t]*)?(?:\d{{1,2}}[.)][ \t]*)?(?:[*_]{{1,2}})?"
                      rf"(?:[A-Z][ \t]*[-:.)][ \t]*)?{name}\b", flags)


@register("sections", SectionsOptions, "met if each heading starts a line (`Situation:`, `**Situation**`, `## Situation`)")
def sections(spec: SectionsOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    present = [h for h in spec.sections if heading_pattern(h, spec.ignore_case).search(response)]
    missing = [h for h in spec.sections if h not in present]
    detail = f"found {len(present)} of {len(spec.sections)} headings" + (f"; missing {missing}" if missing else "")
    return CheckOutcome(not missing, detail)


class WordLimitOptions(CheckOptions):
    max_words: int = Field(ge=1)


@register("word_limit", WordLimitOptions, "met if the response has at most `max_words` whitespace-separated words")
def word_limit(spec: WordLimitOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    words = len(response.split())
    return CheckOutcome(words <= spec.max_words, f"{words} words (limit {spec.max_words})")
