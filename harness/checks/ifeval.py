"""IFEval's verifiable instructions as bench checks: keywords, language, length, content, start/end, case.

Each check is registered under its IFEval instruction id and takes the IFEval kwargs as its options.
The specification is the IFEval paper (Zhou et al. 2023, "Instruction-Following Evaluation for Large
Language Models", appendix table of instructions). Where the paper leaves a detail open, the reading
that published IFEval figures were computed with is kept, so figures stay comparable; the few places
that read differently say so in their docstring. Sentences and all-capital words are counted by bench's
own rules (`_text.py`), so a count right at a threshold can differ from another implementation's. As in
the paper, a blank response follows no instruction. The formatting instructions are in `ifeval_format.py`.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Literal

from pydantic import Field, field_validator

from ._text import capital_words, count_sentences, count_words, plural, relation_met
from .registry import CheckOptions, CheckOutcome, register

Relation = Literal["less than", "at least"]

# The ids registered by `ifeval_check`: what an IFEval row's `instruction_id_list` may name.
IFEVAL_INSTRUCTION_IDS: set[str] = set()


def ifeval_check(name: str, options: type[CheckOptions], summary: str):
    """Register an IFEval instruction: like `register`, and a blank response never follows it."""

    def decorate(function):
        @functools.wraps(function)
        def checked(spec, response: str, prompt: str | None = None) -> CheckOutcome:
            if not response.strip():
                return CheckOutcome(False, "empty response")
            return function(spec, response, prompt)

        register(name, options, summary)(checked)
        IFEVAL_INSTRUCTION_IDS.add(name)
        return function

    return decorate


class NoOptions(CheckOptions):
    """For the instructions that take no kwargs."""


def _relation_text(relation: str, threshold: int) -> str:
    return f"{relation} {threshold}"


# ---------------------------------------------------------------- keywords

class KeywordsOptions(CheckOptions):
    keywords: list[str] = Field(min_length=1)


@ifeval_check("keywords:existence", KeywordsOptions, "each keyword appears (case-insensitive)")
def keywords_existence(spec: KeywordsOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    # As in published IFEval figures, a keyword counts inside a longer word ("dog" in "dogs").
    folded = response.lower()
    missing = [k for k in spec.keywords if k.lower() not in folded]
    if missing:
        return CheckOutcome(False, f"missing {len(missing)} of {len(spec.keywords)} keywords: {missing}")
    return CheckOutcome(True, f"found all {len(spec.keywords)} keywords")


class KeywordFrequencyOptions(CheckOptions):
    keyword: str = Field(min_length=1)
    frequency: int = Field(ge=0)
    relation: Relation


@ifeval_check("keywords:frequency", KeywordFrequencyOptions,
              "the keyword appears `relation` `frequency` times (case-insensitive)")
def keywords_frequency(spec: KeywordFrequencyOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    count = len(re.findall(re.escape(spec.keyword), response, re.IGNORECASE))
    met = relation_met(count, spec.relation, spec.frequency)
    return CheckOutcome(met, f"found '{spec.keyword}' {plural(count, 'time')} (needs {_relation_text(spec.relation, spec.frequency)})")


class ForbiddenWordsOptions(CheckOptions):
    forbidden_words: list[str] = Field(min_length=1)


@ifeval_check("keywords:forbidden_words", ForbiddenWordsOptions, "none of the words appears as a whole word")
def forbidden_words(spec: ForbiddenWordsOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    found = [w for w in spec.forbidden_words
             if re.search(rf"\b{re.escape(w)}\b", response, re.IGNORECASE)]
    return CheckOutcome(not found, f"found forbidden words {found}" if found else "no forbidden word found")


class LetterFrequencyOptions(CheckOptions):
    letter: str = Field(min_length=1, max_length=1)
    let_frequency: int = Field(ge=0)
    let_relation: Relation

    @field_validator("letter")
    @classmethod
    def _a_letter(cls, letter: str) -> str:
        if not letter.isalpha():
            raise ValueError(f"expected one letter, got {letter!r}")
        return letter


@ifeval_check("keywords:letter_frequency", LetterFrequencyOptions,
              "the letter appears `let_relation` `let_frequency` times (case-insensitive)")
def letter_frequency(spec: LetterFrequencyOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    count = response.lower().count(spec.letter.lower())
    met = relation_met(count, spec.let_relation, spec.let_frequency)
    return CheckOutcome(met, f"found the letter '{spec.letter}' {plural(count, 'time')} "
                             f"(needs {_relation_text(spec.let_relation, spec.let_frequency)})")


# ---------------------------------------------------------------- language

@functools.cache
def detectable_languages() -> frozenset[str]:
    """ISO 639-1 codes that langdetect knows (its profile files); read without loading the profiles."""
    profiles = resources.files("langdetect") / "profiles"
    return frozenset(entry.name for entry in profiles.iterdir() if not entry.name.startswith(("_", ".")))


class LanguageOptions(CheckOptions):
    language: str

    @field_validator("language")
    @classmethod
    def _known(cls, language: str) -> str:
        known = detectable_languages()
        if language not in known and not any(code.split("-")[0] == language for code in known):
            raise ValueError(f"unknown language code {language!r} (known: {', '.join(sorted(known))})")
        return language


def detect_language(text: str) -> tuple[str, float] | None:
    """(ISO 639-1 code, probability) by langdetect with a fixed seed; None when it finds no feature to go on."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0  # langdetect samples at random; a fixed seed makes a verdict repeatable
    try:
        best = detect_langs(text)[0]
    except LangDetectException:
        return None
    return best.lang, best.prob


def _is_language(detected: str, wanted: str) -> bool:
    return detected == wanted or detected.split("-")[0] == wanted


@ifeval_check("language:response_language", LanguageOptions, "the whole response is in the language (langdetect)")
def response_language(spec: LanguageOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    """Deviation: when langdetect finds no language (no letters at all), the reference implementation
    counts the instruction as followed; here it is not, since nothing shows it was."""
    detected = detect_language(response)
    if detected is None:
        return CheckOutcome(False, "no language detected")
    code, probability = detected
    return CheckOutcome(_is_language(code, spec.language),
                        f"detected '{code}' (p={probability:.2f}), expected '{spec.language}'")


# ---------------------------------------------------------------- length constraints

class NumberSentencesOptions(CheckOptions):
    num_sentences: int = Field(ge=0)
    relation: Relation


@ifeval_check("length_constraints:number_sentences", NumberSentencesOptions,
              "the number of sentences is `relation` `num_sentences`")
def number_sentences(spec: NumberSentencesOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    count = count_sentences(response)
    return CheckOutcome(relation_met(count, spec.relation, spec.num_sentences),
                        f"{plural(count, 'sentence')} (needs {_relation_text(spec.relation, spec.num_sentences)})")


class NumberWordsOptions(CheckOptions):
    num_words: int = Field(ge=0)
    relation: Relation


@ifeval_check("length_constraints:number_words", NumberWordsOptions, "the number of words is `relation` `num_words`")
def number_words(spec: NumberWordsOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    count = count_words(response)
    return CheckOutcome(relation_met(count, spec.relation, spec.num_words),
                        f"{plural(count, 'word')} (needs {_relation_text(spec.relation, spec.num_words)})")


def _paragraphs(parts: list[str]) -> tuple[list[str], bool]:
    """(non-empty paragraphs, whether an empty one sits between two others). Empty ends are ignored."""
    inner_gap = any(not p.strip() for p in parts[1:-1])
    return [p for p in parts if p.strip()], inner_gap


class NumberParagraphsOptions(CheckOptions):
    num_paragraphs: int = Field(ge=1)


@ifeval_check("length_constraints:number_paragraphs", NumberParagraphsOptions,
              "exactly `num_paragraphs` paragraphs, separated by the markdown divider ***")
def number_paragraphs(spec: NumberParagraphsOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    paragraphs, inner_gap = _paragraphs(re.split(r"\s?\*\*\*\s?", response))
    if inner_gap:
        return CheckOutcome(False, "an empty paragraph between two *** dividers")
    return CheckOutcome(len(paragraphs) == spec.num_paragraphs,
                        f"{plural(len(paragraphs), 'paragraph')} separated by *** (needs exactly {spec.num_paragraphs})")


class NthParagraphOptions(CheckOptions):
    num_paragraphs: int = Field(ge=1)
    nth_paragraph: int = Field(ge=1)
    first_word: str = Field(min_length=1)

    @field_validator("nth_paragraph")
    @classmethod
    def _within(cls, nth: int, info) -> int:
        total = info.data.get("num_paragraphs")
        if total is not None and nth > total:
            raise ValueError(f"nth_paragraph {nth} is beyond num_paragraphs {total}")
        return nth


def first_word(paragraph: str) -> str:
    """The paragraph's first word, lower case, without the quotes or markdown around it."""
    match = re.search(r"[^\W_]+(?:['\u2019-][^\W_]+)*", paragraph)
    return match.group(0).lower() if match else ""


@ifeval_check("length_constraints:nth_paragraph_first_word", NthParagraphOptions,
              "exactly `num_paragraphs` paragraphs separated by a blank line; the n-th starts with `first_word`")
def nth_paragraph_first_word(spec: NthParagraphOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    paragraphs, inner_gap = _paragraphs(response.split("\n\n"))
    if inner_gap:
        return CheckOutcome(False, "paragraphs separated by more than one blank line")
    if len(paragraphs) != spec.num_paragraphs:
        return CheckOutcome(False, f"{plural(len(paragraphs), 'paragraph')} (needs exactly {spec.num_paragraphs})")
    word = first_word(paragraphs[spec.nth_paragraph - 1])
    return CheckOutcome(word == spec.first_word.lower(),
                        f"paragraph {spec.nth_paragraph} starts with '{word}' (needs '{spec.first_word}')")


# ---------------------------------------------------------------- detectable content

class PlaceholdersOptions(CheckOptions):
    num_placeholders: int = Field(ge=0)


@ifeval_check("detectable_content:number_placeholders", PlaceholdersOptions,
              "at least `num_placeholders` placeholders in square brackets, such as [address]")
def number_placeholders(spec: PlaceholdersOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    count = len(re.findall(r"\[[^\]\n]+\]", response))
    return CheckOutcome(count >= spec.num_placeholders,
                        f"found {plural(count, 'placeholder')} (needs at least {spec.num_placeholders})")


class PostscriptOptions(CheckOptions):
    postscript_marker: str = Field(min_length=1)


def _marker_pattern(marker: str) -> re.Pattern[str]:
    # "P.S." also matches "p.s.", "P. S." and "P.S. " ; a space may follow each period.
    parts = [re.escape(part) for part in marker.strip().split(".")]
    return re.compile(r"\.\s?".join(parts), re.IGNORECASE)


@ifeval_check("detectable_content:postscript", PostscriptOptions,
              "a postscript starting with `postscript_marker` (such as P.S.)")
def postscript(spec: PostscriptOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    match = _marker_pattern(spec.postscript_marker).search(response)
    if match is None:
        return CheckOutcome(False, f"no postscript marked '{spec.postscript_marker}'")
    return CheckOutcome(True, f"found '{match.group(0).strip()}'")


# ---------------------------------------------------------------- start and end

class EndPhraseOptions(CheckOptions):
    end_phrase: str = Field(min_length=1)


@ifeval_check("startend:end_checker", EndPhraseOptions, "the response ends with `end_phrase` (case-insensitive)")
def end_checker(spec: EndPhraseOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    ending = response.strip().strip('"').lower()
    met = ending.endswith(spec.end_phrase.strip().lower())
    tail = response.strip()[-len(spec.end_phrase.strip()) - 10:]
    return CheckOutcome(met, f"ends with {tail!r}")


_QUOTES = (('"', '"'), ("\u201c", "\u201d"))


@ifeval_check("startend:quotation", NoOptions, "the whole response is wrapped in double quotation marks")
def quotation(spec: NoOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    """Deviation: typographic double quotes (\u201c ... \u201d) count as double quotation marks too."""
    text = response.strip()
    met = len(text) > 1 and any(text.startswith(a) and text.endswith(b) for a, b in _QUOTES)
    return CheckOutcome(met, f"starts with {text[:1]!r} and ends with {text[-1:]!r}")


# ---------------------------------------------------------------- case and punctuation

class CapitalWordsOptions(CheckOptions):
    capital_frequency: int = Field(ge=0)
    capital_relation: Relation


@ifeval_check("change_case:capital_word_frequency", CapitalWordsOptions,
              "the number of all-capital words is `capital_relation` `capital_frequency`")
def capital_word_frequency(spec: CapitalWordsOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    count = len(capital_words(response))
    return CheckOutcome(relation_met(count, spec.capital_relation, spec.capital_frequency),
                        f"{plural(count, 'all-capital word')} (needs {_relation_text(spec.capital_relation, spec.capital_frequency)})")


def _case_check(response: str, upper: bool) -> CheckOutcome:
    wrong = sum(1 for ch in response if (ch.islower() if upper else ch.isupper()))
    right = response.isupper() if upper else response.islower()
    if not right:
        what = "lower-case" if upper else "capital"
        return CheckOutcome(False, f"{plural(wrong, what + ' letter')}" if wrong else "no letters")
    detected = detect_language(response)
    if detected is None or not _is_language(detected[0], "en"):
        found = f"'{detected[0]}'" if detected else "none"
        return CheckOutcome(False, f"all {'capitals' if upper else 'lower case'}, but the language detected is {found}")
    return CheckOutcome(True, f"all {'capitals' if upper else 'lower case'}, in English")


@ifeval_check("change_case:english_capital", NoOptions, "the whole response is in English and in capital letters")
def english_capital(spec: NoOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    return _case_check(response, upper=True)


@ifeval_check("change_case:english_lowercase", NoOptions, "the whole response is in English and in lower case")
def english_lowercase(spec: NoOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    return _case_check(response, upper=False)


@ifeval_check("punctuation:no_comma", NoOptions, "no comma anywhere in the response")
def no_comma(spec: NoOptions, response: str, prompt: str | None = None) -> CheckOutcome:
    """The full-width comma (U+FF0C) counts as a comma too."""
    count = response.count(",") + response.count("\uff0c")
    return CheckOutcome(count == 0, f"found {plural(count, 'comma')}")
