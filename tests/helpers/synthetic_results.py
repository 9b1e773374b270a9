"""A made-up Results of any size, with every part the report draws: for the browser test, the scale benchmark
and the screenshots. The figures follow a seeded random recipe; they are not results of any run.

Answers look like the default suite's (SBAR notes of about 200 tokens, about 800 characters); a few are
flagged, failed or partly graded, and one holds markup that must stay text: `</script>`, `<img onerror>`.
"""

from __future__ import annotations

import random

from harness.results.model import Results

HOSTILE = ('Situation: </script><script>window.__pwned = "script"</script> <img src=x onerror="window.__pwned = '
           "'img'\"> <!-- and U+2028 \u2028 here")
WORDS = ("patient reports pain since yesterday morning worse when walking no fever mild nausea takes ibuprofen "
         "twice daily history of asthma allergic to penicillin lives alone works nights sleep poor appetite "
         "normal asks whether to keep the appointment blood pressure at home was high last week son noticed "
         "confusion dizziness on standing cough with green phlegm for five days smoker").split()
AXES = ("structure", "safety", "accuracy", "conciseness")
CRITERIA = [("sbar-headings", "structure", 5, "check"), ("sbar-order", "structure", 2, "check"),
            ("no-diagnosis", "safety", -6, "check"), ("emergency-referral", "safety", 8, "judge"),
            ("facts-only", "accuracy", 4, "judge"), ("keeps-medication", "accuracy", 3, "check"),
            ("under-150-words", "conciseness", 2, "check"), ("no-filler", "conciseness", 1, "check")]
TAGS = ("red-flag", "chronic", "medication", "vague", "multi-turn", "non-english")
FLAGS = ("empty", "truncated", "repetition", "prompt_echo", "wrong_language")


def _note(rng: random.Random, words: int) -> str:
    parts = []
    for heading in ("Situation", "Background", "Assessment", "Recommendation"):
        parts.append(f"{heading}: " + " ".join(rng.choice(WORDS) for _ in range(words // 4)) + ".")
    return "\n".join(parts)


def synthetic_results(n_models: int = 3, n_cases: int = 12, *, seed: int = 7, hostile: bool = True,
                      words: int = 120, quantization: bool = True) -> Results:
    """A complete Results: n_models x n_cases answers with criteria, judgments in two orders, pairwise rows,
    significance, ratings, a judge audit with checks, gates with a margin, latency, prices and file sizes."""
    rng = random.Random(seed)
    models = [f"model-{k}" for k in range(n_models)]
    if n_models >= 3:
        models[:3] = ["base-135m", "sft-135m", "cloud-mini"]
    quality = {m: 0.3 + 0.5 * k / max(n_models - 1, 1) for k, m in enumerate(models)}
    cases, scores = [], {m: [] for m in models}
    for i in range(n_cases):
        case_id = f"case-{i:04d}"
        answers = {}
        for m in models:
            error = "timeout after 60 s" if rng.random() < 0.01 else None
            flags = [rng.choice(FLAGS)] if rng.random() < 0.05 and not error else []
            criteria = []
            if not error:
                for cid, axis, points, source in CRITERIA:
                    met = rng.random() < (quality[m] if points > 0 else 1 - quality[m])
                    graded = rng.random() > 0.01
                    criteria.append({"id": cid, "axis": axis, "points": points, "met": met if graded else None,
                                     "source": source if graded else "error",
                                     "detail": "" if source == "check" else "the note says so"})
            gained = sum(c["points"] for c in criteria if c["met"])
            score = None if error else gained / sum(p for _c, _a, p, _s in CRITERIA if p > 0)
            if score is not None:
                scores[m].append(score)
            text = "" if error else _note(rng, words)
            if hostile and i == 1 and m == models[-1]:
                text = HOSTILE
            answers[m] = {"text": text, "error": error, "flags": flags,
                          "graded": None if error else all(c["met"] is not None for c in criteria),
                          "ttft_s": None if error else round(rng.uniform(0.05, 0.4), 3),
                          "latency_s": round(rng.uniform(0.8, 4.0), 3), "output_tokens": None if error else 180,
                          "tokens_per_s": None if error else round(rng.uniform(40, 140), 1),
                          "finish_reason": "stop", "score": score,
                          "axes": {} if error else {a: round(rng.random(), 3) for a in AXES},
                          "criteria": criteria}
        order = models[:]
        judgments = []
        for rep in range(2):
            rng.shuffle(order)
            ranking = sorted(models, key=lambda mm: -(quality[mm] + rng.random() * 0.6))
            judgments.append({"rep": rep, "order": list(order), "ranking": ranking, "error": None, "attempts": 1,
                              "judge": "judge-mini"})
        cases.append({"id": case_id, "tags": rng.sample(TAGS, 2),
                      "messages": [{"role": "user", "content": "I have " + " ".join(rng.choice(WORDS) for _ in range(30))}],
                      "reference": None, "answers": answers, "judgments": judgments})
    return Results.model_validate(_run(models, cases, scores, quality, rng, n_cases, quantization))


def _run(models, cases, scores, quality, rng, n_cases, quantization) -> dict:
    def ci(value, width=0.05):
        return [max(value - width, 0.0), min(value + width, 1.0)]

    model_rows = []
    for k, m in enumerate(models):
        mine = [c["answers"][m] for c in cases]
        answered = sum(1 for a in mine if not a["error"])
        score = sum(scores[m]) / len(scores[m]) if scores[m] else None
        flags: dict[str, int] = {}
        for a in mine:
            for f in a["flags"]:
                flags[f] = flags.get(f, 0) + 1
        model_rows.append({
            "id": m, "kind": "openai" if m == "cloud-mini" else "gguf",
            "family": "cloud" if m == "cloud-mini" else "smollm2",
            "size_mib": (257.0 / (k + 1)) if quantization and m != "cloud-mini" else None,
            "n": answered, "cases": n_cases, "answered": answered,
            "graded": sum(1 for a in mine if a["graded"]), "errors": n_cases - answered,
            "errors_by_stage": {"answer": n_cases - answered, "grade": sum(1 for a in mine if a["graded"] is False),
                                "judge": 0},
            "flags": flags, "score": score, "score_ci": ci(score) if score is not None else None,
            "axes": {a: {"score": quality[m], "ci": ci(quality[m], 0.08), "n": answered} for a in AXES},
            "win_rate": quality[m], "win_rate_ci": ci(quality[m], 0.1), "mean_rank": 1 + (1 - quality[m]) * len(models),
            "latency": {"ttft_p50_s": 0.12, "ttft_p95_s": 0.3, "latency_p50_s": 1.9, "latency_p95_s": 3.5,
                        "latency_p95_upper_s": 3.9, "tokens_per_s": 40.0 + 15 * k, "output_tokens_mean": 180.0,
                        "calls": n_cases, "failed": n_cases - answered, "ttft_lower_bound": answered < n_cases},
            "cost_usd": 0.0021 * n_cases if m == "cloud-mini" else None,
        })
    pairwise, significance = [], []
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            rate = 0.5 + (quality[a] - quality[b]) / 2
            pairwise.append({"a": a, "b": b, "n": n_cases, "wins": int(rate * n_cases), "ties": 0,
                             "losses": n_cases - int(rate * n_cases), "win_rate": rate, "ci": ci(rate, 0.1),
                             "p_value": 0.01, "p_adjusted": 0.03, "test": "exact sign test"})
            for metric in ("score", *(f"axis:{x}" for x in AXES)):
                diff = quality[a] - quality[b] + rng.uniform(-0.03, 0.03)
                significance.append({"a": a, "b": b, "metric": metric, "n": n_cases, "diff": diff,
                                     "ci": [diff - 0.06, diff + 0.06], "p_value": 0.02, "p_adjusted": 0.05,
                                     "test": "paired bootstrap"})
    return {
        "run_id": f"synthetic-{len(models)}x{n_cases}", "created_at": "2026-11-23T10:15:00Z", "wall_time_s": 1234.5,
        "suite": {"name": "sbar-intake", "version": 1, "cases": n_cases, "rubric": "sbar", "rubric_version": 1,
                  "hash": "0" * 64},
        "spec": {"rubric": {"name": "sbar", "version": 1, "criteria": [
                    {"id": c, "axis": a, "points": p, "text": f"The note meets {c}."} for c, a, p, _s in CRITERIA]},
                 "gates": [{"type": "not_worse", "axis": "score", "candidate": models[min(1, len(models) - 1)],
                            "baseline": models[0], "margin": 0.05, "name": "sft not worse"}]},
        "judge": {"id": "judge-mini", "mode": "rank", "orders": 2, "judgments": 2 * n_cases, "errors": 0,
                  "retries": 0, "position_consistency": 0.62, "first_position_rate": 0.41,
                  "audit": {"position_consistency": 0.62, "flip_rate": 0.38, "first_position_rate": 0.41,
                            "judgments": 2 * n_cases, "thresholds": {"max_flip_rate": 0.4},
                            "checks": [{"name": "position", "label": "Position preference (first shown ranked first)",
                                        "value": 0.41, "ci": [0.35, 0.47], "n": 2 * n_cases,
                                        "chance": 1 / len(models), "limit": 0.6, "outcome": "pass"},
                                       {"name": "flips", "label": "Flips between orders", "value": 0.38,
                                        "ci": [0.3, 0.46], "n": n_cases, "limit": 0.4, "outcome": "not established",
                                        "detail": "the interval reaches past the limit"}],
                            "judgment_failure_rate": 0.0, "attempt_failure_rate": 0.01, "trusted": True}},
        "models": model_rows, "pairwise": pairwise, "significance": significance,
        "ratings": {"method": "bradley-terry", "scale": "elo", "models": [
            {"id": m, "rating": 1000 + 400 * (quality[m] - 0.5), "ci": [960 + 400 * (quality[m] - 0.5),
                                                                        1040 + 400 * (quality[m] - 0.5)]} for m in models]},
        "power": {"n_cases": n_cases, "alpha": 0.05, "power": 0.8, "min_detectable_score_diff": 0.04},
        "gates": [{"name": "sft not worse", "type": "not_worse", "figure": -0.01, "threshold": -0.05, "op": ">",
                   "verdict": "pass", "reason": "interval low -0.01 above -0.05",
                   "warning": "the suite can only resolve differences above 0.04"}],
        "generation": {"calls": n_cases * len(models), "cached": 0},
        "cases": cases,
    }
