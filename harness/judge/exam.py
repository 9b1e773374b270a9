"""The judge's exam: before its verdicts count, how often does it prefer a known-better answer?

For cases with a reference, a worse twin of the reference is made by a controlled corruption (generic ones, and
the suite's own), and the judge compares the two with the prompt and mode the run uses, in both orders (in
score mode it scores each alone). The reference itself is not shown as a reference here: it is the answer under
test. A verdict that does not parse counts as not preferring the better answer, and is counted apart.
"""

from __future__ import annotations

import random
from typing import Any

from ..cases import Case
from ..files import text_hash
from ..records import Ask, ExamTrial, JudgeRequest
from . import blind, prompts
from .corruptions import GENERIC, suite_corruption
from .parsing import parse_scores
from .verdicts import compare_requests, read


def exam_pairs(cases: list[Case], pairs: int, seed: int, rules: list[Any] = ()) -> list[tuple[Case, str, str]]:
    """(case, corruption, twin) for up to `pairs` pairs: each corruption in turn, cases in a seeded order, so
    the corruptions are spread evenly; a corruption is only used where it changes the reference."""
    corruptions = {**GENERIC, **{rule.name: suite_corruption(rule) for rule in rules}}
    tags = {rule.name: rule.applies_to for rule in rules}
    references = [case.reference for case in cases if case.reference]
    by_corruption: dict[str, list[tuple[Case, str, str]]] = {}
    for name, corrupt in corruptions.items():
        found = []
        for case in cases:
            if not case.reference or (tags.get(name) and not set(tags[name]) & set(case.tags)):
                continue
            twin = corrupt(case.reference, random.Random(f"{seed}:{case.id}:{name}"), references)
            if twin is not None and twin.strip() and twin != case.reference:
                found.append((case, name, twin))
        random.Random(f"{seed}:{name}").shuffle(found)
        by_corruption[name] = found
    chosen: list[tuple[Case, str, str]] = []
    while len(chosen) < pairs and any(by_corruption.values()):
        for name in corruptions:
            if by_corruption[name] and len(chosen) < pairs:
                chosen.append(by_corruption[name].pop())
    return chosen


def run_exam(pairs: list[tuple[Case, str, str]], judge_ids: list[str], *, mode: str, guidance: str, ask: Ask,
             axes: list[str] = (), rationale: bool = False, graded: bool = False) -> list[ExamTrial]:
    """Every pair judged by every judge: compared in both orders (rank and pairwise modes; `graded`: with the
    run's five-level verdict, where a tie counts a half), or each answer scored alone (score mode)."""
    if mode == "score":
        return _scored(pairs, judge_ids, guidance=guidance, ask=ask, axes=list(axes), rationale=rationale)
    planned, requests = [], []
    labels = blind.labels(2)
    hashes = {(case.id, corruption): (text_hash(case.reference), text_hash(twin)) for case, corruption, twin in pairs}
    for case, corruption, twin in pairs:
        contenders = {"reference": case.reference, "twin": twin}
        for order in (["reference", "twin"], ["twin", "reference"]):
            shown = {label: contenders[name] for label, name in zip(labels, order)}
            planned += [(judge_id, case.id, corruption, order) for judge_id in judge_ids]
            requests += compare_requests(judge_ids, "exam", case.chat(), shown, guidance, rationale=rationale,
                                         graded=graded)
    if not requests:
        return []
    trials = []
    for (judge_id, case_id, corruption, order), verdict in zip(planned, ask(requests, "exam")):
        ranking, strength = read(verdict.value, labels, order)
        correct = None if ranking is None else 0.5 if strength == "tie" else float(ranking[0] == "reference")
        trials.append(ExamTrial(judge_id, case_id, corruption, order, correct, verdict.error, verdict.attempts,
                                verdict.rationale, hashes[(case_id, corruption)]))
    return trials


def _scored(pairs, judge_ids, *, guidance, ask, axes, rationale) -> list[ExamTrial]:
    names = [*axes, "overall"]
    planned, requests = [], []
    for case, corruption, twin in pairs:
        for name, text in (("reference", case.reference), ("twin", twin)):
            messages = prompts.score_messages(case.chat(), text, axes, guidance, rationale=rationale)
            for judge_id in judge_ids:
                planned.append((judge_id, case.id, corruption, name))
                requests.append(JudgeRequest(judge_id, "exam", messages, prompts.score_schema(axes, rationale),
                                             prompts.SCORE_PROMPT_VERSION, lambda t: parse_scores(t, names),
                                             rationale))
    if not requests:
        return []
    verdicts = dict(zip(planned, ask(requests, "exam")))
    trials = []
    for case, corruption, twin_text in pairs:
        for judge_id in judge_ids:
            ref, twin = (verdicts[(judge_id, case.id, corruption, n)] for n in ("reference", "twin"))
            failed = ref.error or twin.error
            correct = None
            if not failed:
                a, b = ref.value["overall"], twin.value["overall"]
                correct = 1.0 if a > b else 0.5 if a == b else 0.0
            trials.append(ExamTrial(judge_id, case.id, corruption, ["reference", "twin"], correct, failed,
                                    ref.attempts + twin.attempts,
                                    "; ".join(r for r in (ref.rationale, twin.rationale) if r) or None,
                                    (text_hash(case.reference), text_hash(twin_text))))
    return trials
