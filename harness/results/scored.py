"""The judge's 1-10 scores (score mode) and its exam, as figures of the results."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import stats
from ..judge.score import TURN_PREFIX
from ..records import ExamTrial, JudgeScore
from ..stats.intervals import wilson
from .frames import ci, num

N_BOOT = 2000
SEED = 20261123
WORST = 1  # what an unanswered case scores on the 1-10 scale under `scoring.missing: zero`


def to_unit(score: float) -> float:
    """A 1-10 score on [0, 1], where the score statistics work (a linear map: means and percentile intervals
    map back exactly)."""
    return (score - 1.0) / 9.0


def from_unit(value: float | None) -> float | None:
    return None if value is None else 1.0 + 9.0 * value


def score_frames(scores: list[JudgeScore], model_ids: list[str], case_ids: list[str], answered: dict,
                 missing: str, samples: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, set[str]]:
    """Per (model, case): the judges' mean overall score, and per axis, on the unit scale, averaged over the
    case's samples; and the cases every sample of every model was scored on. `answered` is keyed (case, model,
    sample). An unanswered sample counts as the worst score under `missing: zero`, and is left out under
    `exclude`."""
    by_key: dict[tuple[str, str, int], list[dict[str, int]]] = {}
    for s in scores:
        if s.scores is not None:
            by_key.setdefault((s.case_id, s.model_id, s.sample), []).append(s.scores)
    overall, axes = [], []
    for model in model_ids:
        for case in case_ids:
            per_sample = []
            for sample in range(samples):
                given = by_key.get((case, model, sample))
                if given:
                    per_sample.append({name: float(np.mean([g[name] for g in given])) for name in given[0].keys()})
                elif not answered[(case, model, sample)] and missing == "zero" and scores:
                    names = {name for s in scores if s.scores for name in s.scores}
                    per_sample.append({name: float(WORST) for name in names})
            if not per_sample:
                continue
            mean = per_sample[0] if len(per_sample) == 1 else \
                {name: float(np.mean([m[name] for m in per_sample])) for name in per_sample[0]}
            overall.append({"model": model, "case_id": case, "score": to_unit(mean["overall"])})
            axes += [{"model": model, "case_id": case, "group": name, "score": to_unit(value)}
                     for name, value in mean.items() if name != "overall"]
    shared = {case for case in case_ids if all((case, m, s) in by_key for m in model_ids for s in range(samples))}
    return (pd.DataFrame(overall, columns=["model", "case_id", "score"]),
            pd.DataFrame(axes, columns=["model", "case_id", "group", "score"]), shared)


def judge_score_figures(scores: list[JudgeScore], model_ids: list[str], case_ids: list[str], answered: dict,
                        missing: str, samples: int = 1, case_tags: dict[str, list[str]] | None = None
                        ) -> tuple[dict[str, dict], pd.DataFrame, pd.DataFrame]:
    """{model: JudgeScores fields} and the comparison frames (shared cases) for the paired tests. `case_tags`
    gives the overall score per tag too (MT-bench's categories are tags)."""
    overall, axes, shared = score_frames(scores, model_ids, case_ids, answered, missing, samples)
    means = stats.model_scores(overall, n_boot=N_BOOT, seed=SEED) if len(overall) else None
    grouped = stats.grouped_scores(axes, n_boot=N_BOOT, seed=SEED) if len(axes) else None
    tagged = pd.DataFrame([{**row, "group": tag} for row in overall.to_dict("records")
                           for tag in (case_tags or {}).get(row["case_id"], [])],
                          columns=["model", "case_id", "score", "group"])
    by_tag = stats.grouped_scores(tagged, n_boot=N_BOOT, seed=SEED) if len(tagged) else None

    def figure(row: dict) -> dict:
        return {"score": from_unit(num(row["score"])), "n": int(row["n"]),
                "ci": ci(from_unit(num(row["ci_low"])), from_unit(num(row["ci_high"])))}

    out = {}
    for model in model_ids:
        row = means[means["model"] == model].to_dict("records") if means is not None else []
        mine = grouped[grouped["model"] == model].to_dict("records") if grouped is not None else []
        out[model] = {
            "overall": figure(row[0]) if row else {},
            "axes": {r["group"]: figure(r) for r in mine if not r["group"].startswith(TURN_PREFIX)},
            "turns": {r["group"]: figure(r) for r in mine if r["group"].startswith(TURN_PREFIX)},
            "tags": {r["group"]: figure(r) for r in
                     (by_tag[by_tag["model"] == model].to_dict("records") if by_tag is not None else [])},
            "unscored": sum(1 for s in scores if s.model_id == model and s.scores is None),
        }
    per_axis = axes[axes["case_id"].isin(shared) & ~axes["group"].str.startswith(TURN_PREFIX)]
    return out, overall[overall["case_id"].isin(shared)], per_axis


def exam_summary(trials: list[ExamTrial], min_accuracy: float) -> dict[str, Any]:
    """Accuracy (a verdict that did not parse counts as wrong, and is counted), per corruption, with Wilson
    intervals; position consistency over the pairs judged in both orders; passed when the lower bound reaches
    `min_accuracy`."""
    n = len(trials)
    correct = [t.correct or 0.0 for t in trials]
    low, high = wilson(sum(correct), n) if n else (None, None)
    by_corruption = {}
    for name in dict.fromkeys(t.corruption for t in trials):
        mine = [t.correct or 0.0 for t in trials if t.corruption == name]
        lo, hi = wilson(sum(mine), len(mine))
        by_corruption[name] = {"accuracy": sum(mine) / len(mine), "ci": ci(lo, hi), "n": len(mine)}
    pairs: dict[tuple, list[float | None]] = {}
    for t in trials:
        pairs.setdefault((t.case_id, t.corruption), []).append(t.correct)
    both = [v for v in pairs.values() if len(v) == 2 and None not in v]
    accuracy = sum(correct) / n if n else None
    passed = low is not None and low >= min_accuracy
    if not n:
        reason = "the exam was not run"
    else:
        missed = ", ".join(f"{name} {f['accuracy']:.0%} of {f['n']}" for name, f in by_corruption.items()
                           if f["accuracy"] < min_accuracy)
        reason = (f"exam accuracy {accuracy:.2f} [{low:.2f}, {high:.2f}] over {n} judgments of {len(pairs)} "
                  f"known-answer pairs; the lower bound {'reaches' if passed else 'is below'} {min_accuracy:g}"
                  + (f" (misses most: {missed})" if missed and not passed else ""))
    return {"pairs": len(pairs), "judgments": n, "unparsed": sum(1 for t in trials if t.correct is None),
            "accuracy": accuracy, "ci": ci(low, high), "by_corruption": by_corruption,
            "position_consistency": (sum(1 for v in both if v[0] == v[1]) / len(both)) if both else None,
            "min_accuracy": min_accuracy, "passed": passed, "reason": reason}
