"""IFEval accuracy: prompt-level and instruction-level, strict and loose, with bootstrap intervals over prompts.

As the IFEval paper defines them (Zhou et al. 2023, section 3): prompt-level accuracy is the share of
prompts whose every instruction is followed; instruction-level accuracy is the share of all
instructions followed, pooled over prompts. "Strict" judges the response as written, "loose" also
accepts it after removing markdown emphasis or a first or last line (see `harness.checks.run_loose`).

Intervals resample prompts, not instructions: the instructions of one prompt share one response, so
they are not independent. The instruction-level figure of a resample is the ratio of the followed
instructions to all instructions in the resampled prompts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._resample import percentile_interval, resample_counts

IFEVAL_ACCURACY_COLUMNS = ["model", "level", "mode", "prompts", "instructions", "excluded_prompts",
                           "accuracy", "ci_low", "ci_high"]
IFEVAL_BY_INSTRUCTION_COLUMNS = ["model", "instruction", "mode", "prompts", "instructions", "accuracy",
                                 "ci_low", "ci_high"]
MODES = ("strict", "loose")


def _prompt_table(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Per prompt: instructions, followed (strict, loose) and whether all were followed; prompts with an
    ungraded instruction are left out and counted."""
    graded = rows["strict"].notna() & rows["loose"].notna()
    ungraded_prompts = set(rows.loc[~graded, "case_id"])
    kept = rows[~rows["case_id"].isin(ungraded_prompts)]
    strict = kept["strict"].astype(bool)
    loose = kept["loose"].astype(bool)
    if (strict & ~loose).any():
        bad = kept.loc[strict & ~loose, "case_id"].iloc[0]
        raise ValueError(f"case {bad}: an instruction met strictly must be met loosely too")
    table = pd.DataFrame({"case_id": kept["case_id"], "strict": strict.astype(int), "loose": loose.astype(int)})
    per_prompt = table.groupby("case_id", sort=False).agg(
        instructions=("strict", "size"), strict=("strict", "sum"), loose=("loose", "sum"))
    return per_prompt, len(ungraded_prompts)


def _interval(samples: np.ndarray, n_prompts: int, alpha: float) -> tuple[float, float]:
    # One prompt has no spread to resample; an interval of width 0 would claim a certainty it lacks.
    if n_prompts < 2:
        return (math.nan, math.nan)
    return percentile_interval(samples, alpha)


def _accuracies(per_prompt: pd.DataFrame, mode: str, n_boot: int, seed: int, alpha: float):
    """((prompt accuracy, ci), (instruction accuracy, ci)) for one mode."""
    n = len(per_prompt)
    if n == 0:
        nothing = (math.nan, (math.nan, math.nan))
        return nothing, nothing
    counts = per_prompt["instructions"].to_numpy(dtype=float)
    followed = per_prompt[mode].to_numpy(dtype=float)
    all_followed = (followed == counts).astype(float)
    weights = resample_counts(n, n_boot, seed)  # (n_boot, n): how often each prompt is drawn
    prompt_samples = weights @ all_followed / n
    instruction_samples = (weights @ followed) / (weights @ counts)
    prompt_level = (float(all_followed.mean()), _interval(prompt_samples, n, alpha))
    instruction_level = (float(followed.sum() / counts.sum()), _interval(instruction_samples, n, alpha))
    return prompt_level, instruction_level


def ifeval_accuracy(instructions: pd.DataFrame, n_boot: int = 2000, seed: int = 0,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Four rows per model: level (prompt, instruction) x mode (strict, loose), with intervals.

    `instructions`: one row per model, prompt and instruction, with columns `model`, `case_id`,
    `strict` and `loose` (True/False; None or NaN where the instruction could not be graded, for
    example because the answer failed: such a prompt is left out and counted in `excluded_prompts`).
    Every model resamples with the same seed. Models keep the order in which they first appear.
    """
    out = []
    for model, rows in instructions.groupby("model", sort=False):
        per_prompt, excluded = _prompt_table(rows)
        n_instructions = int(per_prompt["instructions"].sum())
        for mode in MODES:
            prompt_level, instruction_level = _accuracies(per_prompt, mode, n_boot, seed, alpha)
            for level, (accuracy, (low, high)) in (("prompt", prompt_level), ("instruction", instruction_level)):
                out.append((model, level, mode, len(per_prompt), n_instructions, excluded, accuracy, low, high))
    return pd.DataFrame(out, columns=IFEVAL_ACCURACY_COLUMNS)


def ifeval_by_instruction(instructions: pd.DataFrame, group: str = "instruction_id", n_boot: int = 2000,
                          seed: int = 0, alpha: float = 0.05) -> pd.DataFrame:
    """Instruction-level accuracy per instruction type (or per group such as the id's category), both modes.

    `instructions` as for `ifeval_accuracy`, plus the column named by `group` ("instruction_id", or a
    column the caller derives, such as the part before the colon). The interval resamples the prompts
    that hold an instruction of the group.
    """
    out = []
    for (model, name), rows in instructions.groupby(["model", group], sort=False):
        per_prompt, _ = _prompt_table(rows)
        for mode in MODES:
            _, (accuracy, (low, high)) = _accuracies(per_prompt, mode, n_boot, seed, alpha)
            out.append((model, name, mode, len(per_prompt), int(per_prompt["instructions"].sum()), accuracy, low, high))
    return pd.DataFrame(out, columns=IFEVAL_BY_INSTRUCTION_COLUMNS)


def ifeval_accuracy_summary(accuracy: pd.DataFrame) -> dict[str, dict[str, dict]]:
    """`ifeval_accuracy`'s rows as JSON-ready figures: {model: {"prompt_strict": {accuracy, ci, prompts,
    instructions, excluded_prompts, reason}, ...}}; a figure that cannot be computed is None with a reason."""
    summary: dict[str, dict[str, dict]] = {}
    for row in accuracy.itertuples(index=False):
        value = None if math.isnan(row.accuracy) else row.accuracy
        ci = None if math.isnan(row.ci_low) else [row.ci_low, row.ci_high]
        reason = None
        if value is None:
            reason = "no prompt with every instruction graded"
        elif ci is None:
            reason = "an interval needs at least two prompts"
        summary.setdefault(row.model, {})[f"{row.level}_{row.mode}"] = {
            "accuracy": value, "ci": ci, "prompts": int(row.prompts), "instructions": int(row.instructions),
            "excluded_prompts": int(row.excluded_prompts), "reason": reason}
    return summary
