"""Counting words, sentences and capital words the way the IFEval checks need it."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")

# A sentence ends at ., ! or ? (or an ellipsis), possibly followed by closing quotes or brackets, and then
# whitespace or the end of the text; or at a full stop of a script written without spaces (CJK, Devanagari).
_SENTENCE_END = re.compile(r"(?:[.!?]+|\u2026)[\"'\u201d\u2019)\]]*(?=\s|$)"
                           r"|[\u3002\uff01\uff1f\u0964]+[\"'\u201d\u2019)\]\u300d]*")
_TOKEN_BEFORE = re.compile(r"(\S+)$")
_LIST_NUMBER = re.compile(r"(?:^|\n)[ \t]*\(?\d{1,3}$")

# Words that end with a period without ending a sentence. Lower case, without the final period.
_ABBREVIATIONS = frozenset("""
mr mrs ms dr prof sr jr st mt vs etc e.g i.e eg ie cf al inc ltd co corp no nos fig figs approx dept est
jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun u.s u.k a.m p.m ph.d b.a m.a
vol ed eds p pp ca gen col lt sgt capt rev hon
""".split())


def count_words(text: str) -> int:
    """Runs of letters, digits and underscores: "don't" is two words, "3.5" is two."""
    return len(_WORD.findall(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, each with at least one letter or digit.

    A sentence ends at terminal punctuation followed by whitespace, except after a known
    abbreviation ("Dr.", "e.g."), a single-letter initial ("J."), or a list number at the start of a
    line ("1."). Line breaks alone do not end a sentence.
    """
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        head = text[start:match.start()]
        if match.group(0).startswith(".") and match.group(0).count(".") == 1 and not _ends_sentence(head):
            continue
        sentences.append(text[start:match.end()])
        start = match.end()
    sentences.append(text[start:])
    return [s.strip() for s in sentences if _WORD.search(s)]


def _ends_sentence(head: str) -> bool:
    """Whether a single period after `head` ends a sentence."""
    token = _TOKEN_BEFORE.search(head)
    if token is None:
        return True
    word = token.group(1).lstrip("(\"'\u201c\u2018*_").lower()
    if word in _ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha():
        return False  # an initial, as in "J. R. R. Tolkien"
    if _LIST_NUMBER.search(head):
        return False  # "1." at the start of a line numbers a list item
    return True


def count_sentences(text: str) -> int:
    return len(split_sentences(text))


def capital_words(text: str) -> list[str]:
    """Whitespace-separated words (punctuation around them removed) with a letter and no lower-case letter."""
    words = (w.strip(".,;:!?\"'()[]{}*_\u201c\u201d\u2018\u2019") for w in text.split())
    return [w for w in words if w.isupper()]


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """ "1 comma", "3 commas" """
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def relation_met(count: int, relation: str, threshold: int) -> bool:
    """IFEval's two relations: "less than" (count < threshold) and "at least" (count >= threshold)."""
    if relation == "less than":
        return count < threshold
    if relation == "at least":
        return count >= threshold
    raise ValueError(f"unknown relation {relation!r}")  # the options models make this unreachable
