"""The model stages of a run, in order: answers, grading, judging (rank or pairwise), scoring, planted-instruction
trials, the exam. A real run and a dry run (harness.plan_cost) go through this same code, so the dry run asks
for exactly the calls a run makes; only the executor and `ask` they are given differ, and a dry run keeps
nothing (`store` None).

With repeats (harness.sampling) every sample is graded, judged and scored: sample s of every model forms the
answers of one pass through each stage. Planted-instruction trials use sample 0 (they test the judge, not the
models); the exam does not depend on the answers.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any

from .answering import ask_later_turns, conversation_answer
from .executor import Call
from .flags import DEFAULT_POLICY
from .grading import flag_answers, grade_answers
from .judge.adversarial import run_planted_trials
from .judge.compare import guidance, judge_answers
from .judge.exam import exam_pairs, run_exam
from .judge.score import score_answers
from .records import Answer, Ask
from .sampling import sample_extra

Answers = dict[tuple[str, str], Answer]  # one sample's answers, by (case id, model id)
NOT_ASKED = "not asked (dry run)"  # the finish reason of an answer a dry run stands in for a call it did not make


def answer_calls(plan, adapters: dict[str, Any]) -> list[Call]:
    """Every model's turn-1 answer call for every case and sample, the suite's system prompt first, with the
    plan's generation settings (the suite's, with the command line's overrides); a model's calls one after the
    other (case by case, each case's samples together), which keeps each llama.cpp context warm."""
    suite = plan.suite
    order = {mid: i for i, mid in enumerate(plan.model_ids)}
    settings = [plan.generation.for_sample(s) if hasattr(plan.generation, "for_sample") else plan.generation
                for s in range(plan.samples)]
    calls = []
    for case in plan.cases:
        messages = case.chat()
        if suite.system_prompt and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": suite.system_prompt}, *messages]
        for sample in range(plan.samples):
            for mid in plan.model_ids:
                calls.append(Call(adapters[mid], "answer", messages, settings[sample],
                                  extra=sample_extra(case.id, sample), context={"case_id": case.id, "turn": 1}))
    calls.sort(key=lambda c: order[c.adapter.model_id])
    return calls


def answer_stage(plan, adapters: dict[str, Any], executor) -> tuple[dict[int, Answers], list[tuple[Answer, str]]]:
    """Every answer of the run, per sample (in sample order) and by (case id, model id), with the cache key each
    is stored under. A multi-turn case's later turns are asked live (harness.answering), each after the model's
    own answer of the same sample; its answer is the last turn's, every turn kept."""
    calls = executor.run(answer_calls(plan, adapters), "answers")
    later = ask_later_turns(plan.cases, calls, executor)
    n_turns = {case.id: case.n_turns for case in plan.cases}
    out: dict[int, Answers] = {}
    keyed = []
    for call in calls:
        sample, case_id, model_id = call.extra.get("sample", 0), call.extra["case"], call.adapter.model_id
        answer, answer_key = Answer(case_id, model_id, call.result, sample=sample), call.key
        if (case_id, model_id, sample) in later:
            answer.completion, answer.turns, answer_key = conversation_answer(
                call, later[(case_id, model_id, sample)], n_turns[case_id])
        out.setdefault(sample, {})[(case_id, model_id)] = answer
        keyed.append((answer, answer_key))
    return dict(sorted(out.items())), keyed


def _per_sample(ask: Ask, sample: int, samples: int) -> Ask:
    """`ask` whose progress bars say which sample they are for, when there are several."""
    if samples == 1:
        return ask
    return lambda requests, label: ask(requests, None if label is None else f"{label} (sample {sample + 1}/{samples})")


def run_all(plan, adapters: dict[str, Any], executor, ask: Ask, *, store=None, run_id: str = "",
            clock=None) -> dict[int, Answers]:
    """Every stage the plan asks for; each stage's rows go to `store` as it ends (none in a dry run), its time to
    `clock`."""
    suite, rubric, judging = plan.suite, plan.loaded.rubric, plan.suite.judging
    shown = {"reference": judging.reference, "rationale": judging.rationale}
    said = guidance(suite.judge_guidance, rubric.description if rubric else None)

    @contextmanager
    def stage(name: str):
        began = time.perf_counter()
        yield
        if clock is not None:
            clock.record(name, began)

    with stage("answers"):
        answers, keyed = answer_stage(plan, adapters, executor)
        for mine in answers.values():
            # An answer a dry run made up (it was not in the cache) is assumed to pass the flags.
            flag_answers(plan.cases, {k: a for k, a in mine.items() if a.completion.finish_reason != NOT_ASKED},
                         suite.system_prompt)
        if store is not None:
            store.save_answers(run_id, keyed)
    with stage("grading"):
        for sample, mine in answers.items():
            grade_answers(plan.cases, rubric, plan.model_ids, mine, plan.judge_ids, _per_sample(ask, sample, plan.samples),
                          judging.grade_criteria, {**DEFAULT_POLICY, **suite.scoring.flagged}, **shown)
        if store is not None:
            store.save_grades(run_id, [a for mine in answers.values() for a in mine.values()])
    if judging.comparison:
        with stage("judging"):
            judgments = []
            for sample, mine in answers.items():
                for j in judge_answers(plan.cases, plan.model_ids, plan.judge_ids, mine, mode=judging.comparison,
                                       orders=judging.orders, seed=judging.seed, baseline=judging.baseline,
                                       guidance=said, ask=_per_sample(ask, sample, plan.samples),
                                       graded=judging.verdict == "graded", **shown):
                    j.sample = sample
                    judgments.append(j)
            if store is not None:
                store.save_judgment(run_id, judgments)
    if plan.judge_ids and "score" in judging.modes:
        with stage("scoring"):
            scores = []
            for sample, mine in answers.items():
                for s in score_answers(plan.cases, plan.model_ids, plan.judge_ids, mine, rubric.axes if rubric else [],
                                       guidance=said, ask=_per_sample(ask, sample, plan.samples), **shown):
                    s.sample = sample
                    scores.append(s)
            if store is not None:
                store.save_score(run_id, scores)
    if plan.judge_ids and judging.adversarial:
        with stage("adversarial"):
            trials = run_planted_trials(plan.cases, plan.model_ids, plan.judge_ids, answers[0], judging.adversarial,
                                        judging.seed, said, ask, graded=judging.verdict == "graded", **shown)
            if store is not None:
                store.save_trial(run_id, list(trials))
    if plan.judge_ids and suite.exam.pairs:
        with stage("exam"):
            trials = run_exam_stage(plan, ask, said)
            if store is not None:
                store.save_exam_trial(run_id, list(trials))
    return answers


def run_exam_stage(plan, ask: Ask, said: str) -> list:
    """The judge's exam over the suite's cases with a reference, in the run's judging mode."""
    suite, rubric = plan.suite, plan.loaded.rubric
    pairs = exam_pairs(plan.loaded.cases, suite.exam.pairs, suite.exam.seed, suite.exam.corruptions)
    return run_exam(pairs, plan.judge_ids, mode=suite.judging.comparison or "score", guidance=said, ask=ask,
                    axes=rubric.axes if rubric else [], rationale=suite.judging.rationale,
                    graded=suite.judging.verdict == "graded")
