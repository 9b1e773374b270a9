"""The parts of a run's Results that the public formats and answers files add: IFEval's accuracies, every turn of a
multi-turn answer, and what a model answering from a file left unmeasured or unmatched."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import stats
from ..cases import Case
from ..checks import IFEVAL_INSTRUCTION_IDS
from ..records import Answer
from ..rubric import Criterion, applicable_criteria
from .frames import num


def ifeval_instruction_rows(cases: list[Case], answers: list[Answer], rubric_criteria: list[Criterion],
                            missing: str) -> pd.DataFrame:
    """One row per model, case and IFEval instruction: `strict` and `loose` verdicts (None: ungraded).

    An answer flagged to score zero meets no instruction, strictly or loosely. An unanswered case follows the
    suite's `scoring.missing`: with "zero" its instructions count as not followed (as in the score), with
    "exclude" the prompt is left out and counted."""
    by_id = {case.id: case for case in cases}
    rows = []
    for answer in answers:
        case = by_id[answer.case_id]
        instructions = [c for c in applicable_criteria(rubric_criteria, case.criteria, case.tags)
                        if c.check is not None and c.check.type in IFEVAL_INSTRUCTION_IDS]
        verdicts = {r.criterion_id: r for r in answer.criteria}
        for criterion in instructions:
            result = verdicts.get(criterion.id)
            if not answer.ok:
                strict = loose = False if missing == "zero" else None
            elif result is None or result.met is None:
                strict = loose = None
            elif result.source == "check":
                strict, loose = result.met, result.met_loose
            else:  # zeroed by a flag: neither verdict is given
                strict = loose = bool(result.met)
            rows.append({"model": answer.model_id, "case_id": answer.case_id, "instruction_id": criterion.check.type,
                         "strict": strict, "loose": loose})
    return pd.DataFrame(rows, columns=["model", "case_id", "instruction_id", "strict", "loose"])


def ifeval_section(rows: pd.DataFrame, model_ids: list[str], n_boot: int, seed: int) -> dict[str, dict]:
    """{model: {prompt_strict, prompt_loose, instruction_strict, instruction_loose}}, each {accuracy, ci, n, ...}."""
    if not len(rows):
        return {}
    summary = stats.ifeval_accuracy_summary(stats.ifeval_accuracy(rows, n_boot=n_boot, seed=seed))
    out = {}
    for model_id in model_ids:
        figures = summary.get(model_id)
        if figures is None:
            continue
        out[model_id] = {name: {**figure, "n": figure["prompts" if name.startswith("prompt") else "instructions"]}
                         for name, figure in figures.items()}
    return out


def turn_rows(answer: Answer) -> list[dict[str, Any]]:
    """Each turn's completion of a multi-turn answer (none for a single-turn one)."""
    return [{"turn": number, "text": c.text, "error": c.error, "ttft_s": num(c.ttft_s), "latency_s": num(c.latency_s),
             "output_tokens": c.output_tokens, "tokens_per_s": num(c.tokens_per_s), "finish_reason": c.finish_reason}
            for number, c in enumerate(answer.turns, start=1)]


def case_turns(case: Case) -> list[dict[str, Any]]:
    """The later user turns of a case, each with its reference where the case has one."""
    references = case.turn_references or []
    return [{"turn": number, "prompt": prompt, "reference": references[number - 1] if references else None}
            for number, prompt in enumerate(case.turns, start=2)]


def answers_file_fields(entry: dict[str, Any]) -> dict[str, Any]:
    """A model that answered from a file: the answers for cases the suite does not have, and the timings bench
    did not measure (the model's latency row is marked so)."""
    info = entry.get("answers_file")
    if not info:
        return {}
    return {"unknown_answers": info["unknown"]}
