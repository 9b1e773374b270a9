"""The score stage: each answer judged on its own (no other answer shown, so no position to prefer), 1 to 10 on
each of the rubric's axes and overall, with the case's reference when there is one: the tables practitioners
publish (an overall 1-10 score per model, and per-axis scores)."""

from __future__ import annotations

from ..cases import Case
from ..records import Answer, Ask, JudgeRequest, JudgeScore
from . import prompts
from .parsing import parse_scores


def score_answers(cases: list[Case], model_ids: list[str], judge_ids: list[str],
                  answers: dict[tuple[str, str], Answer], axes: list[str], *, guidance: str, ask: Ask,
                  reference: bool = True, rationale: bool = False) -> list[JudgeScore]:
    names = [*axes, "overall"]
    planned, requests = [], []
    for case in cases:
        for model_id in model_ids:
            answer = answers[(case.id, model_id)]
            if not answer.ok:
                continue
            messages = prompts.score_messages(case.chat(), answer.completion.text, axes, guidance,
                                              reference=case.reference if reference else None, rationale=rationale)
            for judge_id in judge_ids:
                planned.append((case.id, model_id, judge_id))
                requests.append(JudgeRequest(judge_id, "score", messages, prompts.score_schema(axes, rationale),
                                             prompts.SCORE_PROMPT_VERSION, lambda text: parse_scores(text, names),
                                             rationale))
    if not requests:
        return []
    return [JudgeScore(case_id, model_id, judge_id, verdict.value, verdict.error, verdict.attempts, verdict.rationale)
            for (case_id, model_id, judge_id), verdict in zip(planned, ask(requests, "scoring"))]
