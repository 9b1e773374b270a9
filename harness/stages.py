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
    """Every model's answer call for every case and sample, the suite's system prompt first; a model's calls one
    after the other (case by case, each case's samples together), which keeps each llama.cpp context warm."""
    suite = plan.suite
    order = {mid: i for i, mid in enumerate(plan.model_ids)}
    settings = [suite.generation.for_sample(s) for s in range(plan.samples)]
    calls = []
    for case in plan.cases:
        messages = case.chat()
        if suite.system_prompt and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": suite.system_prompt}, *messages]
        for sample in range(plan.samples):
            for mid in plan.model_ids:
                calls.append(Call(adapters[mid], "answer", messages, settings[sample],
                                  extra=sample_extra(case.id, sample)))
    calls.sort(key=lambda c: order[c.adapter.model_id])
    return calls


def by_sample(calls: list[Call]) -> dict[int, Answers]:
    """The answered calls as Answers, per sample (in sample order), each by (case id, model id)."""
    out: dict[int, Answers] = {}
    for call in calls:
        sample = call.extra.get("sample", 0)
        answer = Answer(call.extra["case"], call.adapter.model_id, call.result, sample=sample)
        out.setdefault(sample, {})[(answer.case_id, answer.model_id)] = answer
    return dict(sorted(out.items()))


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
        calls = executor.run(answer_calls(plan, adapters), "answers")
        answers = by_sample(calls)
        for mine in answers.values():
            # An answer a dry run made up (it was not in the cache) is assumed to pass the flags.
            flag_answers(plan.cases, {k: a for k, a in mine.items() if a.completion.finish_reason != NOT_ASKED},
                         suite.system_prompt)
        if store is not None:
            store.save_answers(run_id, _keyed(calls, answers))
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
                                       guidance=said, ask=_per_sample(ask, sample, plan.samples), **shown):
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
                                        judging.seed, said, ask, **shown)
            if store is not None:
                store.save_trial(run_id, list(trials))
    if plan.judge_ids and suite.exam.pairs:
        with stage("exam"):
            trials = run_exam_stage(plan, ask, said)
            if store is not None:
                store.save_exam_trial(run_id, list(trials))
    return answers


def _keyed(calls: list[Call], answers: dict[int, Answers]) -> list[tuple[Answer, str]]:
    return [(answers[call.extra.get("sample", 0)][(call.extra["case"], call.adapter.model_id)], call.key)
            for call in calls]


def run_exam_stage(plan, ask: Ask, said: str) -> list:
    """The judge's exam over the suite's cases with a reference, in the run's judging mode."""
    suite, rubric = plan.suite, plan.loaded.rubric
    pairs = exam_pairs(plan.loaded.cases, suite.exam.pairs, suite.exam.seed, suite.exam.corruptions)
    return run_exam(pairs, plan.judge_ids, mode=suite.judging.comparison or "score", guidance=said, ask=ask,
                    axes=rubric.axes if rubric else [], rationale=suite.judging.rationale)
