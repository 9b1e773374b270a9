"""Rubric grading: deterministic checks (harness.checks), judge-graded criteria (one question per criterion and judge, panel
votes), and the score formula (HealthBench's).

A criterion is *met* when the behaviour it describes is present; for a negative criterion that is bad.
Score of one answer = sum of the points of the criteria met / sum of the positive points of the criteria
that apply. The suite score (the mean) is clipped to [0, 1] in stats.
"""

from __future__ import annotations

from .cases import Case
from .flags import answer_flags, case_language, zeroing
from .judge import prompts
from .judge.parsing import parse_met
from .records import Answer, Ask, CriterionResult, JudgeRequest
from .answering import turn_conversation, turn_prompt, turn_reference, turn_text
from .checks import IFEVAL_INSTRUCTION_IDS, run_both
from .rubric import Criterion, Rubric, applicable_criteria


def case_score(results: list[CriterionResult], axis: str | None = None) -> float | None:
    """Sum of points met over the sum of positive points (of one axis if given).

    None when no positive points apply (the case says nothing about that axis), and None when a criterion that
    applies could not be graded: scoring the case on the rest would let an ungraded penalty vanish. Criteria
    skipped by design (no judge in this run) do not apply."""
    mine = [r for r in results if (axis is None or r.axis == axis) and r.source != "skipped"]
    if any(r.met is None for r in mine):
        return None
    graded = mine
    possible = sum(r.points for r in graded if r.points > 0)
    if possible <= 0:
        return None
    achieved = sum(r.points for r in graded if r.met)
    return achieved / possible


def grade_answers(cases: list[Case], rubric: Rubric | None, model_ids: list[str],
                  answers: dict[tuple[str, str], Answer], judge_ids: list[str], ask: Ask | None,
                  judge_criteria: bool = True, flagged: dict[str, str] | None = None, *,
                  reference: bool = True, rationale: bool = False) -> None:
    """Fill each successful answer's `criteria` in rubric order: checks by code, the rest by the judges (a
    majority of the judges that gave a verdict; an even split is ungraded), or "skipped" without a judge.
    An answer whose flags score zero under `flagged` (harness.flags) meets no criterion: it is not graded on
    words it only holds by echoing its instructions or repeating itself. The judge sees the case's reference
    answer when `reference` is on, and gives its reason first when `rationale` is."""
    pending: list[tuple[Answer, Criterion, int]] = []
    requests: list[JudgeRequest] = []
    for case in cases:
        criteria = applicable_criteria(rubric.criteria if rubric else [], case.criteria, case.tags)
        for mid in model_ids:
            answer = answers[(case.id, mid)]
            if not answer.ok:
                continue
            zero = zeroing(answer.flags, flagged or {})
            for crit in criteria:
                if zero:
                    answer.criteria.append(CriterionResult(crit.id, crit.axis, crit.points, False, "flag",
                                                           f"not graded: the answer is flagged {', '.join(zero)}"))
                elif crit.check is not None:
                    text, prompt = turn_text(case, answer, crit.turn), turn_prompt(case, crit.turn)
                    outcome, loose = run_both(crit.check, text, prompt)  # loose: IFEval's second verdict
                    answer.criteria.append(CriterionResult(crit.id, crit.axis, crit.points, outcome.met, "check",
                                                           outcome.detail, met_loose=loose.met if is_ifeval(crit) else None))
                elif not judge_ids or not judge_criteria or ask is None:
                    answer.criteria.append(CriterionResult(crit.id, crit.axis, crit.points, None, "skipped",
                                                           "no judge configured"))
                else:
                    messages = prompts.grade_messages(
                        turn_conversation(case, answer, crit.turn), turn_text(case, answer, crit.turn), crit.text,
                        reference=turn_reference(case, crit.turn) if reference else None, rationale=rationale)
                    pending.append((answer, crit, len(answer.criteria)))
                    requests += [JudgeRequest(j, "grade", messages, prompts.grade_schema(rationale),
                                              prompts.GRADE_PROMPT_VERSION, parse_met, rationale) for j in judge_ids]
                    answer.criteria.append(None)  # placeholder keeps rubric order
    if not pending:
        return
    verdicts = ask(requests, "grading")
    per = len(judge_ids)
    for i, (answer, crit, slot) in enumerate(pending):
        mine = verdicts[i * per:(i + 1) * per]
        votes = [v.value for v in mine if v.error is None]
        reasons = [v.rationale for v in mine if v.error is None and v.rationale]
        said = reasons[0] if per == 1 and reasons else \
            "; ".join(f"{j}: {v.rationale}" for j, v in zip(judge_ids, mine) if v.error is None and v.rationale) or None
        if votes and sum(votes) * 2 == len(votes):
            result = CriterionResult(crit.id, crit.axis, crit.points, None, "split",
                                     f"the judges split: {sum(votes)} of {len(votes)} said met", said)
        elif votes:
            met = sum(votes) * 2 > len(votes)
            detail = f"judge said {'met' if met else 'not met'}" if per == 1 else \
                f"{sum(votes)} of {len(votes)} judges said met"
            result = CriterionResult(crit.id, crit.axis, crit.points, met, "judge", detail, said)
        else:
            result = CriterionResult(crit.id, crit.axis, crit.points, None, "error", mine[0].error)
        answer.criteria[slot] = result


def flag_answers(cases: list[Case], answers: dict[tuple[str, str], Answer], system_prompt: str | None) -> None:
    """Set each successful answer's flags (harness.flags): what code finds wrong with it."""
    by_id = {case.id: case for case in cases}
    for (case_id, _model), answer in answers.items():
        if not answer.ok:
            continue
        case = by_id[case_id]
        system = "\n".join([system_prompt or ""] + [m.content for m in case.messages if m.role in ("system", "developer")])
        user = "\n".join([m.content for m in case.messages if m.role == "user"] + case.turns)
        answer.flags = answer_flags(answer.completion.text, answer.completion.finish_reason, system_prompt=system.strip(),
                                    user_text=user, language=case_language(case.tags, case.meta))


def is_ifeval(criterion: Criterion) -> bool:
    """IFEval's instructions have a loose verdict beside the strict one (harness.checks.run_loose)."""
    return criterion.check is not None and criterion.check.type in IFEVAL_INSTRUCTION_IDS
