"""Blinding: neutral labels, seeded orders that move every answer through every position, masked
self-identification, and answer delimiters an answer cannot forge."""

from __future__ import annotations

import hashlib
import random
import re
import string

# Model families, masked with any version, size or variant after them ("Qwen2.5", "Claude 3.5 Sonnet",
# "Llama-3-8B-Instruct", "GPT-4o mini"). Families that are also ordinary words need a version to be masked.
FAMILIES = ["ChatGPT", "GPT", "Claude", "Gemini", "Gemma", "Bard", "Qwen", "QwQ", "Llama", "LLaMA", "SmolLM",
            "Mistral", "Mixtral", "DeepSeek", "Grok", "Command R\\+?"]
VERSIONED_ONLY = ["Phi", "Yi", "Falcon", "Olmo", "Granite"]  # "Phi-3", "Yi-34B": masked only with a version
_SUFFIX = (r"(?:[-\s]?(?:v?\d+(?:\.\d+)*[a-z]?(?:-?\d+[bmk])?|\d+x\d+b|[bmk]\d*|"
           r"mini|nano|pro|flash|lite|ultra|turbo|sonnet|opus|haiku|instruct|chat|coder|vision|vl|it|large|"
           r"small|medium|max|plus|preview|exp|thinking)\b)*")
_VERSION = r"(?:[-\s]?v?\d+(?:\.\d+)*[a-z]?\b)"
# Makers whose names are unambiguous, and makers masked only where they name the maker of a model.
VENDORS = ["OpenAI", "Anthropic", "DeepMind", "Hugging ?Face", "Alibaba(?: Cloud)?", "Mistral AI", "xAI", "Cohere",
           "Meta AI", "Google AI", "Google DeepMind", "Microsoft Research", "Amazon Bedrock"]
CONTEXT_VENDORS = ["Google", "Meta", "Microsoft", "Amazon", "Apple", "Nvidia", "NVIDIA", "IBM", "Alibaba"]
_IDENTITY = re.compile(
    r"\b(?:" + "|".join(VENDORS) + r")\b"
    r"|\b(?:" + "|".join(FAMILIES) + r")" + _SUFFIX + r"(?!\w)"
    r"|\b(?:" + "|".join(VERSIONED_ONLY) + r")" + _VERSION + _SUFFIX + r"(?!\w)"
    r"|\bo[1-9](?:-(?:mini|pro|preview))?\b"  # OpenAI's o-series ("o" alone is a word in many languages)
    r"|(?:(?<=\bby )|(?<=\bfrom )|(?<=\bat ))(?:" + "|".join(CONTEXT_VENDORS) + r")\b"
    r"|\b(?:" + "|".join(CONTEXT_VENDORS) + r")(?='s (?:AI|model|language model|assistant|chatbot)\b)",
    re.IGNORECASE)
MASK = "[model]"


def mask_identity(text: str) -> str:
    return _IDENTITY.sub(MASK, text)


def neutralize_delimiters(text: str) -> str:
    """An answer must not be able to close its own block or open a fake one: runs of brackets and angle
    brackets are broken up (however many there are), and tag-like delimiters lose their opening bracket."""
    for pair in ("[[", "]]", "<<", ">>"):
        while pair in text:
            text = text.replace(pair, f"{pair[0]} {pair[1]}")
    return re.sub(r"(?i)</?\s*(response|answer|conversation|criterion|system|reference)\b",
                  lambda m: m.group(0).replace("<", "‹"), text)


def blind_text(text: str) -> str:
    return neutralize_delimiters(mask_identity(text))


def nonce(*parts: str) -> str:
    """A tag for one prompt's delimiters, derived from everything it shows: an answer cannot contain the tag
    of the prompt it is shown in, and the same prompt gets the same tag (so verdicts stay cached)."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    return digest[:8]


def labels(n: int) -> list[str]:
    return list(string.ascii_uppercase[:n])


def orders(models: list[str], repetitions: int, seed: int, case_id: str) -> list[list[str]]:
    """The orders the answers of one case are shown in, seeded by (seed, case id): the rotations of a seeded
    shuffle (a Latin square), so across the first k orders every one of k answers is shown in every position.
    At least k orders are given, more when `repetitions` asks (rotations of further shuffles)."""
    rng = random.Random(f"{seed}:{case_id}")
    base = sorted(models)
    k = len(base)
    out: list[list[str]] = []
    while len(out) < max(repetitions, k):
        shuffled = base[:]
        rng.shuffle(shuffled)
        for _ in range(20):  # a later square starts from a shuffle not used yet, while any remain
            if shuffled not in out:
                break
            rng.shuffle(shuffled)
        for shift in range(k):
            if len(out) == max(repetitions, k):
                break
            out.append(shuffled[shift:] + shuffled[:shift])
    return out
