"""One comparison of answers as a judge request, in the form the run asks for: a ranking (rank and pairwise
modes) or a graded pairwise verdict (Arena-Hard's five levels: a strong or slight preference, or a tie); and a
parsed verdict read back in the names of what was shown. The run's judging, the exam and the planted-instruction
trial all ask through here, so the judge is measured with the prompt whose verdicts count."""

from __future__ import annotations

from typing import Any

from ..records import JudgeRequest
from . import prompts
from .parsing import parse_graded, parse_ranking


def compare_requests(judge_ids: list[str], stage: str, conversation: list[dict[str, str]], shown: dict[str, str],
                     guidance: str, *, reference: str | None = None, rationale: bool = False,
                     graded: bool = False) -> list[JudgeRequest]:
    """One comparison put to each judge (the prompt is built once). `shown` maps label -> answer text, in the
    order to show; `graded` needs exactly two answers."""
    labels = list(shown)
    if graded:
        if len(labels) != 2:
            raise ValueError(f"a graded verdict compares two answers, not {len(labels)}")
        messages = prompts.graded_messages(conversation, shown, guidance, reference=reference, rationale=rationale)
        asked = (messages, prompts.graded_schema(rationale), prompts.GRADED_PROMPT_VERSION,
                 lambda text: parse_graded(text, labels))
    else:
        messages = prompts.rank_messages(conversation, shown, guidance, reference=reference, rationale=rationale)
        asked = (messages, prompts.rank_schema(labels, rationale), prompts.RANK_PROMPT_VERSION,
                 lambda text: parse_ranking(text, labels))
    return [JudgeRequest(judge_id, stage, *asked, rationale) for judge_id in judge_ids]


def read(value: Any, labels: list[str], order: list[str]) -> tuple[list[str] | None, str | None]:
    """(the shown names best first, strength) from a parsed verdict; (None, None) when there is none. A ranking
    has no strength; a graded verdict's is "strong", "slight" or "tie" (a tie lists the names as shown)."""
    if value is None:
        return None, None
    ranked, strength = value if isinstance(value, tuple) else (value, None)
    return [order[labels.index(label)] for label in ranked], strength
