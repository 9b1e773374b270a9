"""The judge against human labels: for every labelled pair of answers the judge also compared (in the run's
judgments, or in its exam), and every labelled criterion it graded, how often it agrees, and Cohen's kappa,
each with an interval. Answers are named in labels by model id or by the sha256 of their text
("sha256:<hex>"), which keeps a label attached to the very answer a person read."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import stats
from ..files import text_hash
from ..records import Answer, ExamTrial, Judgment
from ..stats._resample import percentile_interval, resample_indices
from ..stats.intervals import wilson
from .frames import ci, complete_units, num


def label_agreement(labels: list[dict], judge_id: str, answers: list[Answer], judgments: list[Judgment],
                    exam: list[ExamTrial], seed: int = 0) -> list[dict]:
    """[{kind: pairwise|criterion, n, accuracy, ci, kappa, kappa_ci}] for one judge (kinds with labels only)."""
    model_of = {(a.case_id, text_hash(a.completion.text)): a.model_id for a in answers if a.ok}
    by_key = {(a.case_id, a.model_id): a for a in answers}

    def model(case_id: str, name: str) -> str | None:
        return model_of.get((case_id, name)) if name.startswith("sha256:") else \
            (name if (case_id, name) in by_key else None)

    outcomes = _judge_outcomes([j for j in judgments if j.judge_id == judge_id])
    exam_outcomes = _exam_outcomes([t for t in exam if t.judge_id == judge_id])
    pairs, criteria = [], []
    for label in labels:
        if "preferred" in label:
            a, b = model(label["case_id"], label["a"]), model(label["case_id"], label["b"])
            share = outcomes.get((label["case_id"], a, b)) if a and b else \
                exam_outcomes.get((label["case_id"], label["a"], label["b"]))
            if share is not None:
                judged = "a" if share > 0.5 else "b" if share < 0.5 else "tie"
                pairs.append((label["preferred"], judged))
        else:
            found = model(label["case_id"], label["model"])
            answer = by_key.get((label["case_id"], found)) if found else None
            verdict = next((r.met for r in (answer.criteria if answer else [])
                            if r.criterion_id == label["criterion"] and r.source == "judge"), None)
            if verdict is not None:
                criteria.append((bool(label["met"]), bool(verdict)))
    out = []
    for kind, rows in (("pairwise", pairs), ("criterion", criteria)):
        if rows:
            out.append(_figures(kind, rows, seed))
    return out


def _figures(kind: str, rows: list[tuple], seed: int) -> dict[str, Any]:
    human = [h for h, _ in rows]
    judged = [j for _, j in rows]
    agree = sum(h == j for h, j in rows)
    low, high = wilson(agree, len(rows))
    kappa = num(stats.cohens_kappa(human, judged))
    kappa_ci = None
    if len(rows) >= 2:
        boot = [stats.cohens_kappa([human[i] for i in idx], [judged[i] for i in idx])
                for idx in resample_indices(len(rows), 1000, seed)]
        boot = np.array([b for b in boot if b is not None and np.isfinite(b)], dtype=float)
        if boot.size:
            kappa_ci = ci(*percentile_interval(boot))
    return {"kind": kind, "n": len(rows), "accuracy": agree / len(rows), "ci": ci(low, high), "kappa": kappa,
            "kappa_ci": kappa_ci}


def _judge_outcomes(judgments: list[Judgment]) -> dict[tuple, float]:
    """(case, a, b) -> how often the judge put a above b, over the orders of complete units."""
    wins: dict[tuple, list[float]] = {}
    for j in complete_units(judgments)[0]:
        position = j.ranks()
        for a in j.ranking:
            for b in j.ranking:
                if a != b:
                    wins.setdefault((j.case_id, a, b), []).append(1.0 if position[a] < position[b] else
                                                              0.5 if position[a] == position[b] else 0.0)
    return {key: float(np.mean(values)) for key, values in wins.items()}


def _exam_outcomes(trials: list[ExamTrial]) -> dict[tuple, float]:
    """(case, reference hash, twin hash) -> share of the exam's verdicts preferring the reference, both ways."""
    found: dict[tuple, list[float]] = {}
    for t in trials:
        if t.correct is None or not t.texts:
            continue
        reference, twin = t.texts
        found.setdefault((t.case_id, reference, twin), []).append(t.correct)
    out = {}
    for (case_id, reference, twin), values in found.items():
        out[(case_id, reference, twin)] = float(np.mean(values))
        out[(case_id, twin, reference)] = 1.0 - float(np.mean(values))
    return out
