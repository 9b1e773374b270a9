"""The input files, validated strictly: models.yaml and suites/<name>.yaml (cases: harness.cases, rubrics:
harness.rubric).

Every error names the file and the line (YAML: the line of the offending key; JSONL: the row) and the
key, and is raised as `ConfigError` (exit code 2).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, model_validator

from .adapters.base import GenerationSettings, Prices, StrictOptions
from .case_formats import check_criterion_turns, read_suite_cases
from .cases import Case
from .errors import ConfigError, from_validation, line_for
from .gates.spec import gate_key, parse_gates
from .rubric import Rubric, Strict, find_rubric, load_rubric
from .sampling import SuiteGeneration
from .shorthand import known_prefixes, shorthand_body
from .yamlfile import load_yaml

# ---------------------------------------------------------------- models.yaml

COMMON_MODEL_KEYS = ("kind", "max_concurrency", "prices", "family")


class ModelEntry(BaseModel):
    """One named model: its kind, the settings every kind shares, and the kind's own options, validated."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)
    id: str
    kind: str
    max_concurrency: int = Field(1, ge=1, le=256)
    prices: Prices | None = None
    family: str | None = None
    options: SerializeAsAny[StrictOptions] = StrictOptions()


def load_models(path: Path, *, missing_ok: bool = False) -> dict[str, ModelEntry]:
    """models.yaml: `version: 1` and `models: {id: {kind: ..., <common keys>, <kind options>}}`. With
    `missing_ok`, no file is no entries (shorthand ids need none)."""
    path = Path(path)
    if missing_ok and not path.exists():
        return {}
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'version' and 'models'", path=str(path), line=1)
    unknown = set(data) - {"version", "models"}
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError("unknown key", path=str(path), line=lines.get((key,)), key=key)
    if data.get("version") != 1:
        raise ConfigError("expected 'version: 1'", path=str(path), line=lines.get(("version",), 1), key="version")
    raw = data.get("models")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("expected a non-empty mapping of model ids", path=str(path),
                          line=lines.get(("models",), 1), key="models")
    entries: dict[str, ModelEntry] = {}
    for model_id, body in raw.items():
        at = ("models", model_id)
        if not isinstance(model_id, str):
            raise ConfigError("a model id must be text", path=str(path), line=lines.get(at), key=f"models.{model_id}")
        entries[model_id] = model_entry(model_id, body, path=str(path), lines=lines, at=at)
    return entries


def model_entry(model_id: str, body: Any, *, path: str | None, lines: dict[tuple, int], at: tuple) -> ModelEntry:
    """One entry from its body (`kind`, the common keys, the kind's options), validated: what a models.yaml
    entry and a shorthand id both become."""
    from .registry import adapter_class

    where = ".".join(map(str, at))
    if not isinstance(body, dict):
        raise ConfigError("expected a mapping", path=path, line=lines.get(at), key=where)
    if "kind" not in body:
        raise ConfigError("missing required field", path=path, line=lines.get(at), key=f"{where}.kind")
    if not isinstance(body["kind"], str):
        raise ConfigError("expected the name of a kind", path=path, line=lines.get(at + ("kind",)), key=f"{where}.kind")
    cls = adapter_class(body["kind"], path=path, line=lines.get(at + ("kind",)), key=f"{where}.kind")
    fields = {k: v for k, v in body.items() if k in COMMON_MODEL_KEYS}
    try:
        options = cls.Options.model_validate({k: v for k, v in body.items() if k not in COMMON_MODEL_KEYS})
        return ModelEntry.model_validate({"id": model_id, **fields, "options": options})
    except ValidationError as exc:
        raise from_validation(exc, path, lines=lines, prefix=at) from None


def resolve_model(model_id: str, models: dict[str, ModelEntry], *, source: str = "models.yaml", role: str = "model",
                  path: str | None = None, line: int | None = None, key: str | None = None) -> ModelEntry:
    """The entry an id names: the models file's own entry when it has one, else a shorthand id's default entry
    (harness.shorthand); anything else is a ConfigError at `path`/`line`/`key`."""
    if model_id in models:
        return models[model_id]
    body = shorthand_body(model_id, key=key, path=path, line=line)
    if body is None:
        raise ConfigError(f"{role} '{model_id}' is not in {source} (known: {', '.join(sorted(models)) or 'none'}) "
                          f"and is no shorthand id ({known_prefixes()} + a name)", path=path, line=line, key=key)
    return model_entry(model_id, body, path=path, lines={}, at=(key or model_id,))


# ---------------------------------------------------------------- suites

Mode = Literal["rank", "pairwise", "score"]


class CorruptionRule(Strict):
    """A suite's own way to make a known-worse twin of a reference answer, for the judge's exam: exactly one of
    `remove` (a regex whose matches are cut), `replace` ({pattern, with}), `append`, `prepend`, or
    `reorder_sections` (these headings' sections put in another order). It applies to a case when it changes
    the reference (and the case has one of `applies_to`'s tags, when given)."""

    name: str
    applies_to: list[str] | None = None
    remove: str | None = None
    replace: dict[Literal["pattern", "with"], str] | None = None
    append: str | None = None
    prepend: str | None = None
    reorder_sections: list[str] | None = None

    @model_validator(mode="after")
    def _one_rule(self):
        given = [k for k in ("remove", "replace", "append", "prepend", "reorder_sections") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of remove, replace, append, prepend, reorder_sections (got {given})")
        for pattern in ([self.remove] if self.remove else []) + ([self.replace.get("pattern", "")] if self.replace else []):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
        if self.replace is not None and set(self.replace) != {"pattern", "with"}:
            raise ValueError("replace needs 'pattern' and 'with'")
        return self


class ExamSettings(Strict):
    # Known-answer pairs (a case's reference against a worse twin of it), each judged in both orders before the
    # judge's verdicts count. 24 pairs add about 48 judge calls to a run; 0 turns the exam off (and gates that
    # rest on the judge then fail: its correctness is not established).
    pairs: int = Field(24, ge=0, le=10000)
    min_accuracy: float = Field(0.75, gt=0, le=1)  # the accuracy interval's lower bound must reach it
    seed: int = 7
    corruptions: list[CorruptionRule] = []


class JudgingSettings(Strict):
    # rank (every answer of a case in one call), pairwise (each pair, or each model against `baseline`), score
    # (each answer alone, 1-10 per axis and overall), or a list: [rank, score] asks for both.
    mode: Mode | list[Mode] = "rank"
    # Rank mode: at least this many orders per case, and never fewer than the answers shown, so that every
    # answer is shown in every position (rotations); pairwise always judges both orders.
    orders: int = Field(2, ge=2, le=12)
    baseline: str | None = None  # pairwise: compare each model only against this one
    # Cases used to test obedience to instructions planted in answers (0: off, and the judge is then not
    # trusted); 13 cases give 26 paired trials, the fewest that can bound the lift under 0.1.
    adversarial: int = Field(13, ge=0, le=1000)
    seed: int = 1234
    max_retries: int = Field(2, ge=0, le=10)
    grade_criteria: bool = True  # judge-graded rubric criteria (those without a check)
    reference: bool = True  # show a case's reference answer in every judge prompt (labelled as a reference)
    rationale: bool = True  # every verdict comes with a short reason, written before it
    # Pairwise: "ranking" (which of the two is better) or "graded", Arena-Hard's five levels (A>>B, A>B, A=B,
    # B>A, B>>A): a strong or a slight preference, or a tie.
    verdict: Literal["ranking", "graded"] = "ranking"
    # Graded: how many games a strong preference counts as in win rates (Arena-Hard's published convention is
    # 3); 1 counts a strong and a slight preference the same.
    strong_weight: float = Field(1.0, ge=1, le=10)

    @model_validator(mode="after")
    def _modes(self):
        modes = self.modes
        if len(set(modes)) != len(modes) or ("rank" in modes and "pairwise" in modes):
            raise ValueError("mode: rank and pairwise exclude each other; score combines with either")
        if self.verdict == "graded" and self.comparison != "pairwise":
            raise ValueError("verdict: graded needs mode: pairwise (a graded verdict compares two answers)")
        if self.strong_weight != 1 and self.verdict != "graded":
            raise ValueError("strong_weight needs verdict: graded (only a graded verdict has a strength)")
        return self

    @property
    def modes(self) -> list[str]:
        return [self.mode] if isinstance(self.mode, str) else list(self.mode)

    @property
    def comparison(self) -> str | None:
        """The comparative mode (rank or pairwise), if the run asks for one."""
        return next((m for m in self.modes if m in ("rank", "pairwise")), None)


class ScoringSettings(Strict):
    # What an unanswered case counts as in a model's own score: 0 (the default), or left out. Comparisons
    # between models always use the cases every compared model answered and that were fully graded.
    missing: Literal["zero", "exclude"] = "zero"
    # What an answer flagged by code scores (harness.flags): zero (meets no criterion) or keep (graded as is).
    flagged: dict[Literal["empty", "truncated", "repetition", "prompt_echo", "wrong_language"],
                  Literal["zero", "keep"]] = {}


class FidelitySettings(Strict):
    """Token-level fidelity of the run's models against a reference (harness.fidelity), after the answers: KL
    divergence, top-1 agreement and perplexity, teacher-forced on `texts`: "suite" (the run's cases with their
    reference answers), a chat JSONL file, or another suite."""

    reference: str  # a models.yaml id that gives logits (gguf, hf, lora, qat); need not answer in the run
    texts: str = "suite"
    limit: int | None = Field(None, ge=1)  # only the first N texts
    models: list[str] | None = None  # the candidates (default: every other model of the run)
    references: dict[str, str] = {}  # candidate -> its own reference (an export against its parent)


class Suite(Strict):
    name: str
    version: int | str
    description: str = ""
    rubric: str | None = None
    cases: str  # a JSONL file beside the suite (or a path relative to it)
    case_format: Literal["bench", "healthbench", "ifeval", "mtbench", "arena-hard", "alpaca-eval"] = "bench"
    references: str | None = None  # mtbench: reference answers per turn (a file beside the suite)
    models: list[str] = Field(min_length=1)
    judge: str | list[str] | None = None  # one model id, or a panel
    system_prompt: str | None = None
    judge_guidance: str | None = None  # one line for the ranking judge: what a good answer does
    generation: SuiteGeneration = SuiteGeneration()  # with `samples`: repeats (harness.sampling)
    judge_generation: GenerationSettings = GenerationSettings(max_tokens=128)
    judging: JudgingSettings = JudgingSettings()
    exam: ExamSettings = ExamSettings()
    labels: str | None = None  # human labels (JSONL beside the suite): the judge's agreement with them is reported
    scoring: ScoringSettings = ScoringSettings()
    gates: list[Any] = []  # parsed by harness.gates.spec when the suite is loaded
    fidelity: FidelitySettings | None = None

    def judge_ids(self) -> list[str]:
        if self.judge is None:
            return []
        return [self.judge] if isinstance(self.judge, str) else list(self.judge)


class LoadedSuite(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    suite: Suite
    path: Path
    cases: list[Case]
    rubric: Rubric | None
    gates: list[Any] = []  # the suite's gates, parsed (harness.gates.spec.Gate)


def find_suite(name_or_path: str, root: Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.exists():
        return candidate
    for base in (root / "suites", Path.cwd() / "suites"):
        for ext in (".yaml", ".yml"):
            p = base / f"{name_or_path}{ext}"
            if p.exists():
                return p
    known = ", ".join(sorted(p.stem for p in (root / "suites").glob("*.yaml")))
    raise ConfigError(f"unknown suite '{name_or_path}' (known suites: {known or 'none'})")


def load_suite(path: Path, models: dict[str, ModelEntry] | None = None, *,
               models_source: str = "models.yaml") -> LoadedSuite:
    """The suite, its cases and rubric; given `models`, every model and judge it names must resolve (an entry
    of `models_source`, or a shorthand id)."""
    path = Path(path)
    data, lines = load_yaml(path)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, str(path), lines=lines) from None
    try:
        gates = parse_gates(suite.gates, str(path))
    except ConfigError as exc:  # a bad gate stops the run before any model is called, with its line
        raise ConfigError(exc.detail, path=str(path), line=line_for(lines, gate_key(exc)), key=exc.key) from None
    if models is not None:
        _check_model_ids(suite, models, path, lines, models_source)
    cases = read_suite_cases(suite.case_format, path.parent / suite.cases, suite_path=path, lines=lines,
                             references=path.parent / suite.references if suite.references else None)
    rubric = None
    if suite.rubric:
        rubric_path = find_rubric(suite.rubric, path)
        if rubric_path is None:
            raise ConfigError(f"rubric '{suite.rubric}' not found", path=str(path), line=lines.get(("rubric",)),
                              key="rubric")
        rubric = load_rubric(rubric_path)
        for case in cases:
            for c in case.criteria:
                if c.axis not in rubric.axes:
                    raise ConfigError(f"case '{case.id}' criterion '{c.id}': axis '{c.axis}' is not in the rubric's "
                                      f"axes {rubric.axes}", path=str(path.parent / suite.cases))
        check_criterion_turns(cases, rubric, path.parent / suite.cases)
    return LoadedSuite(suite=suite, path=path, cases=cases, rubric=rubric, gates=gates)


def _check_model_ids(suite: Suite, models: dict[str, ModelEntry], path: Path, lines: dict[tuple, int],
                     source: str) -> None:
    for i, m in enumerate(suite.models):
        resolve_model(m, models, source=source, path=str(path), line=lines.get(("models", i)), key=f"models.{i}")
    for jid in suite.judge_ids():
        entry = resolve_model(jid, models, source=source, role="judge", path=str(path), line=lines.get(("judge",)),
                              key="judge")
        check_can_judge(jid, entry, path=str(path), line=lines.get(("judge",)), key="judge")
    baseline = suite.judging.baseline
    if baseline and baseline not in suite.models:
        raise ConfigError(f"baseline '{baseline}' is not one of the suite's models", path=str(path),
                          line=lines.get(("judging", "baseline")), key="judging.baseline")


def check_can_judge(judge_id: str, entry: ModelEntry, *, path: str | None = None, line: int | None = None,
                    key: str = "judge") -> None:
    """A model that answers from a file has nothing to say to a judge's prompt: it cannot judge."""
    from .registry import adapter_class

    if adapter_class(entry.kind).answers_by_case:
        raise ConfigError(f"'{judge_id}' answers from a file (kind: {entry.kind}) and cannot judge: name another "
                          "judge, or none", path=path, line=line, key=key)
