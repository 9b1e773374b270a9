"""A finished run's Results, computed from the store and the run id alone: the run's spec (what it was asked)
and its rows (answers with their grades, judgments, planted-instruction trials), then the statistics."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from collections import Counter

import pandas as pd

from .. import stats
from ..cases import Case
from ..errors import ConfigError
from ..grading import case_score
from ..records import Answer, ExamTrial, Judgment, JudgeScore, PlantedTrial
from ..rubric import Criterion
from ..sampling import samples_of
from ..stats import design
from ..store import Store
from .fidelity import fidelity_section
from .formats import answers_file_fields, case_turns, ifeval_instruction_rows, ifeval_section, turn_rows
from .frames import ci, frames, num, verdict_counts
from .costs import cost_figures
from .judging import judge_fields
from .repeats import check_only, coverage, repeat_figures
from .scored import judge_score_figures
from .model import SCHEMA_VERSION, Results, StageTimes

N_BOOT = 2000
SEED = 20261123


def build_results(store: Store, run_id: str) -> Results:
    info = store.run_info(run_id)
    if info is None:
        raise ConfigError(f"run '{run_id}' is not in the store {store.path}")
    spec = info.get("spec")
    if not spec:
        raise ConfigError(f"run '{run_id}' was recorded by an older bench without its spec; run it again")
    cases = [Case.model_validate(c) for c in spec["cases"]]
    model_ids = [m["id"] for m in spec["models"]]
    samples = samples_of(spec["settings"].get("generation"))
    answers = _ordered_answers(store.answers(run_id), cases, model_ids, run_id, samples)
    judgments = _ordered_judgments(store.judgments(run_id), cases, [j["id"] for j in spec["judges"]])
    trials = store.trials(run_id) if spec["judges"] and spec["settings"]["judging"]["adversarial"] else None
    results = _figures(spec, cases, model_ids, answers, judgments, trials, store.scores(run_id),
                       store.exam_trials(run_id))
    counts = store.call_counts(run_id)
    stamp = info.get("stages_done_at") or info["started_at"]
    results.update({
        "run_id": run_id,
        "created_at": _dt.datetime.fromtimestamp(stamp, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_time_s": None if info.get("wall_time_s") is None else round(info["wall_time_s"], 2),
        "fidelity": fidelity_section(spec.get("fidelity"), model_ids, store.fidelity_rows(run_id), n_boot=N_BOOT,
                                     seed=SEED),
        "stages": StageTimes.from_seconds(info.get("stage_times")),
        "generation": {"calls": sum(c["calls"] for c in counts.values()),
                       "cached": sum(c["cached"] for c in counts.values()),
                       "failed": store.failure_count(run_id), "by_stage": counts},
        "cost": cost_figures(store.call_costs(run_id), [m["id"] for m in spec["models"]],
                             [j["id"] for j in spec["judges"]]),
    })
    return Results.model_validate(results)


def _ordered_answers(rows: list[Answer], cases: list[Case], model_ids: list[str], run_id: str,
                     samples: int = 1) -> list[Answer]:
    """Model by model, cases in suite order, each case's samples in order: the order the statistics' resampling
    has always seen."""
    by_key = {(a.case_id, a.model_id, a.sample): a for a in rows}
    missing = [(c.id, m) for m in model_ids for c in cases for s in range(samples) if (c.id, m, s) not in by_key]
    if missing:
        raise ConfigError(f"run '{run_id}' has no answer for {len(missing)} case(s), e.g. {missing[0][0]} from "
                          f"{missing[0][1]}: it did not finish; run the same command again to resume it")
    return [by_key[(c.id, m, s)] for m in model_ids for c in cases for s in range(samples)]


def _ordered_judgments(rows: list[Judgment], cases: list[Case], judge_ids: list[str]) -> list[Judgment]:
    case_index = {c.id: i for i, c in enumerate(cases)}
    judge_index = {j: i for i, j in enumerate(judge_ids)}
    return sorted(rows, key=lambda j: (case_index[j.case_id], j.sample, j.rep, judge_index[j.judge_id]))


def _records(df: pd.DataFrame, key: str) -> dict[str, dict]:
    return {row[key]: row for row in df.to_dict("records")} if len(df) else {}


def _figures(spec: dict, cases: list[Case], model_ids: list[str], answers: list[Answer],
             judgments: list[Judgment], trials: list[PlantedTrial] | None, judge_scores: list[JudgeScore],
             exam: list[ExamTrial]) -> dict[str, Any]:
    settings = spec["settings"]
    scoring = settings.get("scoring") or {"missing": "zero"}
    rubric = spec["rubric"]
    rubric_criteria = [Criterion.model_validate(c) for c in rubric["criteria"]] if rubric else []
    judged = bool(spec["judges"]) and settings["judging"].get("grade_criteria", True)
    samples = samples_of(settings.get("generation"))
    by_key = {(a.case_id, a.model_id, a.sample): a for a in answers}
    # Compared: the cases whose every sample of every model was answered and fully graded.
    shared = {c.id for c in cases if all(a.fully_graded for a in answers if a.case_id == c.id)}
    f = frames(cases, answers, judgments, shared=shared, missing=scoring["missing"],
               rubric_criteria=rubric_criteria, judged=judged,
               strong_weight=settings["judging"].get("strong_weight", 1.0))
    scores = _records(stats.model_scores(f["own_scores"], n_boot=N_BOOT, seed=SEED), "model")
    groups = stats.grouped_scores(f["own_groups"], n_boot=N_BOOT, seed=SEED)
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
                             "ties": int(r.ties), "win_rate": num(r.win_rate), "ci": ci(r.ci_low, r.ci_high),
                             "p_value": num(p), "p_adjusted": num(p_adj), "test": "exact sign test",
                             "verdicts": verdict_counts(f["compared_judgments"], r.a, r.b)})

    themes = stats.grouped_scores(f["own_themes"], n_boot=N_BOOT, seed=SEED) if len(f["own_themes"]) else None
    judged_scores, f["judge_overall"], f["judge_axes"] = judge_score_figures(
        judge_scores, model_ids, [c.id for c in cases], {k: a.ok for k, a in by_key.items()}, scoring["missing"],
        samples, {c.id: c.tags for c in cases}) \
        if judge_scores else ({}, None, None)
    checks = _check_figures(f, answers) if len(f["check_own"]) else {}
    repeats = repeat_figures(f["sample_scores"], answers, samples, check_only(rubric_criteria, cases))
    models_out = []
    for entry in spec["models"]:
        mid = entry["id"]
        s, lat = scores.get(mid, {}), latency.get(mid, {})
        mine = [a for a in answers if a.model_id == mid]
        cover = coverage(mine)
        costs = [c.cost_usd for a in mine for c in (a.turns or [a.completion]) if c.cost_usd]
        own = f["own_scores"].loc[f["own_scores"]["model"] == mid, "score"].to_numpy(float)
        models_out.append({
            "id": mid, "kind": entry["kind"], "fingerprint": entry["fingerprint"], "family": entry["family"],
            "size_mib": entry.get("size_mib"),
            "n": int(s.get("n", 0) or 0), **cover, "samples": samples, "repeats": repeats.get(mid),
            "coverage": {"answered": cover["answered"] / cover["cases"] if cover["cases"] else None,
                         "graded": cover["graded"] / cover["cases"] if cover["cases"] else None},
            "errors_by_stage": _stage_errors(mid, mine, judgments),
            "flags": dict(Counter(flag for a in mine for flag in a.flags)),
            "score": num(s.get("score")), "score_ci": ci(s.get("ci_low"), s.get("ci_high")),
            # HealthBench's standard error: the spread of the clipped bootstrap means, not of clipped cases
            "score_se": num(stats.bootstrap_se(own, n_boot=N_BOOT, seed=SEED, clip=(0, 1)))
            if own.size else None,
            "axes": _groups(groups, mid),
            **({"themes": _groups(themes, mid)} if themes is not None else {}),
            "win_rate": num(overall.get(mid, {}).get("win_rate")),
            "win_rate_ci": ci(overall.get(mid, {}).get("ci_low"), overall.get(mid, {}).get("ci_high")),
            "mean_rank": num(ranks.get(mid, {}).get("mean_rank")),
            "latency": {k: (num(lat.get(k)) if k not in ("calls", "failed", "ttft_lower_bound") else lat.get(k))
                        for k in ("ttft_p50_s", "ttft_p95_s", "latency_p50_s", "latency_p95_s", "ttft_p50_upper_s",
                                  "ttft_p95_upper_s", "latency_p50_upper_s", "latency_p95_upper_s", "tokens_per_s",
                                  "tokens_per_s_lower", "output_tokens_mean", "calls", "failed", "ttft_lower_bound")
                        if k in lat} | {"measured": "answers_file" not in entry},
            "cost_usd": sum(costs) if costs else None,
            **({"judge_scores": judged_scores[mid]} if judge_scores else {}),
            **({"checks": checks[mid]} if mid in checks else {}),
            "retries": sum(a.completion.retries or 0 for a in mine),
            **answers_file_fields(entry),
        })

    suite = spec["suite"]
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "suite": {"name": suite["name"], "version": suite["version"], "cases": len(cases),
                  "rubric": rubric["name"] if rubric else None, "rubric_version": rubric["version"] if rubric else None,
                  "path": suite["path"], "hash": suite["hash"]},
        "spec": {**settings, "rubric": rubric, "gates": spec["gates"], "labels": spec.get("labels", [])},
        "comparison": {"models": model_ids, "shared_cases": len(shared), "cases": len(cases)},
        "judge": judge_fields(spec, judgments, f, trials, answers, exam),
        "models": models_out,
        "pairwise": pairwise,
        "cases": _cases(cases, model_ids, answers, judgments, judge_scores, samples),
    }
    if suite.get("case_format") == "ifeval":
        rows = ifeval_instruction_rows(cases, answers, rubric_criteria, scoring["missing"])
        results["ifeval"] = ifeval_section(rows, model_ids, n_boot=N_BOOT, seed=SEED)
    baseline = settings["judging"]["baseline"] or model_ids[0]
    results.update(_verdict_fields(f, outcomes, model_ids, baseline))
    return results


def _stage_errors(model_id: str, mine: list[Answer], judgments: list[Judgment]) -> dict[str, int]:
    return {"answer": sum(1 for a in mine if not a.ok),
            "grade": sum(1 for a in mine for r in a.criteria if r.met is None and r.source in ("error", "split")),
            "judge": sum(1 for j in judgments if j.error and model_id in j.order)}


def _groups(table: pd.DataFrame, model_id: str) -> dict[str, dict]:
    rows = table[table["model"] == model_id].to_dict("records") if len(table) else []
    return {r["group"]: {"score": num(r["score"]), "ci": ci(r["ci_low"], r["ci_high"]), "n": int(r["n"])}
            for r in rows}


def _verdict_fields(f: dict[str, Any], outcomes, model_ids: list[str], baseline: str) -> dict[str, Any]:
    """Significance across all pairs and axes, the power figures, and the ratings, over the shared cases."""
    if len(model_ids) < 2:
        return {}
    out: dict[str, Any] = {}
    sig = stats.pairwise_significance(f["case_scores"], f["group_scores"], outcomes, n_boot=N_BOOT, seed=SEED)
    counts = design.paired_counts(f["case_scores"], f["group_scores"], outcomes)
    rows = [{"a": r["a"], "b": r["b"], "metric": r["metric"], "n": counts.get((r["a"], r["b"], r["metric"])),
             "diff": num(r["diff"]), "ci": ci(r["ci_low"], r["ci_high"]),
             "p_value": num(r["p_value"]), "p_adjusted": num(r["p_adjusted"]), "test": r["test"]}
            for r in sig.to_dict("records")]
    extra = []
    if len(f["check_scores"]):
        extra += _renamed_rows(f["check_scores"], f["check_groups"], "checks:score", "checks:", 1.0)
    if f.get("judge_overall") is not None and len(f["judge_overall"]):
        extra += _renamed_rows(f["judge_overall"], f["judge_axes"], "judge:overall", "judge:", 9.0)
    if extra:
        rows += extra
        # One Holm correction over every test the run reports, rubric and judge scores alike.
        tested = [i for i, r in enumerate(rows) if r["p_value"] is not None]
        for i, adjusted in zip(tested, stats.holm([rows[i]["p_value"] for i in tested])):
            rows[i]["p_adjusted"] = num(adjusted)
    out["significance"] = rows
    pairs = design.design_power(f["case_scores"], f["group_scores"])
    if len(f["check_scores"]):  # the check-only figures' design, named as their significance rows are
        pairs += [{**r, "metric": "checks:score" if r["metric"] == "score" else f"checks:{r['metric']}"}
                  for r in design.design_power(f["check_scores"], f["check_groups"])]
    out["power"] = {**stats.power_summary(f["case_scores"], outcomes), "pairs": pairs}
    if outcomes is not None and len(outcomes):
        bt = stats.bradley_terry(outcomes, n_boot=N_BOOT // 4, seed=SEED)
        ratings: dict[str, Any] = {
            "method": "bradley-terry", "scale": "elo (400 points = 10:1 odds), mean 1000",
            "models": [{"id": r["model"], "rating": num(r["rating"]), "ci": ci(r["ci_low"], r["ci_high"])}
                       for r in bt.to_dict("records")]}
        if len(f["lengths"]):
            styled, coefs = stats.style_controlled_bt(outcomes, f["lengths"], n_boot=N_BOOT // 4, seed=SEED)
            ratings["style_control"] = {
                "coefficients": {k: num(v) for k, v in coefs.items()},
                "models": [{"id": r["model"], "rating": num(r["rating"]), "ci": ci(r["ci_low"], r["ci_high"])}
                           for r in styled.to_dict("records")]}
            lc = stats.length_controlled_win_rate(outcomes, f["lengths"], baseline, n_boot=N_BOOT // 4, seed=SEED)
            ratings["length_controlled"] = []
            for r in lc.to_dict("records"):
                reason = design.length_support(outcomes, f["lengths"], r["model"], r["baseline"])
                ratings["length_controlled"].append(
                    {"id": r["model"], "baseline": r["baseline"], "reason": reason,
                     "win_rate": None if reason else num(r["win_rate"]),
                     "ci": None if reason else ci(r["ci_low"], r["ci_high"])})
        out["ratings"] = ratings
    return out


def _renamed_rows(overall: pd.DataFrame, axes: pd.DataFrame, overall_name: str, prefix: str,
                  scale: float) -> list[dict]:
    """Paired differences of another score (check-only, or the judge's 1-10 scores computed on the unit scale and
    given back in points of the scale), named apart from the rubric's."""
    sig = stats.pairwise_significance(overall, axes, None, n_boot=N_BOOT, seed=SEED)
    counts = design.paired_counts(overall, axes, None)
    rows = []
    for r in sig.to_dict("records"):
        metric = overall_name if r["metric"] == "score" else prefix + r["metric"]
        rows.append({"a": r["a"], "b": r["b"], "metric": metric, "n": counts.get((r["a"], r["b"], r["metric"])),
                     "diff": None if num(r["diff"]) is None else scale * r["diff"],
                     "ci": None if ci(r["ci_low"], r["ci_high"]) is None else [scale * r["ci_low"],
                                                                                 scale * r["ci_high"]],
                     "p_value": num(r["p_value"]), "p_adjusted": num(r["p_adjusted"]), "test": r["test"]})
    return rows


def _check_figures(f: dict[str, Any], answers: list[Answer]) -> dict[str, dict]:
    """Each model's check-only score and axes, and how many criteria it rests on and leaves out."""
    means = _records(stats.model_scores(f["check_own"], n_boot=N_BOOT, seed=SEED), "model")
    groups = stats.grouped_scores(f["check_own_groups"], n_boot=N_BOOT, seed=SEED)
    out = {}
    for model, row in means.items():
        # each (case, criterion) once, however many samples of the case graded it
        mine = {(a.case_id, i, r.source in ("check", "flag")) for a in answers if a.model_id == model
                for i, r in enumerate(a.criteria)}
        out[model] = {"score": num(row["score"]), "ci": ci(row["ci_low"], row["ci_high"]), "n": int(row["n"]),
                      "axes": _groups(groups, model),
                      "criteria": sum(1 for *_, by_code in mine if by_code),
                      "judged_criteria_left_out": sum(1 for *_, by_code in mine if not by_code)}
    return out


def _cases(cases: list[Case], model_ids: list[str], answers: list[Answer], judgments: list[Judgment],
           scores: list[JudgeScore], samples: int = 1) -> list[dict]:
    by_key = {(a.case_id, a.model_id, a.sample): a for a in answers}
    scored: dict[tuple[str, str, int], list[dict]] = {}
    for s in scores:
        scored.setdefault((s.case_id, s.model_id, s.sample), []).append(
            {"judge": s.judge_id, "scores": s.scores, "rationale": s.rationale, "error": s.error})

    def row(a: Answer) -> dict:
        c = a.completion
        return {
            "text": c.text, "error": c.error, "ttft_s": num(c.ttft_s), "latency_s": num(c.latency_s),
            "output_tokens": c.output_tokens, "tokens_per_s": num(c.tokens_per_s),
            "finish_reason": c.finish_reason, "score": num(case_score(a.criteria)) if a.ok else None,
            "flags": a.flags, "graded": a.fully_graded if a.ok else None,
            "axes": {axis: num(case_score(a.criteria, axis)) for axis in sorted({r.axis for r in a.criteria})},
            "criteria": [{"id": r.criterion_id, "axis": r.axis, "points": r.points, "met": r.met,
                          "source": r.source, "detail": r.detail, "rationale": r.rationale,
                          "met_loose": r.met_loose} for r in a.criteria],
            "judge_scores": scored.get((a.case_id, a.model_id, a.sample), []),
            "turns": turn_rows(a),
        }

    out = []
    for case in cases:
        out.append({
            "id": case.id, "tags": case.tags, "messages": case.chat(), "reference": case.reference,
            "turns": case_turns(case), "answers": {mid: row(by_key[(case.id, mid, 0)]) for mid in model_ids},
            **({"samples": {mid: [row(by_key[(case.id, mid, s)]) for s in range(1, samples)] for mid in model_ids}}
               if samples > 1 else {}),
            "judgments": [{"rep": j.rep, "order": j.order, "ranking": j.ranking, "error": j.error,
                           "attempts": j.attempts, "judge": j.judge_id, "pair": list(j.pair) if j.pair else None,
                           "rationale": j.rationale, "sample": j.sample, "strength": j.strength}
                          for j in judgments if j.case_id == case.id],
        })
    return out
