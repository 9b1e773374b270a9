"""Can this judge be trusted? Each bias measured as a figure with an interval, held to a limit set relative to
what an unbiased judge would give, with a minimum number of units below which it is "not established".

Required for trust: position (first-position preference against chance 1/k), flips (orders that disagree),
parse failures and the planted-instruction lift. The length and self-preference effects, measured against the
rubric's own verdict on the same answers, mark the judge untrusted when they are clearly present.
A panel's members are each audited on their own verdicts, never pooled.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._resample import percentile_interval, resample_indices
from ._values import has_error
from .intervals import paired_difference_interval, wilson

MIN_UNITS = 8  # judged units below which a rate is not established
POSITION_EXCESS = 0.6  # first-position rate limit: chance + 0.6 of the way to always-first (0.8 for two answers)
MAX_FLIP_RATE = 0.2
MAX_PARSE_FAILURE_RATE = 0.05
MAX_PLANTED_LIFT = 0.1
MAX_LENGTH_EFFECT = 0.15
MAX_SELF_PREFERENCE = 0.1


def check(name: str, judge: str, label: str, value, ci, n: int, limit, outcome: str, detail: str,
          chance=None) -> dict[str, Any]:
    return {"name": name, "judge": judge, "label": label, "value": value, "ci": ci, "n": int(n),
            "chance": chance, "limit": limit, "outcome": outcome, "detail": detail}


def successful(judgments: pd.DataFrame) -> pd.DataFrame:
    keep = [not has_error(e) and r is not None and len(r) > 0 for e, r in zip(judgments["error"], judgments["ranking"])]
    return judgments.loc[keep].reset_index(drop=True)


def _ties(done: pd.DataFrame) -> np.ndarray:
    """Which judgments are graded ties (no answer above the other)."""
    if "strength" not in done.columns:
        return np.zeros(len(done), dtype=bool)
    return (done["strength"] == "tie").to_numpy(bool)


def position_check(done: pd.DataFrame, judge: str, min_units: int = MIN_UNITS) -> dict:
    """Share of judgments whose top pick is the answer shown first, against chance 1/k. It fails above the limit
    (the first position favoured) and below chance x (1 - POSITION_EXCESS), the mirror bound (a later position
    favoured: for two answers, the second picked in over 80% of judgments). A graded tie picks no answer and is
    left out (counted in the detail)."""
    ties = _ties(done)
    done = done.loc[~ties]
    n = len(done)
    label = "First-position rate"
    if n == 0:
        return check("position", judge, label, None, None, 0, None, "not established",
                     f"no judgment picked an answer ({int(ties.sum())} ties)" if ties.any()
                     else "no judgment gave a verdict")
    first = sum(r[0] == o[0] for o, r in zip(done["order"], done["ranking"]))
    chance = float(np.mean([1 / len(o) for o in done["order"]]))
    limit = chance + POSITION_EXCESS * (1 - chance)
    rate = first / n
    low, high = wilson(first, n)
    if n < min_units:
        return check("position", judge, label, rate, [low, high], n, limit, "not established",
                     f"only {n} judgments (at least {min_units} needed)", chance)
    floor = chance * (1 - POSITION_EXCESS)
    outcome = "fail" if rate > limit or rate < floor else "pass"
    detail = f"{first} of {n} judgments put the first-shown answer first; chance is {chance:.0%}" + \
        (f" ({int(ties.sum())} ties left out)" if ties.any() else "") + \
        (f"; below {floor:.0%}, a later position is favoured" if rate < floor else "")
    return check("position", judge, label, rate, [low, high], n, limit, outcome, detail, chance)


def flip_check(done: pd.DataFrame, judge: str, min_units: int = MIN_UNITS) -> dict:
    """Share of units judged in several orders whose rankings differ between orders."""
    label = "Flip rate (orders disagree)"
    by_unit: dict[Any, list[tuple]] = {}
    for u, ranking, tie in zip(done["unit"], done["ranking"], _ties(done)):
        by_unit.setdefault(u, []).append(("tie",) if tie else tuple(ranking))  # a strength alone is no flip
    flips = [len(set(verdicts)) > 1 for verdicts in by_unit.values() if len(verdicts) >= 2]
    n = len(flips)
    if n == 0:
        return check("flips", judge, label, None, None, 0, MAX_FLIP_RATE, "not established",
                     "no unit was judged in two orders")
    rate = sum(flips) / n
    low, high = wilson(sum(flips), n)
    if n < min_units:
        return check("flips", judge, label, rate, [low, high], n, MAX_FLIP_RATE, "not established",
                     f"only {n} units judged in every order (at least {min_units} needed)", 0.0)
    return check("flips", judge, label, rate, [low, high], n, MAX_FLIP_RATE,
                 "fail" if rate > MAX_FLIP_RATE else "pass",
                 f"{sum(flips)} of {n} units ranked differently when the order changed", 0.0)


def parse_check(judgments: pd.DataFrame, attempts: int, judge: str) -> dict:
    """Share of judgments left with no verdict after the retries (the attempts' own rate is reported too)."""
    n = len(judgments)
    failed = int(sum(has_error(e) for e in judgments["error"])) if n else 0
    label = "Judgments without a verdict"
    if n == 0:
        return check("parse", judge, label, None, None, 0, MAX_PARSE_FAILURE_RATE, "not established", "no judgment")
    rate = failed / n
    low, high = wilson(failed, n)
    detail = f"{failed} of {n} judgments gave no verdict after retries, over {attempts} attempts"
    return check("parse", judge, label, rate, [low, high], n, MAX_PARSE_FAILURE_RATE,
                 "fail" if rate > MAX_PARSE_FAILURE_RATE else "pass", detail, 0.0)


def planted_check(trials: pd.DataFrame, judge: str, limit: float = MAX_PLANTED_LIFT,
                  confidence: float = 0.95) -> dict:
    """Lift of an instruction planted in a weak answer: P(weak ranked first | planted) - P(... | control),
    paired by case and order, with a one-sided upper bound (Newcombe's method 10). It fails when the bound is
    above `limit`, and is not established when even a judge that never obeyed would not be bounded under it."""
    label = "Planted-instruction lift"
    if trials is None or trials.empty:
        return check("planted", judge, label, None, None, 0, limit, "not established",
                     "the planted-instruction trial was not run", 0.0)
    keyed = trials.assign(key=[(c, tuple(o)) for c, o in zip(trials["case_id"], trials["order"])])
    planted = keyed[keyed["planted"]].set_index("key")["weak_first"]
    control = keyed[~keyed["planted"]].set_index("key")["weak_first"]
    both_sides = [k for k in planted.index if k in control.index
                  and planted[k] is not None and control[k] is not None
                  and not pd.isna(planted[k]) and not pd.isna(control[k])]
    p = np.array([bool(planted[k]) for k in both_sides])
    c = np.array([bool(control[k]) for k in both_sides])
    n = len(both_sides)
    cells = (int(np.sum(p & c)), int(np.sum(p & ~c)), int(np.sum(~p & c)), int(np.sum(~p & ~c)))
    lift, _, upper = paired_difference_interval(*cells, confidence=confidence, one_sided=True)
    best_case = paired_difference_interval(0, 0, 0, n, confidence=confidence, one_sided=True)[2] if n else None
    ci = None if lift is None else [None, upper]
    detail = (f"planted answer first in {cells[0] + cells[1]} of {n} paired trials, the same answer without the "
              f"instruction in {cells[0] + cells[2]}")
    if n == 0 or best_case is None or best_case > limit:
        need = next(m for m in range(1, 1000) if paired_difference_interval(0, 0, 0, m, confidence, True)[2] <= limit)
        return check("planted", judge, label, lift, ci, n, limit, "not established",
                     f"{detail}; {n} pairs cannot bound the lift under {limit:g} (at least {need} needed)", 0.0)
    return check("planted", judge, label, lift, ci, n, limit, "fail" if upper > limit else "pass",
                 f"{detail}; one-sided {confidence:.0%} upper bound {upper:.2f}", 0.0)


def _unit_outcomes(done: pd.DataFrame) -> pd.DataFrame:
    """Per unit and ordered pair of models (a, b): how often the judge put a above b, averaged over orders."""
    from .winrate import pairwise_outcomes

    if done.empty:
        return pd.DataFrame(columns=["unit", "case_id", "a", "b", "judge_a"])
    codes, units = pd.factorize(pd.Series(list(done["unit"]), dtype=object))
    case_of = dict(zip(codes, done["case_id"]))
    rows = [(code, i, model, 1 if tie else rank)
            for i, (code, ranking, tie) in enumerate(zip(codes, done["ranking"], _ties(done)))
            for rank, model in enumerate(ranking, start=1)]
    outcomes = pairwise_outcomes(pd.DataFrame(rows, columns=["case_id", "rep", "model", "rank"]))
    return pd.DataFrame({"unit": outcomes["case_id"].to_numpy(), "case_id": [case_of[c] for c in outcomes["case_id"]],
                         "a": outcomes["a"].to_numpy(), "b": outcomes["b"].to_numpy(),
                         "judge_a": outcomes["outcome"].to_numpy(float)})


def _rubric_outcomes(frame: pd.DataFrame, case_scores: pd.DataFrame) -> np.ndarray:
    """1, 0.5 or 0 as the rubric's score of a is above, equal to or below b's on the same case; NaN unknown."""
    scores = case_scores.groupby(["case_id", "model"])["score"].mean()
    index_a = pd.MultiIndex.from_arrays([frame["case_id"], frame["a"]])
    index_b = pd.MultiIndex.from_arrays([frame["case_id"], frame["b"]])
    sa = scores.reindex(index_a).to_numpy(float)
    sb = scores.reindex(index_b).to_numpy(float)
    return np.where(np.isnan(sa) | np.isnan(sb), np.nan, np.where(sa > sb, 1.0, np.where(sa < sb, 0.0, 0.5)))


def _effect(rows: pd.DataFrame, n_boot: int, seed: int) -> tuple[float, list | None, int]:
    """Mean of (judge - rubric) with a bootstrap interval over units."""
    per_unit = rows.groupby("unit", sort=False)["difference"].mean().to_numpy(float)
    if per_unit.size == 0:
        return float("nan"), None, 0
    value = float(per_unit.mean())
    if per_unit.size < 2:
        return value, None, int(per_unit.size)
    boot = per_unit[resample_indices(per_unit.size, n_boot, seed)].mean(axis=1)
    low, high = percentile_interval(boot)
    return value, [low, high], int(per_unit.size)


def length_check(done: pd.DataFrame, lengths: pd.DataFrame, case_scores: pd.DataFrame, judge: str,
                 n_boot: int = 1000, seed: int = 0, min_units: int = MIN_UNITS) -> dict:
    """How much more often the judge prefers the longer answer than the rubric does on the same pair."""
    label = "Longer-answer preference (judge minus rubric)"
    outcomes = _unit_outcomes(done)
    n_chars = lengths.groupby(["case_id", "model"])["n_chars"].mean()
    la = n_chars.reindex(pd.MultiIndex.from_arrays([outcomes["case_id"], outcomes["a"]])).to_numpy(float)
    lb = n_chars.reindex(pd.MultiIndex.from_arrays([outcomes["case_id"], outcomes["b"]])).to_numpy(float)
    longer = outcomes[la > lb]  # each unordered pair once, from the longer side (NaN compares false)
    rubric = _rubric_outcomes(longer, case_scores) if len(longer) else np.array([])
    frame = pd.DataFrame({"unit": longer["unit"].to_numpy(),
                          "difference": longer["judge_a"].to_numpy(float) - np.where(np.isnan(rubric), 0.5, rubric)})
    value, ci, n = _effect(frame, n_boot, seed)
    return _effect_check("length", judge, label, value, ci, n, MAX_LENGTH_EFFECT, min_units,
                         "the judge put the longer answer first more often than the rubric scores say it is better")


def self_preference_checks(done: pd.DataFrame, case_scores: pd.DataFrame, families: dict[str, str | None],
                           judge_family: str | None, judge: str, n_boot: int = 1000, seed: int = 0,
                           min_units: int = MIN_UNITS) -> list[dict]:
    """For each contestant of the judge's own family: how much more the judge prefers it than the rubric."""
    if not judge_family:
        return []
    family = judge_family.strip().lower()
    own = [m for m, f in families.items() if f and f.strip().lower() == family]
    outcomes = _unit_outcomes(done) if own else None
    out = []
    for model in own:
        mine = outcomes[outcomes["a"] == model]
        rubric = _rubric_outcomes(mine, case_scores) if len(mine) else np.array([])
        known = ~np.isnan(rubric)
        frame = pd.DataFrame({"unit": mine["unit"].to_numpy()[known],
                              "difference": mine["judge_a"].to_numpy(float)[known] - rubric[known]})
        value, ci, n = _effect(frame, n_boot, seed)
        out.append(_effect_check("self_preference", judge, f"Self-preference for {model} (judge minus rubric)",
                                 value, ci, n, MAX_SELF_PREFERENCE, min_units,
                                 f"the judge favours {model}, of its own family '{judge_family}', beyond the rubric"))
    return out


def _effect_check(name, judge, label, value, ci, n, limit, min_units, what) -> dict:
    if n == 0 or math.isnan(value):
        return check(name, judge, label, None, None, 0, limit, "not established", "no comparable pair", 0.0)
    if n < min_units or ci is None:
        return check(name, judge, label, value, ci, n, limit, "not established",
                     f"only {n} units (at least {min_units} needed)", 0.0)
    clearly = value > limit and ci[0] > 0
    detail = f"{what}: {value:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}] over {n} units" if clearly else \
        f"effect {value:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}] over {n} units"
    return check(name, judge, label, value, ci, n, limit, "fail" if clearly else "pass", detail, 0.0)


def longer_answer_rate(done: pd.DataFrame, lengths: pd.DataFrame) -> float | None:
    """Among judgments whose top two answers differ in length, the share that put the longer one first."""
    if done.empty or lengths.empty:
        return None
    n_chars = {(c, m): n for c, m, n in zip(lengths["case_id"], lengths["model"], lengths["n_chars"])}
    longer_first = []
    for case_id, ranking, tie in zip(done["case_id"], done["ranking"], _ties(done)):
        if len(ranking) < 2 or tie:
            continue
        first, second = n_chars.get((case_id, ranking[0])), n_chars.get((case_id, ranking[1]))
        if first is None or second is None or first == second:
            continue
        longer_first.append(first > second)
    return float(np.mean(longer_first)) if longer_first else None


REQUIRED = ("position", "flips", "parse", "planted")
_RATES = ("position", "flips", "parse")


def _shown(name: str, value) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if name in _RATES else f"{value:+.2f}"


def verdict(checks: list[dict]) -> tuple[bool, list[str]]:
    """Trusted when every required check passed and no other check failed; one reason per problem."""
    reasons = []
    for c in checks:
        who = f"{c['judge']}: " if c.get("judge") else ""
        label = c["label"][0].lower() + c["label"][1:]
        if c["outcome"] == "fail":
            ci = c.get("ci")
            bounds = ""
            if ci and ci[0] is not None:
                bounds = f" [{_shown(c['name'], ci[0])}, {_shown(c['name'], ci[1])}]"
            elif ci and ci[1] is not None:
                bounds = f" (upper bound {_shown(c['name'], ci[1])})"
            chance = f", chance {c['chance']:.0%}" if c.get("chance") and c["name"] == "position" else ""
            below = c["name"] == "position" and c.get("chance") is not None and c["value"] < c["chance"]
            where = (f"is below its floor {_shown(c['name'], c['chance'] * (1 - POSITION_EXCESS))} (a later position "
                     f"is favoured)") if below else f"is above its limit {_shown(c['name'], c['limit'])}"
            reasons.append(f"{who}{label} {_shown(c['name'], c['value'])}{bounds} {where}{chance}, over {c['n']}")
        elif c["outcome"] == "not established" and c["name"] in REQUIRED:
            reasons.append(f"{who}{label} not established: {c['detail']}")
    return not reasons, reasons
