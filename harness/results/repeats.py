"""The figures of repeated samples (harness.sampling) in the results: each model's coverage counted in cases, and,
with more than one sample per case, how consistent its samples are (harness.stats.repeats).

- consistency: the share of (case, criterion) whose graded samples all meet the criterion or all miss it (a
  criterion left ungraded in a sample leaves that sample out of the unit; a unit needs 2 graded samples), and
  the same share per criterion.
- pass^k (check-only suites, every criterion decided by code): a sample passes when it was answered and scores
  1 (every positive criterion met, no negative one); pass^k is the chance that k samples of a case all pass,
  averaged over cases (the unbiased estimate C(c, k) / C(n, k)), for k = 1 .. samples. pass^1 is the pass rate.
- variance: the model's per-sample scores (the suite's `scoring.missing` applied) split into the variance
  within cases and between cases.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..cases import Case
from ..grading import case_score
from ..records import Answer
from ..rubric import Criterion, applicable_criteria
from ..stats.repeats import consistency, pass_hat_k, variance_split
from .frames import num


def coverage(mine: list[Answer]) -> dict[str, int]:
    """One model's cases, those whose every sample was answered, and fully graded; its failed answers."""
    by_case: dict[str, list[Answer]] = {}
    for answer in mine:
        by_case.setdefault(answer.case_id, []).append(answer)
    return {"cases": len(by_case), "answered": sum(all(a.ok for a in group) for group in by_case.values()),
            "graded": sum(all(a.fully_graded for a in group) for group in by_case.values()),
            "errors": sum(1 for a in mine if not a.ok)}


def check_only(rubric_criteria: list[Criterion], cases: list[Case]) -> bool:
    """Every criterion that applies to any case is decided by code (a check): pass^k is then well defined."""
    applying = [c for case in cases for c in applicable_criteria(rubric_criteria, case.criteria, case.tags)]
    return bool(applying) and all(c.check is not None for c in applying)


def passed(answer: Answer) -> bool | None:
    """A sample passes when answered and it scores 1; None when it could not be scored (an ungraded criterion)."""
    if not answer.ok:
        return False
    score = case_score(answer.criteria)
    return None if score is None else math.isclose(score, 1.0)


def repeat_figures(sample_scores: pd.DataFrame, answers: list[Answer], samples: int,
                   check_only_suite: bool) -> dict[str, dict[str, Any]]:
    """{model: Repeats fields}; empty with one sample per case (there is nothing to be consistent with)."""
    if samples < 2:
        return {}
    verdicts = pd.DataFrame([(a.model_id, a.case_id, a.sample, r.criterion_id, r.met) for a in answers if a.ok
                             for r in a.criteria if r.met is not None],
                            columns=["model", "case_id", "sample", "criterion", "met"])
    overall = {r["model"]: r for r in consistency(verdicts).to_dict("records")}
    by_criterion: dict[str, dict[str, Any]] = {}
    for criterion, rows in verdicts.groupby("criterion", sort=False):
        for r in consistency(rows).to_dict("records"):
            by_criterion.setdefault(r["model"], {})[criterion] = num(r["share"])
    variance = {r["model"]: r for r in variance_split(sample_scores).to_dict("records")}
    passes = None
    if check_only_suite:
        passes = pd.DataFrame([(a.model_id, a.case_id, a.sample, p) for a in answers
                               for p in (passed(a),) if p is not None],
                              columns=["model", "case_id", "sample", "passed"])
    out = {}
    for model in dict.fromkeys(a.model_id for a in answers):
        c, v = overall.get(model, {}), variance.get(model, {})
        figures: dict[str, Any] = {
            "samples": samples,
            "consistency": num(c.get("share")), "units": int(c.get("units", 0)),
            "consistent_units": int(c.get("consistent", 0)),
            "by_criterion": by_criterion.get(model, {}),
            "within_variance": num(v.get("within")), "between_variance": num(v.get("between")),
            "share_within": num(v.get("share_within")),
            "pass_hat_k": None,
            "pass_hat_k_reason": None if check_only_suite else
            "not a check-only suite: some criteria are graded by the judge",
        }
        if passes is not None:
            mine = passes[passes["model"] == model]
            figures["pass_hat_k"] = {str(k): num(pass_hat_k(mine, k)["pass_hat_k"].iloc[0]) if len(mine) else None
                                     for k in range(1, samples + 1)}
        out[model] = figures
    return out
