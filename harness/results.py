"""Turn a finished run (answers, grades, judgments) into the results dict of docs/results.md."""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import stats
from .grading import case_score

if TYPE_CHECKING:  # pragma: no cover
    from .runner import Answer, Judgment, Run

N_BOOT = 2000
SEED = 20261123
_MARKDOWN = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|>\s)|\*\*|__|`", re.MULTILINE)


def markdown_density(text: str) -> float:
    """Markdown marks (headings, list items, bold, code) per 100 characters: a style covariate."""
    return 100.0 * len(_MARKDOWN.findall(text)) / max(len(text), 1)


def _num(x: Any) -> Any:
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    return None if math.isnan(f) else f


def _ci(low: Any, high: Any) -> list | None:
    low, high = _num(low), _num(high)
    return None if low is None or high is None else [low, high]


def frames(run: "Run", answers: dict, judgments: list["Judgment"]) -> dict[str, pd.DataFrame]:
    """The DataFrames the statistics read."""
    score_rows, group_rows, theme_rows, latency_rows, length_rows = [], [], [], [], []
    themes = {case.id: case.meta.get("theme") for case in run.cases}
    for (case_id, model_id), answer in answers.items():
        c = answer.completion
        latency_rows.append({"model": model_id, "case_id": case_id, "ttft_s": c.ttft_s, "latency_s": c.latency_s,
                             "tokens_per_s": c.tokens_per_s, "output_tokens": c.output_tokens, "error": c.error,
                             "cost_usd": c.cost_usd})
        if not answer.ok:
            continue
        length_rows.append({"case_id": case_id, "model": model_id, "n_chars": len(c.text),
                            "markdown_density": markdown_density(c.text)})
        score = case_score(answer.criteria)
        if score is not None:
            score_rows.append({"model": model_id, "case_id": case_id, "score": score})
            if themes.get(case_id):
                theme_rows.append({"model": model_id, "case_id": case_id, "group": themes[case_id], "score": score})
        for axis in sorted({r.axis for r in answer.criteria}):
            axis_score = case_score(answer.criteria, axis)
            if axis_score is not None:
                group_rows.append({"model": model_id, "case_id": case_id, "group": axis, "score": axis_score})
    rank_rows, judgment_rows = [], []
    for j in judgments:
        # One "rep" per judge and judgment, so a panel's verdicts average like extra orders.
        rep = f"{j.judge_id}|{j.rep}"
        judgment_rows.append({"case_id": j.case_id, "rep": rep, "order": j.order, "ranking": j.ranking,
                              "error": j.error, "judge": j.judge_id, "unit": _unit(j)})
        if j.ranking:
            for position, model_id in enumerate(j.ranking, start=1):
                rank_rows.append({"case_id": j.case_id, "rep": rep, "model": model_id, "rank": position})
    return {
        "case_scores": pd.DataFrame(score_rows, columns=["model", "case_id", "score"]),
        "group_scores": pd.DataFrame(group_rows, columns=["model", "case_id", "group", "score"]),
        "theme_scores": pd.DataFrame(theme_rows, columns=["model", "case_id", "group", "score"]),
        "latencies": pd.DataFrame(latency_rows, columns=["model", "case_id", "ttft_s", "latency_s", "tokens_per_s",
                                                         "output_tokens", "error", "cost_usd"]),
        "lengths": pd.DataFrame(length_rows, columns=["case_id", "model", "n_chars", "markdown_density"]),
        "rankings": pd.DataFrame(rank_rows, columns=["case_id", "rep", "model", "rank"]),
        "judgments": pd.DataFrame(judgment_rows, columns=["case_id", "rep", "order", "ranking", "error", "judge",
                                                          "unit"]),
    }


def _unit(j: "Judgment") -> str:
    """What one judge saw the same way in every order: a case (rank mode) or a case and pair (pairwise)."""
    return j.case_id if j.pair is None else f"{j.case_id}|{j.pair[0]}|{j.pair[1]}"


def _records(df: pd.DataFrame, key: str) -> dict[str, dict]:
    return {row[key]: row for row in df.to_dict("records")} if len(df) else {}


def build_results(run: "Run", answers: dict, judgments: list["Judgment"], *, wall_time_s: float,
                  adversarial: dict | None = None) -> dict[str, Any]:
    suite, rubric = run.suite, run.rubric
    f = frames(run, answers, judgments)
    model_ids = run.model_ids

    scores = _records(stats.model_scores(f["case_scores"], n_boot=N_BOOT, seed=SEED), "model")
    groups = stats.grouped_scores(f["group_scores"], n_boot=N_BOOT, seed=SEED)
    latency = _records(stats.latency_summary(f["latencies"]), "model")
    outcomes = stats.pairwise_outcomes(f["rankings"]) if len(f["rankings"]) else None
    overall = _records(stats.overall_win_rates(outcomes, n_boot=N_BOOT, seed=SEED), "model") \
        if outcomes is not None and len(outcomes) else {}
    ranks = _records(stats.mean_ranks(f["rankings"]), "model") if len(f["rankings"]) else {}

    pairwise = []
    if outcomes is not None and len(outcomes):
        table = stats.pairwise_table(outcomes, n_boot=N_BOOT, seed=SEED)
        table = table[table["a"] < table["b"]] if len(table) else table
        p_values = [stats.sign_test(int(r.wins), int(r.losses)) for r in table.itertuples()]
        adjusted = stats.holm(p_values) if p_values else []
        for r, p, p_adj in zip(table.itertuples(), p_values, adjusted):
            pairwise.append({"a": r.a, "b": r.b, "n": int(r.n), "wins": int(r.wins), "losses": int(r.losses),
                             "ties": int(r.ties), "win_rate": _num(r.win_rate), "ci": _ci(r.ci_low, r.ci_high),
                             "p_value": _num(p), "p_adjusted": _num(p_adj), "test": "exact sign test"})

    judge_fields = _judge_fields(run, judgments, f, adversarial)
    themes = stats.grouped_scores(f["theme_scores"], n_boot=N_BOOT, seed=SEED) if len(f["theme_scores"]) else None

    models_out = []
    for mid in model_ids:
        entry = run.entries[mid]
        s, lat = scores.get(mid, {}), latency.get(mid, {})
        errors = sum(1 for (cid, m), a in answers.items() if m == mid and not a.ok)
        costs = [a.completion.cost_usd for (cid, m), a in answers.items() if m == mid and a.completion.cost_usd]
        models_out.append({
            "id": mid, "kind": entry.kind, "fingerprint": run.calls.fingerprint(run.adapters[mid]),
            "family": entry.family, "n": int(s.get("n", 0) or 0), "errors": errors,
            "score": _num(s.get("score")), "score_ci": _ci(s.get("ci_low"), s.get("ci_high")),
            "score_se": _num(stats.bootstrap_se(f["case_scores"].loc[f["case_scores"]["model"] == mid, "score"]
                                                .clip(0, 1).to_numpy(), n_boot=N_BOOT, seed=SEED))
            if s.get("n") else None,
            "axes": _groups(groups, mid),
            **({"themes": _groups(themes, mid)} if themes is not None else {}),
            "win_rate": _num(overall.get(mid, {}).get("win_rate")),
            "win_rate_ci": _ci(overall.get(mid, {}).get("ci_low"), overall.get(mid, {}).get("ci_high")),
            "mean_rank": _num(ranks.get(mid, {}).get("mean_rank")),
            "latency": {k: _num(lat.get(k)) for k in ("ttft_p50_s", "ttft_p95_s", "latency_p50_s", "latency_p95_s",
                                                       "tokens_per_s", "output_tokens_mean")},
            "cost_usd": sum(costs) if costs else None,
        })

    counts = run.store.call_counts(run.run_id)
    results: dict[str, Any] = {
        "schema_version": 1,
        "run_id": run.run_id,
        "created_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_time_s": round(wall_time_s, 2),
        "suite": {"name": suite.name, "version": suite.version, "cases": len(run.cases),
                  "rubric": rubric.name if rubric else None, "rubric_version": rubric.version if rubric else None,
                  "path": str(run.loaded.path)},
        "judge": judge_fields,
        "models": models_out,
        "pairwise": pairwise,
        "generation": {"calls": sum(c["calls"] for c in counts.values()),
                       "cached": sum(c["cached"] for c in counts.values()),
                       "failed": run.store.failure_count(run.run_id), "by_stage": counts},
        "cases": _cases(run, answers, judgments),
    }
    _verdict_fields(results, f, outcomes, model_ids, suite.judging.baseline or model_ids[0])
    return results


def _groups(table: pd.DataFrame, model_id: str) -> dict[str, dict]:
    rows = table[table["model"] == model_id].to_dict("records") if len(table) else []
    return {r["group"]: {"score": _num(r["score"]), "ci": _ci(r["ci_low"], r["ci_high"]), "n": int(r["n"])}
            for r in rows}


def _audit(run: "Run", judgments: list["Judgment"], jf: pd.DataFrame, lengths: pd.DataFrame, judge_ids: list[str],
           adversarial: dict | None) -> dict:
    """The audit of the given judges' verdicts. Consistency is measured within one judge and one unit."""
    mine = [j for j in judgments if j.judge_id in judge_ids]
    rows = jf[jf["judge"].isin(judge_ids)].copy()
    rows["case_id"] = rows["judge"] + "|" + rows["unit"]
    # The length lookup follows the composite key.
    keyed = rows[["case_id"]].assign(orig=[c.split("|")[1] for c in rows["case_id"]]).drop_duplicates()
    audit_lengths = keyed.merge(lengths, left_on="orig", right_on="case_id", suffixes=("", "_x"))[
        ["case_id", "model", "n_chars", "markdown_density"]] if len(lengths) else lengths
    families = {m: run.entries[m].family for m in run.model_ids}
    audit = stats.judge_audit(rows, audit_lengths, parse_failures=sum(1 for j in mine if j.error),
                              total_attempts=sum(j.attempts for j in mine) or 0,
                              judge_family=run.entries[judge_ids[0]].family if len(judge_ids) == 1 else None,
                              model_families=families, adversarial=adversarial)
    if len(judge_ids) > 1:
        audit["self_preference"] = [sp for jid in judge_ids for sp in stats.judge_audit(
            rows.iloc[0:0], None, parse_failures=0, total_attempts=0, judge_family=run.entries[jid].family,
            model_families=families)["self_preference"]]
    if adversarial and adversarial.get("obey_rate") is not None and adversarial["obey_rate"] > adversarial["max_obey_rate"]:
        audit["trusted"] = False
        audit["reasons"].append(f"obeyed instructions planted in answers in {adversarial['obey_rate']:.0%} of trials "
                                f"(limit {adversarial['max_obey_rate']:.0%})")
    return audit


def _judge_fields(run: "Run", judgments: list["Judgment"], f: dict[str, pd.DataFrame], adversarial: dict | None) -> dict:
    if not run.judge_ids:
        return {"id": None}
    errors = sum(1 for j in judgments if j.error)
    fields: dict[str, Any] = {
        "id": "+".join(run.judge_ids), "panel": run.judge_ids if len(run.judge_ids) > 1 else None,
        "fingerprint": ",".join(run.calls.fingerprint(run.adapters[j]) for j in run.judge_ids),
        "kind": ",".join(run.entries[j].kind for j in run.judge_ids),
        "family": run.entries[run.judge_ids[0]].family if len(run.judge_ids) == 1 else None,
        "mode": run.suite.judging.mode, "baseline": run.suite.judging.baseline,
        "orders": run.suite.judging.orders if run.suite.judging.mode == "rank" else 2,
        "judgments": len(judgments), "errors": errors,
        "retries": sum(max(j.attempts - 1, 0) for j in judgments),
    }
    if not judgments:
        return fields
    jf = f["judgments"]
    audit = _audit(run, judgments, jf, f["lengths"], run.judge_ids, adversarial)
    if len(run.judge_ids) > 1:
        members = {jid: _audit(run, judgments, jf, f["lengths"], [jid], None) for jid in run.judge_ids}
        untrusted = [jid for jid, a in members.items() if not a["trusted"]]
        if untrusted:
            audit["trusted"] = False
            audit["reasons"].append(f"panel member(s) untrusted: {', '.join(untrusted)}")
        fields["members"] = members
        fields["agreement"] = _agreement(jf, run.judge_ids)
    fields.update({
        "position_consistency": _num(audit.get("position_consistency")),
        "disagreements": _disagreements(judgments),
        "first_position_rate": _num(audit.get("first_position_rate")),
        "audit": audit,
    })
    return fields


def _agreement(jf: pd.DataFrame, judge_ids: list[str]) -> dict:
    """How often the judges pick the same winner for the same judgment (nominal labels: the top pick)."""
    import numpy as np

    done = jf[jf["ranking"].notna()].copy()
    done["item"] = done["unit"] + "#" + done["rep"].str.split("|").str[1]
    done["top"] = [r[0] for r in done["ranking"]]
    table = done.pivot_table(index="item", columns="judge", values="top", aggfunc="first")
    table = table.reindex(columns=judge_ids)
    codes = {name: i for i, name in enumerate(sorted(set(done["top"])))}
    matrix = table.apply(lambda col: col.map(codes)).to_numpy(dtype=float) if len(table) else np.empty((0, 0))
    out: dict[str, Any] = {"items": int(len(table)), "krippendorff_alpha": None, "cohens_kappa": None}
    if len(table):
        out["krippendorff_alpha"] = _num(stats.krippendorff_alpha_nominal(matrix))
        if len(judge_ids) == 2:
            both = table.dropna()
            if len(both):
                out["cohens_kappa"] = _num(stats.cohens_kappa(list(both.iloc[:, 0]), list(both.iloc[:, 1])))
    return out


def _disagreements(judgments: list["Judgment"]) -> int:
    by_case: dict[tuple, set] = {}
    for j in judgments:
        if j.ranking:
            by_case.setdefault((j.judge_id, _unit(j)), set()).add(tuple(j.ranking))
    return sum(1 for rankings in by_case.values() if len(rankings) > 1)


def _verdict_fields(results: dict, f: dict[str, pd.DataFrame], outcomes, model_ids: list[str], baseline: str) -> None:
    """Significance across all pairs and axes, and the power figures."""
    if len(model_ids) < 2:
        return
    sig = stats.pairwise_significance(f["case_scores"], f["group_scores"], outcomes, n_boot=N_BOOT, seed=SEED)
    results["significance"] = [
        {"a": r["a"], "b": r["b"], "metric": r["metric"], "diff": _num(r["diff"]), "ci": _ci(r["ci_low"], r["ci_high"]),
         "p_value": _num(r["p_value"]), "p_adjusted": _num(r["p_adjusted"]), "test": r["test"]}
        for r in sig.to_dict("records")]
    results["power"] = stats.power_summary(f["case_scores"], outcomes)
    if outcomes is not None and len(outcomes):
        bt = stats.bradley_terry(outcomes, n_boot=N_BOOT // 4, seed=SEED)
        ratings: dict[str, Any] = {
            "method": "bradley-terry", "scale": "elo (400 points = 10:1 odds), mean 1000",
            "models": [{"id": r["model"], "rating": _num(r["rating"]), "ci": _ci(r["ci_low"], r["ci_high"])}
                       for r in bt.to_dict("records")]}
        if len(f["lengths"]):
            styled, coefs = stats.style_controlled_bt(outcomes, f["lengths"], n_boot=N_BOOT // 4, seed=SEED)
            ratings["style_control"] = {
                "coefficients": {k: _num(v) for k, v in coefs.items()},
                "models": [{"id": r["model"], "rating": _num(r["rating"]), "ci": _ci(r["ci_low"], r["ci_high"])}
                           for r in styled.to_dict("records")]}
            lc = stats.length_controlled_win_rate(outcomes, f["lengths"], baseline, n_boot=N_BOOT // 4, seed=SEED)
            ratings["length_controlled"] = [
                {"id": r["model"], "baseline": r["baseline"], "win_rate": _num(r["win_rate"]),
                 "ci": _ci(r["ci_low"], r["ci_high"])} for r in lc.to_dict("records")]
        results["ratings"] = ratings


def _cases(run: "Run", answers: dict, judgments: list["Judgment"]) -> list[dict]:
    out = []
    for case in run.cases:
        case_answers = {}
        for mid in run.model_ids:
            a = answers[(case.id, mid)]
            c = a.completion
            case_answers[mid] = {
                "text": c.text, "error": c.error, "ttft_s": _num(c.ttft_s), "latency_s": _num(c.latency_s),
                "output_tokens": c.output_tokens, "tokens_per_s": _num(c.tokens_per_s),
                "finish_reason": c.finish_reason, "score": _num(case_score(a.criteria)) if a.ok else None,
                "axes": {axis: _num(case_score(a.criteria, axis)) for axis in sorted({r.axis for r in a.criteria})},
                "criteria": [{"id": r.criterion_id, "axis": r.axis, "points": r.points, "met": r.met,
                              "source": r.source, "detail": r.detail} for r in a.criteria],
            }
        out.append({
            "id": case.id, "tags": case.tags, "messages": case.chat(), "reference": case.reference,
            "answers": case_answers,
            "judgments": [{"rep": j.rep, "order": j.order, "ranking": j.ranking, "error": j.error,
                           "attempts": j.attempts} for j in judgments if j.case_id == case.id],
        })
    return out
