"""IFEval's formatting and combination instructions as bench checks (see `ifeval.py` for the conventions)."""

from __future__ import annotations

import json
import re

from pydantic import Field

from ._text import plural
from .ifeval import NoOptions, ifeval_check
from .registry import CheckOptions, CheckOutcome


class BulletsOptions(CheckOptions):
    num_bullets: int = Field(ge=0)


# A markdown bullet: "*", "-" or "+" at the start of a line (indented for nested lists), then a space.
_BULLET = re.compile(r"^[ \t]*[*+-][ \t]+\S", re.MULTILINE)


@ifeval_check("detectable_format:number_bullet_lists", BulletsOptions,
              "exactly `num_bullets` markdown bullet points (* item, - item)")
def number_bullet_lists(spec: BulletsOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    """Deviation: a bullet needs a space after its marker, so that a rule (---) or a line that opens
    with *emphasis* is not taken for one; "+" bullets count, as in markdown."""
    count = len(_BULLET.findall(response))
    return CheckOutcome(count == spec.num_bullets, f"found {plural(count, 'bullet point')} (needs exactly {spec.num_bullets})")


CONSTRAINED_ANSWERS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


@ifeval_check("detectable_format:constrained_response", NoOptions,
              "the response contains one of: My answer is yes. / My answer is no. / My answer is maybe.")
def constrained_response(spec: NoOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    found = [answer for answer in CONSTRAINED_ANSWERS if answer in response]
    return CheckOutcome(bool(found), f"contains {found[0]!r}" if found else "none of the three answers")


class HighlightsOptions(CheckOptions):
    num_highlights: int = Field(ge=0)


_BOLD = re.compile(r"\*\*([^\n*]+)\*\*")
_ITALIC = re.compile(r"(?<!\*)\*([^\n*]+)\*(?!\*)")


def highlighted_sections(text: str) -> list[str]:
    """Markdown highlights, *italic* or **bold**, on one line and with some text inside."""
    spans = [m.group(1) for m in _BOLD.finditer(text)]
    spans += [m.group(1) for m in _ITALIC.finditer(_BOLD.sub("", text))]
    return [s for s in spans if s.strip()]


@ifeval_check("detectable_format:number_highlighted_sections", HighlightsOptions,
              "at least `num_highlights` sections highlighted with markdown, *like this*")
def number_highlighted_sections(spec: HighlightsOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    count = len(highlighted_sections(response))
    return CheckOutcome(count >= spec.num_highlights,
                        f"found {plural(count, 'highlighted section')} (needs at least {spec.num_highlights})")


class SectionsOptions(CheckOptions):
    section_spliter: str = Field(min_length=1)  # IFEval's spelling of the key
    num_sections: int = Field(ge=1)


@ifeval_check("detectable_format:multiple_sections", SectionsOptions,
              "at least `num_sections` sections, each marked `section_spliter` N (such as SECTION 1)")
def multiple_sections(spec: SectionsOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    # The marker is matched as written (case matters: "SECTION" is not "Section").
    count = len(re.findall(rf"{re.escape(spec.section_spliter.strip())}\s?\d+", response))
    return CheckOutcome(count >= spec.num_sections,
                        f"found {plural(count, repr(spec.section_spliter.strip() + ' N') + ' marker')} (needs at least {spec.num_sections})")


_FENCE_OPEN = re.compile(r"^```[ \t]*(?:json)?[ \t]*\n?", re.IGNORECASE)
_FENCE_CLOSE = re.compile(r"\n?```$")


@ifeval_check("detectable_format:json_format", NoOptions, "the whole response is valid JSON (a ```json fence is allowed)")
def json_format(spec: NoOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    text = _FENCE_CLOSE.sub("", _FENCE_OPEN.sub("", response.strip())).strip()
    try:
        value = json.loads(text)
    except ValueError as exc:
        message = getattr(exc, "msg", str(exc))
        where = f" at line {exc.lineno} column {exc.colno}" if hasattr(exc, "lineno") else ""
        return CheckOutcome(False, f"not JSON: {message}{where}")
    return CheckOutcome(True, f"valid JSON ({type(value).__name__})")


@ifeval_check("detectable_format:title", NoOptions, "a title in double angular brackets, such as <<poem of joy>>")
def title(spec: NoOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    titles = [t for t in re.findall(r"<<([^\n]+?)>>", response) if t.strip("<> ").strip()]
    return CheckOutcome(bool(titles), f"title {titles[0]!r}" if titles else "no <<title>> found")


@ifeval_check("combination:two_responses", NoOptions,
              "two different responses separated by six asterisks: ******")
def two_responses(spec: NoOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    parts = response.split("******")
    if any(not part.strip() for part in parts[1:-1]):
        return CheckOutcome(False, "an empty response between two ****** separators")
    answers = [part.strip() for part in parts if part.strip()]
    if len(answers) != 2:
        return CheckOutcome(False, f"{plural(len(answers), 'response')} separated by ****** (needs exactly 2)")
    if answers[0] == answers[1]:
        return CheckOutcome(False, "the two responses are the same")
    return CheckOutcome(True, "two different responses")


class RepeatPromptOptions(CheckOptions):
    # IFEval always gives the request to repeat; in a rubric it may be left out to mean the case's prompt.
    prompt_to_repeat: str | None = Field(None, min_length=1)


@ifeval_check("combination:repeat_prompt", RepeatPromptOptions,
              "the response starts by repeating the request word for word (case-insensitive)")
def repeat_prompt(spec: RepeatPromptOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    request = spec.prompt_to_repeat if spec.prompt_to_repeat is not None else prompt
    if not request:
        return CheckOutcome(False, "no request to compare with (neither prompt_to_repeat nor a prompt)")
    wanted = request.strip().lower()
    met = response.strip().lower().startswith(wanted)
    if met:
        return CheckOutcome(True, f"starts with the request ({len(wanted)} characters)")
    given = response.strip().lower()
    same = next((i for i, (a, b) in enumerate(zip(given, wanted)) if a != b), min(len(given), len(wanted)))
    return CheckOutcome(False, f"differs from the request after {same} of {len(wanted)} characters")
