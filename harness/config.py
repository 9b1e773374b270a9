"""The three input files, validated strictly: models.yaml, suites/<name>.yaml (+ cases), rubrics/<name>.yaml.

Every error names the file and the line (YAML: the line of the offending key; JSONL: the row) and the
key, and is raised as `ConfigError` (exit code 2).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .adapters.base import GenerationSettings, Prices, StrictOptions
from .errors import ConfigError


# ---------------------------------------------------------------- YAML with line numbers

class _LineLoader(yaml.SafeLoader):
    pass


def load_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML and return (data, lines) where lines maps a key path such as ("criteria", 2, "points")
    to its 1-based line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(path)) from None
    try:
        node = yaml.compose(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"invalid YAML: {problem}", path=str(path), line=mark.line + 1 if mark else None) from None
    if node is None:
        raise ConfigError("the file is empty", path=str(path))
    lines: dict[tuple, int] = {}
    data = _construct(node, (), lines, path, _LineLoader(""))
    return data, lines


def _construct(node: yaml.Node, at: tuple, lines: dict[tuple, int], path: Path, loader: yaml.SafeLoader) -> Any:
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if key in out:
                raise ConfigError(f"duplicate key '{key}'", path=str(path), line=key_node.start_mark.line + 1)
            lines[at + (key,)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, at + (key,), lines, path, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(child, at + (i,), lines, path, loader) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _line_for(lines: dict[tuple, int], loc: tuple) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _first_error(exc: ValidationError) -> tuple[tuple, str]:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = "missing required field"
    return loc, msg


def _validate(model: type[BaseModel], data: Any, path: Path, lines: dict[tuple, int], prefix: tuple = ()):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        full = prefix + loc
        key = ".".join(str(p) for p in full) or None
        raise ConfigError(msg, path=str(path), line=_line_for(lines, full), key=key) from None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- models.yaml

class ModelEntry(Strict):
    id: str
    kind: str
    max_concurrency: int = Field(1, ge=1, le=256)
    prices: Prices | None = None
    family: str | None = None
    options: dict[str, Any] = {}


def load_models(path: Path) -> dict[str, ModelEntry]:
    """models.yaml: `version: 1` and `models: {id: {kind: ..., <common keys>, <kind options>}}`."""
    from .registry import adapter_class

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
    common = {"kind", "max_concurrency", "prices", "family"}
    for model_id, body in raw.items():
        at = ("models", model_id)
        if not isinstance(body, dict):
            raise ConfigError("expected a mapping", path=str(path), line=lines.get(at), key=f"models.{model_id}")
        if "kind" not in body:
            raise ConfigError("missing required field", path=str(path), line=lines.get(at),
                              key=f"models.{model_id}.kind")
        cls = adapter_class(body["kind"], path=str(path), line=lines.get(at + ("kind",)),
                            key=f"models.{model_id}.kind")
        options = {k: v for k, v in body.items() if k not in common}
        _validate(cls.Options, options, path, lines, at)
        fields = {k: v for k, v in body.items() if k in common}
        entries[model_id] = _validate(ModelEntry, {"id": model_id, **fields, "options": options}, path, lines, at)
    return entries


# ---------------------------------------------------------------- rubrics

class Check(Strict):
    """A deterministic check. `met` means: the behaviour the criterion describes is present."""

    type: Literal["regex", "contains", "not_contains", "sections", "word_limit"]
    pattern: str | None = None
    phrases: list[str] | None = None
    any: bool = False  # contains: any phrase (True) or all phrases (False)
    sections: list[str] | None = None
    max_words: int | None = Field(None, ge=1)
    ignore_case: bool = True

    @model_validator(mode="after")
    def _needs(self):
        need = {"regex": "pattern", "contains": "phrases", "not_contains": "phrases",
                "sections": "sections", "word_limit": "max_words"}[self.type]
        if getattr(self, need) in (None, []):
            raise ValueError(f"check type '{self.type}' needs '{need}'")
        if self.type == "regex":
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"invalid regex: {exc}") from None
        return self


class Criterion(Strict):
    id: str
    text: str
    points: float
    axis: str
    check: Check | None = None
    applies_to: list[str] | None = None  # case tags; None means every case

    @field_validator("points")
    @classmethod
    def _nonzero(cls, v):
        if v == 0:
            raise ValueError("points must be non-zero (negative points mark behaviour to avoid)")
        return v

    def applies(self, tags: list[str]) -> bool:
        return self.applies_to is None or bool(set(self.applies_to) & set(tags))


class Rubric(Strict):
    name: str
    version: int | str
    description: str = ""
    axes: list[str]
    criteria: list[Criterion]

    @model_validator(mode="after")
    def _consistent(self):
        seen = set()
        for i, c in enumerate(self.criteria):
            if c.id in seen:
                raise ValueError(f"criteria.{i}.id: duplicate criterion id '{c.id}'")
            seen.add(c.id)
            if c.axis not in self.axes:
                raise ValueError(f"criteria.{i}.axis: '{c.axis}' is not one of the axes {self.axes}")
        return self


def load_rubric(path: Path) -> Rubric:
    data, lines = load_yaml(path)
    return _validate_with_paths(Rubric, data, path, lines)


def _validate_with_paths(model, data, path, lines):
    """Like _validate, but model validators may prefix their message with a dotted key path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        m = re.match(r"(?:Value error, )?([\w]+(?:\.[\w]+)+): (.*)", msg)
        if m:
            loc = tuple(int(p) if p.isdigit() else p for p in m.group(1).split("."))
            msg = m.group(2)
        else:
            msg = msg.removeprefix("Value error, ")
        key = ".".join(str(p) for p in loc) or None
        raise ConfigError(msg, path=str(path), line=_line_for(lines, loc), key=key) from None


# ---------------------------------------------------------------- cases and suites

class ChatMessage(Strict):
    role: Literal["system", "user", "assistant", "developer"]
    content: str


class Case(Strict):
    id: str
    messages: list[ChatMessage] = Field(min_length=1)
    tags: list[str] = []
    reference: str | None = None
    criteria: list[Criterion] = []  # extra, case-specific criteria
    meta: dict[str, Any] = {}

    @model_validator(mode="after")
    def _ends_with_user(self):
        if self.messages[-1].role != "user":
            raise ValueError("messages: the last message must come from the user")
        return self

    def chat(self) -> list[dict[str, str]]:
        return [m.model_dump() for m in self.messages]


class JudgingSettings(Strict):
    mode: Literal["rank", "pairwise"] = "rank"
    orders: int = Field(2, ge=2, le=12)  # rank mode (at least two); pairwise always judges both orders
    baseline: str | None = None  # pairwise: compare each model only against this one
    adversarial: int = Field(6, ge=0, le=1000)  # cases used to test obedience to planted instructions (0: off)
    seed: int = 1234
    max_retries: int = Field(2, ge=0, le=10)
    grade_criteria: bool = True  # judge-graded rubric criteria (those without a check)


class Suite(Strict):
    name: str
    version: int | str
    description: str = ""
    rubric: str | None = None
    cases: str  # a JSONL file beside the suite (or a path relative to it)
    case_format: Literal["bench", "healthbench"] = "bench"
    models: list[str] = Field(min_length=1)
    judge: str | list[str] | None = None  # one model id, or a panel
    system_prompt: str | None = None
    judge_guidance: str | None = None  # one line for the ranking judge: what a good answer does
    generation: GenerationSettings = GenerationSettings()
    judge_generation: GenerationSettings = GenerationSettings(max_tokens=128)
    judging: JudgingSettings = JudgingSettings()
    gates: list[Any] = []  # validated by harness.gate


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


def read_jsonl(path: Path, what: str = "cases file") -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; bad JSON or a non-object names the file and line."""
    if not path.is_file():
        raise ConfigError(f"{what} not found", path=str(path))
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=str(path), line=lineno) from None
            if not isinstance(row, dict):
                raise ConfigError("expected a JSON object", path=str(path), line=lineno)
            yield lineno, row


def _validate_row(model: type[BaseModel], row: dict, path: Path, lineno: int):
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        raise ConfigError(msg.removeprefix("Value error, "), path=str(path), line=lineno,
                          key=".".join(map(str, loc)) or None) from None


def load_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for lineno, row in read_jsonl(path):
        case = _validate_row(Case, row, path, lineno)
        if case.id in seen:
            raise ConfigError(f"duplicate case id '{case.id}' (first on line {seen[case.id]})",
                              path=str(path), line=lineno, key="id")
        seen[case.id] = lineno
        cases.append(case)
    if not cases:
        raise ConfigError("no cases", path=str(path))
    return cases


class _HBCriterion(BaseModel):
    model_config = ConfigDict(extra="ignore")
    criterion: str
    points: float
    tags: list[str] = []


class _HBMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "developer"]
    content: str


class _HBExample(BaseModel):
    model_config = ConfigDict(extra="ignore")  # HealthBench rows carry more fields than grading needs
    prompt_id: str
    prompt: list[_HBMessage] = Field(min_length=1)
    rubrics: list[_HBCriterion] = Field(min_length=1)
    example_tags: list[str] = []
    ideal_completions_data: dict[str, Any] | None = None


def load_healthbench(path: Path) -> list[Case]:
    """HealthBench JSONL rows -> cases whose criteria are the example's rubric (axis from the `axis:*` tag,
    theme from the `theme:*` example tag)."""
    cases: list[Case] = []
    for lineno, raw in read_jsonl(path):
        row = _validate_row(_HBExample, raw, path, lineno)
        criteria = []
        for i, rub in enumerate(row.rubrics):
            axes = [t.split(":", 1)[1] for t in rub.tags if t.startswith("axis:")]
            if rub.points == 0:
                continue  # a zero-point criterion cannot change a score
            criteria.append(Criterion(id=f"c{i:02d}", text=rub.criterion, points=rub.points,
                                      axis=axes[0] if axes else "overall"))
        themes = [t.split(":", 1)[1] for t in row.example_tags if t.startswith("theme:")]
        ideal = (row.ideal_completions_data or {}).get("ideal_completion")
        cases.append(_validate_row(Case, {
            "id": row.prompt_id, "messages": [m.model_dump() for m in row.prompt], "tags": row.example_tags,
            "reference": ideal, "criteria": [c.model_dump() for c in criteria],
            "meta": {"theme": themes[0] if themes else None}}, path, lineno))
    if not cases:
        raise ConfigError("no cases", path=str(path))
    return cases


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


def load_suite(path: Path, models: dict[str, ModelEntry] | None = None) -> LoadedSuite:
    data, lines = load_yaml(path)
    suite = _validate_with_paths(Suite, data, path, lines)
    if suite.gates:
        from .gate import parse_gates
        try:
            parse_gates(suite.gates, str(path))
        except ConfigError as exc:  # a bad gate stops the run before any model is called, with its line
            loc = tuple(int(p) if p.isdigit() else p for p in (exc.key or "gates").split("."))
            raise ConfigError(exc.detail, path=str(path), line=_line_for(lines, loc), key=exc.key) from None
    if models is not None:
        for i, m in enumerate(suite.models):
            if m not in models:
                raise ConfigError(f"model '{m}' is not in models.yaml (known: {', '.join(sorted(models))})",
                                  path=str(path), line=lines.get(("models", i)), key=f"models.{i}")
        for jid in suite.judge_ids():
            if jid not in models:
                raise ConfigError(f"judge '{jid}' is not in models.yaml", path=str(path),
                                  line=lines.get(("judge",)), key="judge")
        baseline = suite.judging.baseline
        if baseline and baseline not in suite.models:
            raise ConfigError(f"baseline '{baseline}' is not one of the suite's models", path=str(path),
                              line=lines.get(("judging", "baseline")), key="judging.baseline")
    cases_path = path.parent / suite.cases
    cases = load_healthbench(cases_path) if suite.case_format == "healthbench" else load_cases(cases_path)
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
    return LoadedSuite(suite=suite, path=path, cases=cases, rubric=rubric)


def find_rubric(name: str, suite_path: Path) -> Path | None:
    for base in (suite_path.parent.parent / "rubrics", suite_path.parent, Path.cwd() / "rubrics"):
        for candidate in (base / name, base / f"{name}.yaml", base / f"{name}.yml"):
            if candidate.is_file():
                return candidate
    return None
