"""What a run's calls cost, per model and per role (contestant, grading, ranking, scoring, exam, planted), from
the run's own call records (harness.store: `run_calls`, which keep each call's cost)."""

from __future__ import annotations

from typing import Any

from .cost_model import ROLES


def _add(total: float | None, value: float | None) -> float | None:
    return total if value is None else (value if total is None else total + value)


def cost_figures(rows: list[dict], model_ids: list[str], judge_ids: list[str]) -> dict[str, Any]:
    """`rows`: Store.call_costs. A model's figures are null when none of its calls has a known cost."""
    models: dict[str, dict[str, Any]] = {mid: {"id": mid, "roles": {}} for mid in dict.fromkeys([*model_ids, *judge_ids])}
    for row in rows:
        model_id = row["model_id"] or "unknown (cache pruned)"
        role = ROLES.get(row["stage"], row["stage"])
        mine = models.setdefault(model_id, {"id": model_id, "roles": {}})["roles"].setdefault(role, {
            "calls": 0, "cached": 0, "unpriced": 0, "input_tokens": None, "output_tokens": None,
            "spent_usd": None, "total_usd": None})
        mine["calls" if row["fresh"] else "cached"] += row["calls"]
        mine["unpriced"] += row["calls"] - row["priced"]
        mine["input_tokens"] = _add(mine["input_tokens"], row["input_tokens"])
        mine["output_tokens"] = _add(mine["output_tokens"], row["output_tokens"])
        cost = row["cost_usd"] if row["priced"] else None
        mine["total_usd"] = _add(mine["total_usd"], cost)
        if row["fresh"]:
            mine["spent_usd"] = _add(mine["spent_usd"], cost)
        elif cost is not None and mine["spent_usd"] is None:
            mine["spent_usd"] = 0.0  # priced, but all from the cache so far: nothing spent
    spent = total = None
    order = list(ROLES.values())
    for model in models.values():
        model["roles"] = dict(sorted(model["roles"].items(),
                                     key=lambda item: order.index(item[0]) if item[0] in order else len(order)))
        for role in model["roles"].values():
            model["spent_usd"] = _add(model.get("spent_usd"), role["spent_usd"])
            model["total_usd"] = _add(model.get("total_usd"), role["total_usd"])
        spent, total = _add(spent, model.get("spent_usd")), _add(total, model.get("total_usd"))
    return {"spent_usd": spent, "total_usd": total, "models": list(models.values())}
