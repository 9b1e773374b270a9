"""The runs index as a leaderboard over runs: per suite, each model's latest score with its interval, and its
score over time as a small picture (one point per run, oldest left, with its interval).

Runs are grouped by suite name. A run whose suite settings differ from the latest run's (another hash) is drawn
hollow and named in the point's tooltip: its score was taken under other settings. The picture's coordinates are
worked out here; the template writes them into an inline SVG (escaping every text).
"""

from __future__ import annotations

from .formatting import is_number

WIDTH, HEIGHT, PAD = 168.0, 40.0, 5.0


def model_scores(results) -> list[dict]:
    """What the index keeps of each model of one run."""
    out = []
    for model in results.models:
        cases = model.cases or sum(1 for case in results.cases if model.id in case.answers)
        answered = model.answered if model.cases else sum(
            1 for case in results.cases if model.id in case.answers and not case.answers[model.id].error)
        out.append({"id": model.id, "score": model.score, "ci": model.score_ci,
                    "coverage": {"cases": cases, "answered": answered} if cases else None})
    return out


def leaderboards(runs: list[dict]) -> list[dict]:
    """One leaderboard per suite from the index rows (run_summary), suites in name order. Each row: the model,
    its latest scored run (score, interval, coverage, run id and date), the run before that, and the trend."""
    by_suite: dict[str, list[dict]] = {}
    for run in runs:
        if not run.get("error"):
            by_suite.setdefault(run["suite"], []).append(run)
    boards = []
    for suite in sorted(by_suite):
        ordered = sorted(by_suite[suite], key=lambda r: (str(r["created_at"] or ""), r["run_id"]))
        latest_hash = ordered[-1].get("suite_hash")
        series: dict[str, list[dict]] = {}
        for position, run in enumerate(ordered):
            for model in run.get("scores") or []:
                series.setdefault(model["id"], []).append({
                    **model, "position": position, "run_id": run["run_id"], "created_at": run["created_at"],
                    "href": run["href"], "same_suite": run.get("suite_hash") == latest_hash})
        rows = []
        for model_id, points in series.items():
            scored = [p for p in points if is_number(p["score"])]
            rows.append({"id": model_id, "latest": scored[-1] if scored else None,
                         "previous": scored[-2] if len(scored) > 1 else None, "runs": len(points)})
        rows.sort(key=lambda r: (r["latest"] is None, -(r["latest"]["score"] if r["latest"] else 0), r["id"]))
        low, high = _range([p for points in series.values() for p in points])
        for row in rows:
            row["trend"] = _trend(series[row["id"]], len(ordered), low, high)
        boards.append({"suite": suite, "runs": len(ordered), "rows": rows,
                       "settings_changed": any(not run.get("suite_hash") == latest_hash for run in ordered)})
    return boards


def _range(points: list[dict]) -> tuple[float, float]:
    """The score scale shared by every trend of a suite: the intervals' extent, at least 0.1 wide."""
    values = [v for p in points for v in [p["score"], *(p["ci"] or [])] if is_number(v)]
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if high - low < 0.1:
        middle = (low + high) / 2
        low, high = middle - 0.05, middle + 0.05
    return low, high


def _trend(points: list[dict], runs: int, low: float, high: float) -> dict | None:
    """Coordinates of one model's trend: a line through its scores, a bar per interval, a dot per run."""
    scored = [p for p in points if is_number(p["score"])]
    if not scored:
        return None

    def x(position: int) -> float:
        return PAD if runs == 1 else PAD + (WIDTH - 2 * PAD) * position / (runs - 1)

    def y(value: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (value - low) / (high - low)

    dots = []
    for p in scored:
        ci = p["ci"] if p["ci"] and all(is_number(v) for v in p["ci"]) else None
        dots.append({"x": round(x(p["position"]), 1), "y": round(y(p["score"]), 1),
                     "y_low": round(y(ci[0]), 1) if ci else None, "y_high": round(y(ci[1]), 1) if ci else None,
                     "point": p})
    line = " ".join(f"{d['x']},{d['y']}" for d in dots)
    return {"width": WIDTH, "height": HEIGHT, "line": line if len(dots) > 1 else None, "dots": dots}
