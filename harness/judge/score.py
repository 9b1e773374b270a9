"""The score stage: each answer judged on its own (no other answer shown, so no position to prefer), 1 to 10 on
each of the rubric's axes and overall, with the case's reference when there is one: the tables practitioners
publish (an overall 1-10 score per model, and per-axis scores).

A multi-turn answer (MT-bench) is scored turn by turn, as MT-bench does: each turn's answer with the conversation
up to its question (the model's own earlier answers in it) and that turn's reference. Its scores are the mean over
the turns, with each turn's overall score beside them under `turn N`; a turn without a parsable score leaves the
answer unscored (counted, never guessed)."""

from __future__ import annotations

import numpy as np

from ..answering import turn_conversation, turn_reference, turn_text
from ..cases import Case
from ..records import Answer, Ask, JudgeRequest, JudgeScore, Verdict
from . import prompts
from .parsing import parse_scores

TURN_PREFIX = "turn "  # a multi-turn answer's per-turn overall score: "turn 1", "turn 2", ...


def score_answers(cases: list[Case], model_ids: list[str], judge_ids: list[str],
                  answers: dict[tuple[str, str], Answer], axes: list[str], *, guidance: str, ask: Ask,
                  reference: bool = True, rationale: bool = False) -> list[JudgeScore]:
    names = [*axes, "overall"]
    planned, requests = [], []
    for case in cases:
        turns = list(range(1, case.n_turns + 1)) if case.turns else [None]
        for model_id in model_ids:
            answer = answers[(case.id, model_id)]
            if not answer.ok:
                continue
            for judge_id in judge_ids:
                planned.append((case.id, model_id, judge_id, turns))
                for turn in turns:
                    messages = prompts.score_messages(
                        turn_conversation(case, answer, turn), turn_text(case, answer, turn), axes, guidance,
                        reference=turn_reference(case, turn) if reference else None, rationale=rationale)
                    requests.append(JudgeRequest(judge_id, "score", messages, prompts.score_schema(axes, rationale),
                                                 prompts.SCORE_PROMPT_VERSION,
                                                 lambda text: parse_scores(text, names), rationale))
    if not requests:
        return []
    verdicts = iter(ask(requests, "scoring"))
    out = []
    for case_id, model_id, judge_id, turns in planned:
        mine = [next(verdicts) for _ in turns]
        if turns == [None]:
            v = mine[0]
            out.append(JudgeScore(case_id, model_id, judge_id, v.value, v.error, v.attempts, v.rationale))
        else:
            out.append(JudgeScore(case_id, model_id, judge_id, *combine_turns(mine)))
    return out


def combine_turns(verdicts: list[Verdict]) -> tuple[dict[str, float] | None, str | None, int, str | None]:
    """One answer's score from its turns' verdicts: each name's mean over the turns, and `turn N` (that turn's
    overall score); None with the first turn's error when any turn has no score."""
    attempts = sum(v.attempts for v in verdicts)
    said = [f"turn {n}: {v.rationale}" for n, v in enumerate(verdicts, 1) if v.rationale]
    rationale = "\n".join(said) or None
    failed = next(((n, v) for n, v in enumerate(verdicts, 1) if v.value is None), None)
    if failed is not None:
        return None, f"turn {failed[0]}: {failed[1].error or 'no score'}", attempts, rationale
    scores: dict[str, float] = {name: float(np.mean([v.value[name] for v in verdicts])) for name in verdicts[0].value}
    scores.update({f"{TURN_PREFIX}{n}": float(v.value["overall"]) for n, v in enumerate(verdicts, 1)})
    return scores, None, attempts, rationale
