"""A finished run written straight into a store, without models: its spec, answers with their criterion
grades, judgments and planted trials. Results are then built from it like any run's (harness.results.build)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.adapters.base import Completion
from harness.records import Answer, CriterionResult, Judgment
from harness.store import Store

RUBRIC = {"name": "r", "version": 1, "description": "", "axes": ["quality"],
          "criteria": [{"id": "good", "text": "good", "points": 100.0, "axis": "quality",
                        "check": {"type": "contains", "phrases": ["x"]}},
                       {"id": "bad", "text": "bad", "points": -100.0, "axis": "quality",
                        "check": {"type": "contains", "phrases": ["y"]}}]}


def answer(case_id: str, model: str, score: float | None, *, error: str | None = None, latency: float = 1.0,
           ungraded: bool = False, flags: list[str] | None = None) -> Answer:
    """An answer whose rubric score is `score`: +100 met, and a -100 * (1 - score) penalty met."""
    if error is not None:
        return Answer(case_id, model, Completion.failed(error, latency_s=latency))
    text = f"answer of {model} to {case_id}"
    completion = Completion(text, 0.1, latency, 10, 20, 50.0, "stop")
    criteria = [CriterionResult("good", "quality", 100.0, True, "check"),
                CriterionResult("bad", "quality", -100.0 * (1 - score), None if ungraded else score < 1,
                                "error" if ungraded else "check")]
    return Answer(case_id, model, completion, criteria, flags or [])


def write_run(store_path: Path, run_id: str, models: list[str], cases: list[str], answers: list[Answer],
              judgments: list[Judgment] = (), judges: list[str] = (), scoring: dict[str, Any] | None = None,
              gates: list[dict] = (), adversarial: int = 0, judging: dict[str, Any] | None = None) -> Store:
    store = Store(store_path)
    spec = {
        "suite": {"name": "synthetic", "version": 1, "description": "", "case_format": "bench",
                  "path": "suites/synthetic.yaml", "hash": "0" * 64},
        "settings": {"scoring": scoring or {"missing": "zero", "flagged": {}}, "system_prompt": None,
                     "judge_guidance": None, "generation": {}, "judge_generation": {},
                     "judging": {"mode": "rank", "orders": 2, "baseline": None, "adversarial": adversarial,
                                 "seed": 1, "max_retries": 2, "grade_criteria": True, **(judging or {})}},
        "rubric": RUBRIC,
        "cases": [{"id": c, "messages": [{"role": "user", "content": f"question {c}"}], "tags": [],
                   "reference": None, "criteria": [], "meta": {}} for c in cases],
        "models": [{"id": m, "kind": "mock", "family": None, "fingerprint": f"mock:{m}", "size_mib": None}
                   for m in models],
        "judges": [{"id": j, "kind": "mock", "family": None, "fingerprint": f"mock:{j}", "size_mib": None}
                   for j in judges],
        "gates": list(gates),
    }
    store.start_run(run_id, "synthetic", "plan", {}, spec)
    for a in answers:
        store.save_answer(run_id, a, key=f"{a.case_id}/{a.model_id}")
        store.save_grades(run_id, a)
    for j in judgments:
        store.save_judgment(run_id, j)
    store.finish_stages(run_id, 1.0)
    return store
