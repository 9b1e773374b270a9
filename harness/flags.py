"""Degenerate answers, found by code: each answer gets the flags that apply, stored with it, shown in the
report beside it and counted per model. A suite's `scoring.flagged` decides what a flagged answer scores.

- `empty`           no text (and no error: a failed answer is missing, not empty)
- `truncated`       stopped at the token limit
- `repetition`      a loop: most of the answer's word 4-grams repeat an earlier one
- `prompt_echo`     most of the answer is copied from the system prompt, or nearly all of it from the user
- `wrong_language`  not the language the case names (a `lang-xx` / `lang:xx` tag or `meta.language`)
"""

from __future__ import annotations

import re
from typing import Iterable

FLAGS = ("empty", "truncated", "repetition", "prompt_echo", "wrong_language")
# What a flagged answer scores unless the suite says otherwise: an answer that is empty, loops or only repeats
# its instructions earns nothing, whatever words of the rubric it happens to contain.
DEFAULT_POLICY = {"empty": "zero", "repetition": "zero", "prompt_echo": "zero", "truncated": "keep",
                  "wrong_language": "keep"}

N = 4
REPEATED_SHARE = 0.5  # repetition: share of 4-grams that repeat an earlier one
MIN_NGRAMS = 8  # shorter answers are never called loops or echoes
SYSTEM_ECHO_SHARE = 0.5  # share of the answer's 4-grams found in the system prompt
USER_ECHO_SHARE = 0.8  # restating what the patient said is fine; copying nearly all of it back is not
_WORD = re.compile(r"\w+", re.UNICODE)
_LANG_TAG = re.compile(r"^lang[-:]([a-z]{2,3})$", re.IGNORECASE)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def ngrams(tokens: list[str], n: int = N) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def repeated_share(text: str) -> float | None:
    """Share of the word 4-grams that repeat an earlier 4-gram; None for answers too short to tell."""
    grams = ngrams(words(text))
    if len(grams) < MIN_NGRAMS:
        return None
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for gram in grams:
        repeats += gram in seen
        seen.add(gram)
    return repeats / len(grams)


def copied_share(text: str, source: str) -> float | None:
    """Share of the answer's word 4-grams that appear in `source`; None for answers too short to tell."""
    grams = ngrams(words(text))
    if len(grams) < MIN_NGRAMS:
        return None
    available = set(ngrams(words(source)))
    return sum(gram in available for gram in grams) / len(grams)


def case_language(tags: Iterable[str], meta: dict | None) -> str | None:
    """The language a case names: meta.language, or a `lang-xx` / `lang:xx` tag."""
    if meta and isinstance(meta.get("language"), str) and meta["language"]:
        return meta["language"].lower()
    for tag in tags:
        match = _LANG_TAG.match(tag)
        if match:
            return match.group(1).lower()
    return None


def detect_language(text: str) -> str | None:
    """The language of a text (ISO 639-1), or None when it cannot be told (too little text)."""
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0  # langdetect samples; a fixed seed makes the same text give the same answer
    try:
        return detect(text)
    except LangDetectException:
        return None


def answer_flags(text: str, finish_reason: str | None, *, system_prompt: str | None, user_text: str,
                 language: str | None) -> list[str]:
    """The flags of one successful answer, in FLAGS order."""
    found = []
    if not text.strip():
        return ["empty"]
    if finish_reason == "length":
        found.append("truncated")
    share = repeated_share(text)
    if share is not None and share >= REPEATED_SHARE:
        found.append("repetition")
    system_share = copied_share(text, system_prompt) if system_prompt else None
    user_share = copied_share(text, user_text)
    if (system_share is not None and system_share >= SYSTEM_ECHO_SHARE) or \
            (user_share is not None and user_share >= USER_ECHO_SHARE):
        found.append("prompt_echo")
    if language is not None:
        detected = detect_language(_body(text))
        if detected is not None and detected.split("-")[0] != language.split("-")[0]:
            found.append("wrong_language")
    return found


def _body(text: str) -> str:
    # Headings a suite asks for in English ("Situation:") are not the answer's language: leave them out.
    return re.sub(r"^\W*(?:[A-Z][\w ]{0,30}):", "", text, flags=re.MULTILINE)


def zeroing(flags: list[str], policy: dict[str, str]) -> list[str]:
    """The flags that make the answer score 0 under the suite's policy."""
    return [flag for flag in flags if policy.get(flag, DEFAULT_POLICY[flag]) == "zero"]
