"""The judge's part of the results: its settings, its verdict counts, and the audit of its biases (a panel's
members each audited on their own verdicts, and their agreement)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import stats
from ..records import Judgment
from .frames import num, unit


def judge_fields(spec: dict, judgments: list[Judgment], f: dict[str, pd.DataFrame], adversarial: dict | None) -> dict:
    judges = spec["judges"]
    if not judges:
        return {"id": None}
    judge_ids = [j["id"] for j in judges]
    judging = spec["settings"]["judging"]
    fields: dict[str, Any] = {
        "id": "+".join(judge_ids), "panel": judge_ids if len(judge_ids) > 1 else None,
        "fingerprint": ",".join(j["fingerprint"] for j in judges),
        "kind": ",".join(j["kind"] for j in judges),
        "family": judges[0]["family"] if len(judges) == 1 else None,
        "mode": judging["mode"], "baseline": judging["baseline"],
        "orders": judging["orders"] if judging["mode"] == "rank" else 2,
        "judgments": len(judgments), "errors": sum(1 for j in judgments if j.error),
        "retries": sum(max(j.attempts - 1, 0) for j in judgments),
    }
    if not judgments:
        return fields
    jf = f["judgments"]
    audit = _audit(spec, judgments, jf, f["lengths"], judge_ids, adversarial)
    if len(judge_ids) > 1:
        members = {jid: _audit(spec, judgments, jf, f["lengths"], [jid], None) for jid in judge_ids}
        untrusted = [jid for jid, a in members.items() if not a["trusted"]]
        if untrusted:
            audit["trusted"] = False
            audit["reasons"].append(f"panel member(s) untrusted: {', '.join(untrusted)}")
        fields["members"] = members
        fields["agreement"] = _agreement(jf, judge_ids)
    fields.update({
        "position_consistency": num(audit.get("position_consistency")),
        "disagreements": _disagreements(judgments),
        "first_position_rate": num(audit.get("first_position_rate")),
        "audit": audit,
    })
    return fields


def _audit(spec: dict, judgments: list[Judgment], jf: pd.DataFrame, lengths: pd.DataFrame, judge_ids: list[str],
           adversarial: dict | None) -> dict:
    """The audit of the given judges' verdicts. Consistency is measured within one judge and one unit."""
    family_of = {j["id"]: j["family"] for j in spec["judges"]}
    mine = [j for j in judgments if j.judge_id in judge_ids]
    rows = jf[jf["judge"].isin(judge_ids)].copy()
    rows["case_id"] = rows["judge"] + "|" + rows["unit"]
    # The length lookup follows the composite key.
    keyed = rows[["case_id"]].assign(orig=[c.split("|")[1] for c in rows["case_id"]]).drop_duplicates()
    audit_lengths = keyed.merge(lengths, left_on="orig", right_on="case_id", suffixes=("", "_x"))[
        ["case_id", "model", "n_chars", "markdown_density"]] if len(lengths) else lengths
    families = {m["id"]: m["family"] for m in spec["models"]}
    audit = stats.judge_audit(rows, audit_lengths, parse_failures=sum(1 for j in mine if j.error),
                              total_attempts=sum(j.attempts for j in mine) or 0,
                              judge_family=family_of[judge_ids[0]] if len(judge_ids) == 1 else None,
                              model_families=families, adversarial=adversarial)
    if len(judge_ids) > 1:
        audit["self_preference"] = [sp for jid in judge_ids for sp in stats.judge_audit(
            rows.iloc[0:0], None, parse_failures=0, total_attempts=0, judge_family=family_of[jid],
            model_families=families)["self_preference"]]
    if adversarial and adversarial.get("obey_rate") is not None and adversarial["obey_rate"] > adversarial["max_obey_rate"]:
        audit["trusted"] = False
        audit["reasons"].append(f"obeyed instructions planted in answers in {adversarial['obey_rate']:.0%} of trials "
                                f"(limit {adversarial['max_obey_rate']:.0%})")
    return audit


def _agreement(jf: pd.DataFrame, judge_ids: list[str]) -> dict:
    """How often the judges pick the same winner for the same judgment (nominal labels: the top pick)."""
    done = jf[jf["ranking"].notna()].copy()
    done["item"] = done["unit"] + "#" + done["rep"].str.split("|").str[1]
    done["top"] = [r[0] for r in done["ranking"]]
    table = done.pivot_table(index="item", columns="judge", values="top", aggfunc="first")
    table = table.reindex(columns=judge_ids)
    codes = {name: i for i, name in enumerate(sorted(set(done["top"])))}
    matrix = table.apply(lambda col: col.map(codes)).to_numpy(dtype=float) if len(table) else np.empty((0, 0))
    out: dict[str, Any] = {"items": int(len(table)), "krippendorff_alpha": None, "cohens_kappa": None}
    if len(table):
        out["krippendorff_alpha"] = num(stats.krippendorff_alpha_nominal(matrix))
        if len(judge_ids) == 2:
            both = table.dropna()
            if len(both):
                out["cohens_kappa"] = num(stats.cohens_kappa(list(both.iloc[:, 0]), list(both.iloc[:, 1])))
    return out


def _disagreements(judgments: list[Judgment]) -> int:
    by_case: dict[tuple, set] = {}
    for j in judgments:
        if j.ranking:
            by_case.setdefault((j.judge_id, unit(j)), set()).add(tuple(j.ranking))
    return sum(1 for rankings in by_case.values() if len(rankings) > 1)
