"""Run against run: what changed between two runs of a suite, for the models and cases they share.

Pure functions over two Results. Every difference is `new - old`, paired over the cases both runs hold and
both scored, with a paired bootstrap interval (harness.stats); a case that one run could not score is left out
of that pair and counted. What changed between the runs (suite, rubric, judge, prompts, settings, each model's
fingerprint) is listed; a change that makes the figures unlike (another rubric, judge or scoring rule) is
flagged as breaking, never hidden. `baseline_gate` turns one model's paired difference into a gate verdict.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from .records import ranks_of
from .report.formatting import compact as _f
from .report.formatting import compact_interval as _ci
from .results.model import AnswerRow, Figure, GateVerdict, Interval, Results, RunSpec

N_BOOT = 2000
SEED = 20261123
REGRESSED_LISTED = 10


class Change(BaseModel):
    what: str
    old: str | None = None
    new: str | None = None
    breaks: bool = Field(False, description="figures across this change are not like for like")


class PairedFigure(BaseModel):
    old: Figure = Field(None, description="the old run's own figure (all its cases)")
    old_ci: Interval = None
    new: Figure = None
    new_ci: Interval = None
    diff: Figure = Field(None, description="mean paired difference new - old over the shared cases")
    ci: Interval = None
    p_value: Figure = None
    n: int = Field(0, description="shared cases with a figure in both runs")
    left_out: int = Field(0, description="shared cases without a figure in one of the runs")


class CaseChange(BaseModel):
    case_id: str
    old: Figure = None
    new: Figure = None
    diff: Figure = None
    old_text: str = ""
    new_text: str = ""
    old_error: str | None = None
    new_error: str | None = None
    old_flags: list[str] = []
    new_flags: list[str] = []


class ModelChange(BaseModel):
    id: str
    changed: bool = Field(description="its fingerprint differs: another model answered")
    old_fingerprint: str | None = None
    new_fingerprint: str | None = None
    old_coverage: str = ""
    new_coverage: str = ""
    score: PairedFigure
    axes: dict[str, PairedFigure] = {}
    win_rate: PairedFigure = Field(description="per-case share of common opponents beaten (judge's rankings)")
    latency_s: PairedFigure = Field(description="per-case request time; old/new are the runs' medians")
    tokens_per_s_old: Figure = None
    tokens_per_s_new: Figure = None
    improved: int = 0
    regressed: int = 0
    regressed_cases: list[CaseChange] = []


class RunRef(BaseModel):
    run_id: str
    created_at: str | None = None
    suite: str
    suite_version: int | str | None = None
    judge: str | None = None
    cases: int = 0


class Comparison(BaseModel):
    old: RunRef
    new: RunRef
    shared_models: list[str]
    only_old_models: list[str] = []
    only_new_models: list[str] = []
    shared_cases: int = 0
    only_old_cases: int = 0
    only_new_cases: int = 0
    changes: list[Change] = []
    comparable: bool = Field(True, description="no breaking change between the runs")
    models: list[ModelChange] = []


def case_value(answer: AnswerRow | None, spec: RunSpec | None, axis: str | None = None) -> float | None:
    """One case's score (or axis score) as the run's own scoring counts it: a failed answer is 0 when the run
    scores missing answers as zero, and an answer flagged with a flag the run scores as zero is 0."""
    if answer is None:
        return None
    scoring = spec.scoring if spec else None
    if scoring and any(scoring.flagged.get(flag) == "zero" for flag in answer.flags):
        return 0.0
    value = answer.score if axis is None else answer.axes.get(axis)
    if value is None and answer.error and scoring and scoring.missing == "zero":
        return 0.0
    return value


def _win_shares(results: Results, model_id: str, opponents: set[str]) -> dict[str, float]:
    """Per case, the mean outcome of the model against the given opponents in the judge's rankings."""
    import pandas as pd

    from .stats import pairwise_outcomes

    rows = []
    for case in results.cases:
        for j in case.judgments:
            if j.ranking and not j.error:
                rep = f"{j.judge}|{j.rep}|{'|'.join(j.pair or ())}"
                rows += [{"case_id": case.id, "rep": rep, "model": m, "rank": k}
                         for m, k in ranks_of(j.ranking, j.strength).items()]
    if not rows:
        return {}
    outcomes = pairwise_outcomes(pd.DataFrame(rows))
    mine = outcomes[(outcomes["a"] == model_id) & outcomes["b"].isin(opponents)]
    return mine.groupby("case_id")["outcome"].mean().to_dict()


def _all_samples(results: Results, model_id: str) -> dict[str, list[AnswerRow]]:
    """Each case's answers of the model, every sample (one without repeats)."""
    return {c.id: [c.answers[model_id], *((c.samples or {}).get(model_id) or [])]
            for c in results.cases if model_id in c.answers}


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _paired(old_values: dict[str, float | None], new_values: dict[str, float | None], shared: list[str],
            old_figure=None, old_ci=None, new_figure=None, new_ci=None) -> PairedFigure:
    from .stats import paired_bootstrap

    both = [c for c in shared if old_values.get(c) is not None and new_values.get(c) is not None]
    figure = PairedFigure(old=old_figure, old_ci=old_ci, new=new_figure, new_ci=new_ci, n=len(both),
                          left_out=len(shared) - len(both))
    if both:
        diff, (low, high), p_value = paired_bootstrap([new_values[c] for c in both], [old_values[c] for c in both],
                                                      n_boot=N_BOOT, seed=SEED)
        figure.diff, figure.p_value = diff, p_value
        figure.ci = [low, high] if low == low and high == high else None  # NaN: too few cases for an interval
    return figure


def _coverage(results: Results, model_id: str) -> str:
    answers = [c.answers[model_id] for c in results.cases if model_id in c.answers]
    return f"{sum(1 for a in answers if not a.error)}/{len(answers)} answered" if answers else ""


def _model_change(old: Results, new: Results, model_id: str, shared: list[str], opponents: set[str]) -> ModelChange:
    old_model, new_model = old.model(model_id), new.model(model_id)
    old_cases = {c.id: c.answers.get(model_id) for c in old.cases}
    new_cases = {c.id: c.answers.get(model_id) for c in new.cases}

    old_all, new_all = _all_samples(old, model_id), _all_samples(new, model_id)

    def values(run: Results, answers: dict, axis: str | None = None) -> dict[str, float | None]:
        # With repeats a case's value is the mean over its samples, as the run's own figures take it.
        every = old_all if run is old else new_all
        return {case_id: _mean([case_value(a, run.spec, axis) for a in every.get(case_id) or [answer]])
                for case_id, answer in answers.items()}

    old_scores, new_scores = values(old, old_cases), values(new, new_cases)
    axes = {}
    for axis in dict.fromkeys([*old_model.axes, *new_model.axes]):
        o, n = old_model.axes.get(axis), new_model.axes.get(axis)
        axes[axis] = _paired(values(old, old_cases, axis), values(new, new_cases, axis), shared,
                             o.score if o else None, o.ci if o else None, n.score if n else None, n.ci if n else None)

    def latency(answers: dict) -> dict[str, float | None]:
        every = old_all if answers is old_cases else new_all
        return {c: _mean([s.latency_s if s is not None and not s.error else None for s in every.get(c) or [a]])
                for c, a in answers.items()}

    changes = []
    for case_id in shared:
        o, n = old_scores.get(case_id), new_scores.get(case_id)
        if o is not None and n is not None:
            changes.append((n - o, case_id))
    worst = sorted((c for c in changes if c[0] < 0), key=lambda c: (c[0], c[1]))[:REGRESSED_LISTED]
    listed = []
    for diff, case_id in worst:
        a, b = old_cases[case_id], new_cases[case_id]
        listed.append(CaseChange(case_id=case_id, old=old_scores[case_id], new=new_scores[case_id], diff=diff,
                                 old_text=a.text, new_text=b.text, old_error=a.error, new_error=b.error,
                                 old_flags=a.flags, new_flags=b.flags))
    return ModelChange(
        id=model_id, changed=old_model.fingerprint != new_model.fingerprint,
        old_fingerprint=old_model.fingerprint, new_fingerprint=new_model.fingerprint,
        old_coverage=_coverage(old, model_id), new_coverage=_coverage(new, model_id),
        score=_paired(old_scores, new_scores, shared, old_model.score, old_model.score_ci, new_model.score,
                      new_model.score_ci),
        axes=axes,
        win_rate=_paired(_win_shares(old, model_id, opponents), _win_shares(new, model_id, opponents), shared,
                         old_model.win_rate, old_model.win_rate_ci, new_model.win_rate, new_model.win_rate_ci),
        latency_s=_paired(latency(old_cases), latency(new_cases), shared, old_model.latency.latency_p50_s, None,
                          new_model.latency.latency_p50_s, None),
        tokens_per_s_old=old_model.latency.tokens_per_s, tokens_per_s_new=new_model.latency.tokens_per_s,
        improved=sum(1 for d, _c in changes if d > 0), regressed=sum(1 for d, _c in changes if d < 0),
        regressed_cases=listed)


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def run_changes(old: Results, new: Results) -> list[Change]:
    """Everything the two runs were asked differently, breaking changes marked."""
    old_spec, new_spec = old.spec or RunSpec(), new.spec or RunSpec()
    checks = [
        ("suite", old.suite.name, new.suite.name, True),
        ("suite version", old.suite.version, new.suite.version, False),
        ("suite settings (hash)", old.suite.hash, new.suite.hash, False),
        ("rubric", old.suite.rubric, new.suite.rubric, True),
        ("rubric version", old.suite.rubric_version, new.suite.rubric_version, True),
        ("rubric criteria", old_spec.rubric, new_spec.rubric, True),
        ("scoring rules", old_spec.scoring.model_dump(), new_spec.scoring.model_dump(), True),
        ("judge", old.judge.id, new.judge.id, True),
        ("judge fingerprint", old.judge.fingerprint, new.judge.fingerprint, True),
        ("judging settings", old_spec.judging, new_spec.judging, True),
        ("judge guidance", old_spec.judge_guidance, new_spec.judge_guidance, True),
        ("judge prompts", old.judge.prompts, new.judge.prompts, True),
        ("judge generation settings", old_spec.judge_generation, new_spec.judge_generation, True),
        ("system prompt", old_spec.system_prompt, new_spec.system_prompt, False),
        ("generation settings", old_spec.generation, new_spec.generation, False),
    ]
    changes = [Change(what=what, old=_shown(a), new=_shown(b), breaks=breaks)
               for what, a, b, breaks in checks if _shown(a) != _shown(b)]
    for model in new.models:
        before = old.model(model.id)
        if before is not None and before.fingerprint != model.fingerprint:
            changes.append(Change(what=f"model {model.id}", old=before.fingerprint, new=model.fingerprint))
    return changes


def compare_runs(old: Results, new: Results) -> Comparison:
    """The comparison of `new` against `old` over the models and cases both hold."""
    old_ids, new_ids = [m.id for m in old.models], [m.id for m in new.models]
    shared_models = [m for m in new_ids if m in old_ids]
    old_case_ids = {c.id for c in old.cases}
    shared_cases = [c.id for c in new.cases if c.id in old_case_ids]
    changes = run_changes(old, new)
    models = [_model_change(old, new, m, shared_cases, set(shared_models) - {m}) for m in shared_models]

    def ref(run: Results) -> RunRef:
        return RunRef(run_id=run.run_id, created_at=run.created_at, suite=run.suite.name,
                      suite_version=run.suite.version, judge=run.judge.id, cases=len(run.cases))

    return Comparison(old=ref(old), new=ref(new), shared_models=shared_models,
                      only_old_models=[m for m in old_ids if m not in new_ids],
                      only_new_models=[m for m in new_ids if m not in old_ids],
                      shared_cases=len(shared_cases), only_old_cases=len(old_case_ids) - len(shared_cases),
                      only_new_cases=len(new.cases) - len(shared_cases), changes=changes,
                      comparable=not any(c.breaks for c in changes), models=models)


def _rests_on_judge(run: Results, model_id: str, axis: str) -> bool:
    """True when a criterion behind the figure was graded by the judge (or could not be: unknown counts)."""
    if not run.cases:
        return True
    for case in run.cases:
        answer = case.answers.get(model_id)
        for criterion in answer.criteria if answer else []:
            if (axis == "score" or criterion.axis == axis) and criterion.source in ("judge", "error"):
                return True
    return False


def baseline_gate(new: Results, old: Results, model_id: str, *, axis: str = "score", margin: float | None = None,
                  comparison: Comparison | None = None) -> GateVerdict:
    """`model_id` in `new` against the same model in `old`: passes when the lower bound of the paired difference
    new - old (over the shared cases) is above -margin (not worse), or above 0 without a margin (better). A
    missing figure gives "error"; a breaking change between the runs, or an untrusted judge behind the figure,
    fails it."""
    kind = "not_worse" if margin is not None else "beats"
    name = f"baseline:{axis}:{model_id}"
    threshold = -margin if margin is not None else 0.0

    def verdict(outcome: str, reason: str, figure=None) -> GateVerdict:
        return GateVerdict(name=name, type=kind, figure=figure, threshold=threshold, op=">", verdict=outcome,
                           reason=reason)

    for run, which in ((new, "this run"), (old, f"the baseline run {old.run_id}")):
        if run.model(model_id) is None:
            return verdict("error", f"model '{model_id}' is not in {which}")
    comparison = comparison or compare_runs(old, new)
    change = next(m for m in comparison.models if m.id == model_id)
    figure = change.score if axis == "score" else change.axes.get(axis)
    if figure is None:
        return verdict("error", f"axis '{axis}' is not scored for '{model_id}' in either run")
    if figure.diff is None or figure.ci is None:
        return verdict("error", f"no paired interval: {figure.n} shared case(s) scored in both runs (2 needed)")
    how = (f"paired difference new - old {_f(figure.diff)} {_ci(figure.ci)} over {figure.n} shared cases"
           + (f" ({figure.left_out} left out: unscored in one run)" if figure.left_out else ""))
    failures = []
    on_judge = _rests_on_judge(new, model_id, axis) or _rests_on_judge(old, model_id, axis)
    for c in comparison.changes:
        if c.breaks and (on_judge or not c.what.startswith("judg")):
            failures.append(f"{c.what} changed between the runs ({c.old or 'none'} -> {c.new or 'none'})")
    if on_judge:
        for run in (old, new):
            audit = run.judge.audit
            if audit is None or audit.trusted is None:
                return verdict("error", f"run {run.run_id}: the figure rests on the judge and its audit gave no "
                                        "verdict", figure.ci[0])
            if not audit.trusted:
                failures.append(f"run {run.run_id}: the judge audit marks '{run.judge.id}' untrusted")
    if figure.ci[0] <= threshold:
        failures.append(f"{how}: low {_f(figure.ci[0])} not above {_f(threshold)}")
    if failures:
        return verdict("fail", "; ".join(failures), figure.ci[0])
    return verdict("pass", f"{how}: low {_f(figure.ci[0])} above {_f(threshold)}", figure.ci[0])
