"""Building blocks of the Results model (harness.results.model): the figure type every number uses, and the parts
for multi-turn cases (each turn of an answer, the later turns of a case) and IFEval's accuracies."""

from __future__ import annotations

from pydantic import Field

from .types import Figure, Interval, StrictModel


class TurnRow(StrictModel):
    """One turn's completion of a multi-turn answer."""

    turn: int = Field(description="1 for the first user turn")
    text: str = ""
    error: str | None = None
    ttft_s: Figure = None
    latency_s: Figure = None
    output_tokens: int | None = None
    tokens_per_s: Figure = None
    finish_reason: str | None = None


class CaseTurn(StrictModel):
    """A later user turn of a case (the first is the case's messages), asked after the model's own answer."""

    turn: int = Field(description="2 for the second user turn")
    prompt: str
    reference: str | None = Field(None, description="the reference answer of this turn (MT-bench), if any")


class IFEvalFigure(StrictModel):
    accuracy: Figure = Field(None, description="share of prompts with every instruction followed (prompt level) or "
                                                "of instructions followed (instruction level)")
    ci: Interval = Field(None, description="95% bootstrap interval over prompts")
    n: int = Field(0, description="prompts (prompt level) or instructions (instruction level) it is taken over")
    prompts: int = 0
    instructions: int = 0
    excluded_prompts: int = Field(0, description="prompts left out: an instruction ungraded (with scoring.missing: "
                                                 "exclude, an unanswered prompt)")
    reason: str | None = Field(None, description="why the figure or its interval is null, when it is")


class IFEvalAccuracy(StrictModel):
    """IFEval's four figures (Zhou et al. 2023): strict judges the answer as written, loose also after removing
    markdown emphasis or a first or last line."""

    prompt_strict: IFEvalFigure = IFEvalFigure()
    prompt_loose: IFEvalFigure = IFEvalFigure()
    instruction_strict: IFEvalFigure = IFEvalFigure()
    instruction_loose: IFEvalFigure = IFEvalFigure()


class AxisFigure(StrictModel):
    score: Figure = Field(None, description="mean over cases of the per-case score on this axis (or theme)")
    ci: Interval = Field(None, description="95% bootstrap interval over cases")
    n: int | None = Field(None, description="cases that have a score on this axis")


class JudgeScores(StrictModel):
    """The judge's 1-10 scores of a model's answers, each answer scored alone (score mode)."""

    overall: AxisFigure = AxisFigure()
    axes: dict[str, AxisFigure] = {}
    turns: dict[str, AxisFigure] = Field({}, description="multi-turn cases (MT-bench): the overall score of each "
                                                         "turn ('turn 1', 'turn 2'), over the cases that have it")
    tags: dict[str, AxisFigure] = Field({}, description="the overall score over the cases with each tag (MT-bench: "
                                                        "its categories)")
    unscored: int = Field(0, description="answers the judge gave no parsable score for")


class CheckScores(StrictModel):
    """The rubric score from the criteria code decides alone (checks and flags), judge-graded criteria left out:
    a figure no judge's trust can change."""

    score: Figure = None
    ci: Interval = None
    n: int = 0
    axes: dict[str, AxisFigure] = {}
    criteria: int = Field(0, description="criteria decided by code that apply to this model's cases")
    judged_criteria_left_out: int = Field(0, description="judge-graded criteria not in this figure")
