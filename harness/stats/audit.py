"""Can this judge be trusted? Biases measured on its own verdicts, and a verdict.

A judge that does not read the answers still produces rankings. The tell-tales are in how those
rankings depend on things other than content: the same case shown in another order gets another
ranking (flips), the first answer shown wins far more often than chance, the longer answer wins,
the judge fails to produce a parsable verdict. A judge over any threshold is reported untrusted,
with one plain reason per threshold crossed, and gates must not pass on its verdicts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._values import has_error


def judge_audit(judgments: pd.DataFrame, lengths: pd.DataFrame | None, *, parse_failures: int,
                total_attempts: int, judge_family: str | None, model_families: dict[str, str | None],
                adversarial: dict | None = None, max_flip_rate: float = 0.2,
                max_parse_failure_rate: float = 0.05, max_first_position_rate: float = 0.8) -> dict:
    """The `judge.audit` object of results.json (docs/results.md).

    Rates are over successful judgments (`judgments` counts them); a rate with nothing to count
    is None. position_consistency: share of cases judged successfully at least twice whose
    unblinded ranking is the same every time; flip_rate = 1 - position_consistency.
    first_position_rate: share of judgments whose top pick was the answer shown first.
    longer_answer_rate: among judgments whose top two answers differ in length, the share that put
    the longer one first. parse_failure_rate: parse_failures / total_attempts. A flip rate that
    cannot be measured (every case judged once) does not by itself make the judge untrusted; the
    first-position rate still catches a judge that always picks the first answer.
    """
    done = _successful(judgments)
    consistency = _position_consistency(done)
    flip_rate = None if consistency is None else 1.0 - consistency
    first_position_rate = _share(r[0] == o[0] for o, r in zip(done["order"].tolist(), done["ranking"].tolist()))
    longer_answer_rate = _longer_answer_rate(done, lengths)
    parse_failure_rate = parse_failures / total_attempts if total_attempts else None
    thresholds = {"max_flip_rate": max_flip_rate, "max_parse_failure_rate": max_parse_failure_rate,
                  "max_first_position_rate": max_first_position_rate}

    reasons = []
    if done.empty:
        reasons.append("no judgment succeeded")
    for label, value, limit in [("flip rate", flip_rate, max_flip_rate),
                                ("first-position rate", first_position_rate, max_first_position_rate),
                                ("parse failure rate", parse_failure_rate, max_parse_failure_rate)]:
        if value is not None and value > limit:
            reasons.append(f"{label} {_percent(value, limit)} is above {_percent(limit, value)}")

    return {
        "position_consistency": consistency,
        "flip_rate": flip_rate,
        "first_position_rate": first_position_rate,
        "longer_answer_rate": longer_answer_rate,
        "parse_failure_rate": parse_failure_rate,
        "judgments": int(len(done)),
        "self_preference": _self_preference(judge_family, model_families),
        "adversarial": adversarial,
        "thresholds": thresholds,
        "trusted": not reasons,
        "reasons": reasons,
    }


def _successful(judgments: pd.DataFrame) -> pd.DataFrame:
    """Judgments without an error and with a ranking, order and ranking as lists."""
    if judgments is None or judgments.empty:
        return pd.DataFrame(columns=["case_id", "rep", "order", "ranking"])
    keep = [not has_error(e) and r is not None and len(r) > 0
            for e, r in zip(judgments["error"].tolist(), judgments["ranking"].tolist())]
    done = judgments.loc[keep, ["case_id", "rep", "order", "ranking"]].reset_index(drop=True)
    done["order"] = pd.Series([list(o) for o in done["order"].tolist()], dtype=object)
    done["ranking"] = pd.Series([list(r) for r in done["ranking"].tolist()], dtype=object)
    return done


def _position_consistency(done: pd.DataFrame) -> float | None:
    """Share of cases with >= 2 successful reps whose rankings are all identical."""
    if done.empty:
        return None
    case, _cases = pd.factorize(done["case_id"], use_na_sentinel=False)
    ranking, _rankings = pd.factorize(pd.Series([tuple(r) for r in done["ranking"]], dtype=object))
    reps = np.bincount(case)
    # distinct rankings per case: count each (case, ranking) once
    distinct = np.bincount(np.unique(case.astype(np.int64) * (ranking.max() + 1) + ranking) // (ranking.max() + 1),
                           minlength=reps.size)
    return _share(distinct[reps >= 2] == 1)


def _longer_answer_rate(done: pd.DataFrame, lengths: pd.DataFrame | None) -> float | None:
    if lengths is None or lengths.empty or done.empty:
        return None
    n_chars = lengths.groupby(["case_id", "model"])["n_chars"].mean()
    top_two = [(case_id, ranking[0], ranking[1]) for case_id, ranking in zip(done["case_id"], done["ranking"])
               if len(ranking) >= 2]
    if not top_two:
        return None
    case_ids, first_models, second_models = zip(*top_two)
    first = n_chars.reindex(pd.MultiIndex.from_arrays([case_ids, first_models])).to_numpy(float)
    second = n_chars.reindex(pd.MultiIndex.from_arrays([case_ids, second_models])).to_numpy(float)
    comparable = ~(np.isnan(first) | np.isnan(second)) & (first != second)
    return _share(first[comparable] > second[comparable])


def _self_preference(judge_family: str | None, model_families: dict[str, str | None]) -> list[dict]:
    """Models from the judge's own family, whose answers the judge may favour."""
    if not judge_family:
        return []
    family = judge_family.strip().lower()
    return [{"model": model, "family": model_family} for model, model_family in model_families.items()
            if model_family and model_family.strip().lower() == family]


def _share(flags) -> float | None:
    flags = list(flags)
    return float(np.mean(flags)) if flags else None



def _percent(value: float, other: float) -> str:
    """Whole percent, or one decimal when whole percents would make the two figures look equal."""
    if f"{value:.0%}" != f"{other:.0%}":
        return f"{value:.0%}"
    return f"{value:.1%}"
