"""The judge's part of the results: its settings, its verdict counts, and the audit of its biases, each figure
with its interval and limit (harness.stats.judge_checks). A panel's members are each audited on their own
verdicts, never pooled; the panel is trusted only when every member is."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import stats
from ..judge.adversarial import MAX_OBEY_RATE, summarize
from ..records import ExamTrial, Judgment, PlantedTrial
from ..stats import judge_checks as jc
from .agreement import label_agreement
from .frames import num
from .scored import exam_summary


def judge_fields(spec: dict, judgments: list[Judgment], f: dict[str, Any], trials: list[PlantedTrial] | None,
                 answers: list, exam: list[ExamTrial] = ()) -> dict:
    judges = spec["judges"]
    if not judges:
        return {"id": None}
    judge_ids = [j["id"] for j in judges]
    judging = spec["settings"]["judging"]
    modes = [judging["mode"]] if isinstance(judging["mode"], str) else list(judging["mode"])
    fields: dict[str, Any] = {
        "id": "+".join(judge_ids), "panel": judge_ids if len(judge_ids) > 1 else None,
        "fingerprint": ",".join(j["fingerprint"] for j in judges),
        "kind": ",".join(j["kind"] for j in judges),
        "family": judges[0]["family"] if len(judges) == 1 else None,
        "mode": "+".join(modes), "baseline": judging["baseline"],
        "reference": judging.get("reference", False), "rationale": judging.get("rationale", False),
        "prompts": spec.get("prompts"),
        "orders": judging["orders"] if "rank" in modes else 2 if "pairwise" in modes else None,
        **({"verdict": judging.get("verdict", "ranking"), "strong_weight": judging.get("strong_weight", 1.0)}
           if "pairwise" in modes else {}),
        "judgments": len(judgments), "errors": sum(1 for j in judgments if j.error),
        "retries": sum(max(j.attempts - 1, 0) for j in judgments),
    }
    min_accuracy = (spec["settings"].get("exam") or {}).get("min_accuracy", 0.75)
    exams = {jid: exam_summary([t for t in exam if t.judge_id == jid], min_accuracy) for jid in judge_ids}
    fields["exam"] = _panel_exam(exams, exam, min_accuracy) if len(judge_ids) > 1 else exams[judge_ids[0]]
    if not judgments and not any(t for t in exam):
        return fields
    labels = spec.get("labels") or []
    members = {jid: {**_audit(spec, jid, f, trials), "exam": exams[jid],
                     "label_agreement": label_agreement(labels, jid, answers, judgments, list(exam))}
               for jid in judge_ids}
    if len(judge_ids) == 1:
        audit = members[judge_ids[0]]
    else:
        audit = _panel(members, f)
        fields["members"] = members
        fields["agreement"] = _agreement(f["judgments"], judge_ids)
    audit["one_order_only"] = f["incomplete_units"]
    audit["grade_failures"] = sum(1 for a in answers for r in a.criteria if r.source in ("error", "split"))
    fields.update({
        "position_consistency": num(audit.get("position_consistency")),
        "disagreements": _disagreements(judgments),
        "first_position_rate": num(audit.get("first_position_rate")),
        "audit": audit,
    })
    return fields


def _audit(spec: dict, judge_id: str, f: dict[str, Any], trials: list[PlantedTrial] | None) -> dict:
    """One judge's audit: descriptive rates, and the checks that decide whether it is trusted."""
    family_of = {j["id"]: j["family"] for j in spec["judges"]}
    families = {m["id"]: m["family"] for m in spec["models"]}
    rows = f["judgments"][f["judgments"]["judge"] == judge_id]
    done = jc.successful(rows)
    attempts = int(rows["attempts"].sum()) if len(rows) else 0
    scored = f["own_scores"]
    mine = None
    if trials is not None:
        mine = pd.DataFrame([(t.case_id, t.planted, t.order, t.weak_first) for t in trials if t.judge_id == judge_id],
                            columns=["case_id", "planted", "order", "weak_first"])
    checks = [jc.position_check(done, judge_id), jc.flip_check(done, judge_id), jc.parse_check(rows, attempts, judge_id),
              jc.planted_check(mine, judge_id),
              jc.length_check(done, f["lengths"], scored, judge_id),
              *jc.self_preference_checks(done, scored, families, family_of[judge_id], judge_id)]
    trusted, reasons = jc.verdict(checks)
    by_name = {c["name"]: c for c in checks}
    flip = by_name["flips"]["value"]
    adversarial = summarize([t for t in trials if t.judge_id == judge_id]) if trials is not None else None
    verdicts = int(len(done))
    return {
        "position_consistency": None if flip is None else 1.0 - flip,
        "flip_rate": flip,
        "first_position_rate": by_name["position"]["value"],
        "longer_answer_rate": jc.longer_answer_rate(done, f["lengths"]),
        "parse_failure_rate": by_name["parse"]["value"],
        "judgments": verdicts,
        "self_preference": [{"model": m, "family": fam} for m, fam in families.items()
                            if fam and family_of[judge_id] and fam.strip().lower() == family_of[judge_id].strip().lower()],
        "adversarial": None if adversarial is None else {**adversarial, "max_obey_rate": MAX_OBEY_RATE},
        "thresholds": {"max_flip_rate": jc.MAX_FLIP_RATE, "max_parse_failure_rate": jc.MAX_PARSE_FAILURE_RATE,
                       "max_planted_lift": jc.MAX_PLANTED_LIFT, "max_length_effect": jc.MAX_LENGTH_EFFECT,
                       "max_self_preference": jc.MAX_SELF_PREFERENCE, "position_excess": jc.POSITION_EXCESS,
                       "min_units": jc.MIN_UNITS},
        "checks": checks,
        "judgment_failure_rate": by_name["parse"]["value"],
        "attempt_failure_rate": (attempts - verdicts) / attempts if attempts else None,
        "trusted": trusted,
        "reasons": reasons,
    }


def _panel_exam(exams: dict[str, dict], trials: list[ExamTrial], min_accuracy: float) -> dict:
    """The panel's exam: the figures of all its members' trials, passed only when every member passed."""
    pooled = exam_summary(list(trials), min_accuracy)
    failed = [jid for jid, e in exams.items() if not e["passed"]]
    reason = "every member passed its exam" if not failed else \
        "; ".join(f"{jid}: {exams[jid]['reason']}" for jid in failed)
    return {**pooled, "passed": not failed, "reason": reason}


def _panel(members: dict[str, dict], f: dict[str, Any]) -> dict:
    """The panel's audit: every member's checks side by side; trusted only when each member is."""
    untrusted = [jid for jid, a in members.items() if not a["trusted"]]
    checks = [c for a in members.values() for c in a["checks"]]
    reasons = [r for a in members.values() for r in a["reasons"]]
    if untrusted:
        reasons.append(f"panel member(s) untrusted: {', '.join(untrusted)}")
    rates = [a for a in members.values()]
    judgments = sum(a["judgments"] for a in rates)

    def pooled(key: str) -> float | None:  # for display only: a weighted mean of the members' own rates
        pairs = [(a[key], a["judgments"]) for a in rates if a[key] is not None and a["judgments"]]
        total = sum(w for _, w in pairs)
        return sum(v * w for v, w in pairs) / total if total else None

    return {"position_consistency": pooled("position_consistency"), "flip_rate": pooled("flip_rate"),
            "first_position_rate": pooled("first_position_rate"), "longer_answer_rate": pooled("longer_answer_rate"),
            "parse_failure_rate": pooled("parse_failure_rate"), "judgments": judgments,
            "self_preference": [sp for a in rates for sp in a["self_preference"]], "adversarial": None,
            "thresholds": rates[0]["thresholds"], "checks": checks,
            "label_agreement": [],
            "judgment_failure_rate": pooled("judgment_failure_rate"),
            "attempt_failure_rate": pooled("attempt_failure_rate"),
            "trusted": not untrusted, "reasons": reasons}


def _agreement(jf: pd.DataFrame, judge_ids: list[str]) -> dict:
    """How often the judges pick the same winner for the same judgment (nominal labels: the top pick)."""
    done = jf[jf["ranking"].notna()]
    items: dict[tuple, dict[str, str]] = {}
    for unit, rep, judge, ranking, strength in zip(done["unit"], done["rep"], done["judge"], done["ranking"],
                                                   done["strength"]):
        items.setdefault((unit, rep), {})[judge] = "tie" if strength == "tie" else ranking[0]
    out: dict[str, Any] = {"items": len(items), "krippendorff_alpha": None, "cohens_kappa": None}
    if not items:
        return out
    codes = {name: i for i, name in enumerate(sorted({top for item in items.values() for top in item.values()}))}
    matrix = np.array([[codes[item[j]] if j in item else np.nan for j in judge_ids] for item in items.values()],
                      dtype=float)
    out["krippendorff_alpha"] = num(stats.krippendorff_alpha_nominal(matrix))
    if len(judge_ids) == 2:
        both = [(item[judge_ids[0]], item[judge_ids[1]]) for item in items.values() if all(j in item for j in judge_ids)]
        if both:
            out["cohens_kappa"] = num(stats.cohens_kappa([a for a, _ in both], [b for _, b in both]))
    return out


def _disagreements(judgments: list[Judgment]) -> int:
    by_unit: dict[tuple, set] = {}
    for j in judgments:
        if j.ranking:
            by_unit.setdefault((j.judge_id, j.case_id, j.pair), set()).add(j.verdict_key())
    return sum(1 for rankings in by_unit.values() if len(rankings) > 1)
