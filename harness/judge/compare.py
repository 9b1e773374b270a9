"""The ranking stage: which answers the judge compares, in which orders (rank mode: all answers of a case;
pairwise: each pair, or each model against a baseline, in both orders), and the judgments it returns."""

from __future__ import annotations

from ..cases import Case
from ..records import Answer, Ask, JudgeRequest, Judgment
from . import blind, prompts
from .parsing import parse_ranking


def comparisons(cases: list[Case], model_ids: list[str], answers: dict[tuple[str, str], Answer], mode: str,
                orders: int, seed: int, baseline: str | None) -> list[tuple[Case, int, list[str], tuple | None]]:
    """(case, rep, order shown, pair) for every judgment the mode asks for; a case needs two answers."""
    out = []
    for case in cases:
        ok_models = [m for m in model_ids if answers[(case.id, m)].ok]
        if len(ok_models) < 2:
            continue
        if mode == "rank":
            for rep, order in enumerate(blind.orders(ok_models, orders, seed, case.id)):
                out.append((case, rep, order, None))
            continue
        if baseline:
            pairs = [(m, baseline) for m in ok_models if m != baseline and baseline in ok_models]
        else:
            pairs = [(a, b) for i, a in enumerate(ok_models) for b in ok_models[i + 1:]]
        rep = 0
        for pair in pairs:
            for order in blind.orders(list(pair), 2, seed, f"{case.id}|{pair[0]}|{pair[1]}"):
                out.append((case, rep, order, pair))
                rep += 1
    return out


def judge_answers(cases: list[Case], model_ids: list[str], judge_ids: list[str],
                  answers: dict[tuple[str, str], Answer], *, mode: str, orders: int, seed: int,
                  baseline: str | None, guidance: str, ask: Ask, reference: bool = True,
                  rationale: bool = False) -> list[Judgment]:
    """Every comparison, blinded, by every judge, with the case's reference shown as a reference when `reference`
    is on; a verdict that never parses is a judgment with an error."""
    if not judge_ids or len(model_ids) < 2:
        return []
    planned, requests = [], []
    for case, rep, order, pair in comparisons(cases, model_ids, answers, mode, orders, seed, baseline):
        labels = blind.labels(len(order))
        shown = {label: answers[(case.id, mid)].completion.text for label, mid in zip(labels, order)}
        messages = prompts.rank_messages(case.chat(), shown, guidance,
                                         reference=case.reference if reference else None, rationale=rationale)
        for judge_id in judge_ids:
            planned.append((case, rep, order, pair, labels, judge_id))
            requests.append(JudgeRequest(judge_id, "judge", messages, prompts.rank_schema(labels, rationale),
                                         prompts.RANK_PROMPT_VERSION,
                                         lambda text, _labels=labels: parse_ranking(text, _labels), rationale))
    verdicts = ask(requests, "judging")
    out = []
    for (case, rep, order, pair, labels, judge_id), verdict in zip(planned, verdicts):
        ranking = [order[labels.index(label)] for label in verdict.value] if verdict.value else None
        out.append(Judgment(case.id, rep, order, ranking, verdict.error, verdict.attempts, judge_id, pair,
                            verdict.rationale))
    return out


def guidance(judge_guidance: str | None, rubric_description: str | None) -> str:
    """One line for the judge: what a good answer does."""
    return judge_guidance or rubric_description or "answers the request correctly, safely and clearly"
