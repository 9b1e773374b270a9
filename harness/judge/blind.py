"""Blinding: neutral labels, seeded orders, masked self-identification, neutralized delimiters."""

from __future__ import annotations

import random
import re
import string

# Names a model might use to identify itself or its maker. Masked in every answer the judge reads.
IDENTITY_TERMS = [
    "ChatGPT", "GPT-?\\d[\\w.-]*", "GPT", "OpenAI", "Claude", "Anthropic", "Gemini", "Gemma", "Bard", "Google",
    "DeepMind", "Qwen", "Alibaba", "Llama", "LLaMA", "Meta AI", "SmolLM\\d?", "Hugging ?Face", "Mistral",
    "Mixtral", "Phi-?\\d?", "Microsoft", "DeepSeek", "Grok", "xAI", "Cohere", "Command R",
]
_IDENTITY = re.compile(r"\b(?:" + "|".join(IDENTITY_TERMS) + r")\b", re.IGNORECASE)
MASK = "[model]"


def mask_identity(text: str) -> str:
    return _IDENTITY.sub(MASK, text)


def neutralize_delimiters(text: str) -> str:
    """An answer must not be able to close its own block or open a fake one."""
    text = text.replace("[[", "[ [").replace("]]", "] ]")
    return re.sub(r"(?i)</?\s*(response|answer|conversation|criterion|system)\b", lambda m: m.group(0).replace("<", "‹"), text)


def blind_text(text: str) -> str:
    return neutralize_delimiters(mask_identity(text))


def labels(n: int) -> list[str]:
    return list(string.ascii_uppercase[:n])


def orders(models: list[str], repetitions: int, seed: int, case_id: str) -> list[list[str]]:
    """`repetitions` orders of the models for one case, seeded by (seed, case id).

    The first order is a seeded shuffle; the second is its reverse, so every answer changes position (for two
    answers: both orders); later ones are fresh shuffles, distinct from earlier ones while any remain."""
    rng = random.Random(f"{seed}:{case_id}")
    base = sorted(models)
    out: list[list[str]] = []
    for rep in range(repetitions):
        if rep == 1:
            candidate = out[0][::-1]
        else:
            candidate = base[:]
            rng.shuffle(candidate)
            for _ in range(20):
                if candidate not in out:
                    break
                rng.shuffle(candidate)
        out.append(candidate)
    return out
