"""The ranking stage: which answers the judge compares, in which orders (rank mode: all answers of a case;
pairwise: each pair, or each model against a baseline, in both orders), and the judgments it returns."""

from __future__ import annotations

from ..cases import Case
from ..records import Answer, Ask, Judgment
from . import blind
from .verdicts import compare_requests, read


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
                  rationale: bool = False, graded: bool = False) -> list[Judgment]:
    """Every comparison, blinded, by every judge, with the case's reference shown as a reference when `reference`
    is on; a verdict that never parses is a judgment with an error. `graded` (pairwise): five-level verdicts."""
    if not judge_ids or len(model_ids) < 2:
        return []
    planned, requests = [], []
    for case, rep, order, pair in comparisons(cases, model_ids, answers, mode, orders, seed, baseline):
        labels = blind.labels(len(order))
        shown = {label: answers[(case.id, mid)].completion.text for label, mid in zip(labels, order)}
        planned += [(case, rep, order, pair, labels, judge_id) for judge_id in judge_ids]
        requests += compare_requests(judge_ids, "judge", case.chat(), shown, guidance, rationale=rationale,
                                     reference=case.reference if reference else None, graded=graded)
    verdicts = ask(requests, "judging")
    out = []
    for (case, rep, order, pair, labels, judge_id), verdict in zip(planned, verdicts):
        ranking, strength = read(verdict.value, labels, order)
        out.append(Judgment(case.id, rep, order, ranking, verdict.error, verdict.attempts, judge_id, pair,
                            verdict.rationale, strength=strength))
    return out


def guidance(judge_guidance: str | None, rubric_description: str | None) -> str:
    """One line for the judge: what a good answer does."""
    return judge_guidance or rubric_description or "answers the request correctly, safely and clearly"
