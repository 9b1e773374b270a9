"""Property-based: each input file type (models.yaml, a suite, a rubric, bench cases JSONL, HealthBench JSONL),
mutated at least 200 times, is either read or refused with one ConfigError line naming the file, within a
second; never a traceback. A file that is read obeys the value rules, checked here independently of the
loaders: generation settings a backend can honour (max_tokens 1..1,000,000, temperature finite and >= 0,
top_p in [0, 1], seed 0..2^32-1, repeat_penalty finite and > 0), finite non-negative prices, finite non-zero
points, and kind options without NaN, infinities or negative times.

Mutations: a value replaced (NaN, infinities, 0, -5, 2^63, wrong types, markup-like text, ...), a key
dropped or added, a node wrapped in a list; then, at the byte level, a byte-order mark, bytes that are not
UTF-8, a YAML tag, an alias bomb, deep nesting, a cut-off file, or a folder where the file should be.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cases import load_cases, load_healthbench
from harness.config import load_models, load_suite
from harness.errors import ConfigError
from harness.rubric import load_rubric
from tests.conftest import write_project

EXAMPLES = 200
REPO = Path(__file__).resolve().parent.parent

NASTY = [math.nan, math.inf, -math.inf, -5, -1, 0, 1, 2**63, -(2**63), 1e308, -0.5, 0.5, 1.5, 7, "", "nan",
         "inf", "-1", "[/INST] ready", "[redacted]", "&a", "*a", "!!python/object", None, True, False, [], {},
         [1, 2], {"x": 1}, "x" * 200]
VALUES = st.one_of(st.sampled_from(NASTY), st.integers(), st.floats(), st.text(max_size=12), st.booleans(),
                   st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=6), st.integers(), max_size=2))
BYTE_MUTATIONS = ["none"] * 14 + ["bom", "not-utf8", "tag", "alias-bomb", "deep", "cut", "folder"]
ALIAS_BOMB = "".join(f"{name}: &{name} [{', '.join(['*' + prev] * 9 if prev else ['x'] * 9)}]\n"
                     for name, prev in zip("abcdefgh", ["", *"abcdefg"]))


def _paths(node, at=()):
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, at + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, at + (i,))


def _parent(data, path):
    for step in path[:-1]:
        data = data[step]
    return data


@st.composite
def mutated_tree(draw, base):
    """1 to 3 mutations of `base`, nine in ten at a leaf value (where the value rules live). Places and nasty
    values are picked uniformly by a Random seeded from hypothesis' draw (so a failure replays): its own
    shrink-friendly draws favour the first element of a list, which would mutate the first key nearly
    every time."""
    data = copy.deepcopy(base)
    rnd = draw(st.randoms(use_true_random=True))
    for _ in range(rnd.choice([1, 1, 2, 3])):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        leaves = [p for p in paths if not isinstance(_value(data, p), (dict, list))]
        path = rnd.choice(leaves if leaves and rnd.random() < 0.9 else paths)
        parent = _parent(data, path)
        value = copy.deepcopy(rnd.choice(NASTY) if rnd.random() < 0.6 else draw(VALUES))
        operation = rnd.choice(["replace"] * 6 + ["drop", "add", "wrap"])
        if operation == "replace":
            parent[path[-1]] = value
        elif operation == "drop":
            del parent[path[-1]]
        elif operation == "add" and isinstance(parent, dict):
            parent[rnd.choice(["extra", "max_tokens", "points", "local", "prices", "seed", "temperature"])] = value
        elif operation == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
    return data


def _value(data, path):
    for step in path:
        data = data[step]
    return data


def _byte_mutation(raw: bytes, kind: str, how: str, draw) -> bytes | None:
    """None: make the path a folder."""
    if how == "none":
        return raw
    if how == "bom":
        return b"\xef\xbb\xbf" + raw
    if how == "not-utf8":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80abc"])) + raw[at:]
    if how == "cut":
        return raw[:draw(st.integers(0, len(raw)))]
    if how == "folder":
        return None
    lines = raw.split(b"\n")
    at = draw(st.integers(0, max(len(lines) - 1, 0)))
    if kind == "yaml":
        extra = {"tag": b"danger: !!python/object/apply:os.system [echo hi]",
                 "alias-bomb": ALIAS_BOMB.encode().rstrip(b"\n"),
                 "deep": b"deep: " + b"[" * 300 + b"]" * 300}[how]
        return b"\n".join(extra.split(b"\n") + lines) if draw(st.booleans()) else b"\n".join(lines[:at] + [extra] + lines[at:])
    extra = {"tag": b'{"id": "t", "value": NaN}', "alias-bomb": b'{"id": "big", "n": ' + b"9" * 5000 + b"}",
             "deep": b'{"id": "deep", "meta": {"x": ' + b"[" * 3000 + b"]" * 3000 + b"}}"}[how]
    return b"\n".join(lines[:at] + [extra] + lines[at:])


@st.composite
def mutated_file(draw, base, kind: str):
    data = draw(mutated_tree(base))
    if kind == "yaml":
        raw = yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()
    else:
        rows = data if isinstance(data, list) else [data]
        text = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n"
        if draw(st.booleans()):  # infinities as JSON numbers too large for a float, which the parser accepts
            text = text.replace("-Infinity", "-1e999").replace("Infinity", "1e999")
        raw = text.encode()
    return _byte_mutation(raw, kind, draw(st.randoms(use_true_random=True)).choice(BYTE_MUTATIONS), draw)


def _write(path: Path, raw: bytes | None) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    if raw is None:
        path.mkdir()
    else:
        path.write_bytes(raw)


def _load(loader, path: Path, names: tuple[str, ...]):
    """The loader's result, or None when it refused the file properly; anything else fails the test."""
    began = time.perf_counter()
    try:
        result = loader(path)
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message, f"not one line: {message!r}"
        assert any(name in message for name in names), f"names no file: {message!r}"
        result = None
    assert time.perf_counter() - began < 1.0, "took a second or more"
    return result


# ------------------------------------------------------------------ the value rules, checked independently

def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def assert_generation_ok(g) -> None:
    assert isinstance(g.max_tokens, int) and 1 <= g.max_tokens <= 1_000_000, g
    assert _finite(g.temperature) and g.temperature >= 0, g
    assert _finite(g.top_p) and 0 <= g.top_p <= 1, g
    assert isinstance(g.seed, int) and 0 <= g.seed <= 2**32 - 1, g
    assert _finite(g.repeat_penalty) and g.repeat_penalty > 0, g
    assert all(isinstance(s, str) for s in g.stop), g


def assert_points_ok(criteria) -> None:
    for c in criteria:
        assert _finite(c.points) and c.points != 0, c


def assert_models_ok(entries) -> None:
    for model_id, entry in entries.items():
        assert isinstance(model_id, str) and isinstance(entry.kind, str)
        assert isinstance(entry.max_concurrency, int) and 1 <= entry.max_concurrency <= 256
        if entry.prices is not None:
            for price in (entry.prices.input_per_mtok, entry.prices.output_per_mtok):
                assert _finite(price) and price >= 0, entry.prices
        for name in ("ttft_s", "latency_s", "timeout_s", "backoff_initial_s", "backoff_max_s"):
            value = getattr(entry.options, name, 0)
            assert _finite(value) and value >= 0, (name, value)


def assert_cases_ok(cases) -> None:
    assert cases and len({c.id for c in cases}) == len(cases)
    for case in cases:
        assert case.messages and case.messages[-1].role == "user"
        assert_points_ok(case.criteria)


def assert_rubric_ok(rubric) -> None:
    assert_points_ok(rubric.criteria)
    assert all(c.axis in rubric.axes for c in rubric.criteria)


# ------------------------------------------------------------------ the files

@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    suite_path = write_project(root, n_cases=3)
    suite = yaml.safe_load(suite_path.read_text())
    suite["generation"] = {"max_tokens": 64, "temperature": 0.2, "top_p": 0.9, "seed": 3, "stop": ["END"],
                           "repeat_penalty": 1.1}
    suite["judge_generation"] = {"max_tokens": 32}
    cases = [json.loads(line) for line in (root / "suites" / "mini.jsonl").read_text().splitlines()]
    cases[0]["criteria"] = [{"id": "extra", "text": "Mentions rest.", "points": 2, "axis": "safety",
                             "check": {"type": "contains", "phrases": ["rest"]}}]
    models = yaml.safe_load((root / "models.yaml").read_text())
    models["models"]["good"]["prices"] = {"input_per_mtok": 0.5, "output_per_mtok": 1.5}
    models["models"]["good"]["latency_s"] = 0.0
    models["models"]["bad"]["max_concurrency"] = 4
    health = [json.loads(line) for line in (REPO / "suites" / "healthbench-sample.jsonl").read_text().splitlines()[:2]]
    return {"root": root, "suite": suite, "cases": cases, "models": models,
            "rubric": yaml.safe_load((root / "rubrics" / "mini.yaml").read_text()), "health": health}


FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


@FUZZ
@given(data=st.data())
def test_models_yaml(project, data):
    path = project["root"] / "fuzz-models.yaml"
    _write(path, data.draw(mutated_file(project["models"], "yaml")))
    entries = _load(load_models, path, (path.name,))
    if entries is not None:
        assert_models_ok(entries)


@FUZZ
@given(data=st.data())
def test_suite_yaml(project, data):
    path = project["root"] / "suites" / "fuzz-suite.yaml"
    _write(path, data.draw(mutated_file(project["suite"], "yaml")))
    loaded = _load(load_suite, path, (path.name, "mini.jsonl", "mini.yaml"))
    if loaded is not None:
        assert_generation_ok(loaded.suite.generation)
        assert_generation_ok(loaded.suite.judge_generation)
        assert_cases_ok(loaded.cases)


@FUZZ
@given(data=st.data())
def test_rubric_yaml(project, data):
    path = project["root"] / "rubrics" / "fuzz-rubric.yaml"
    _write(path, data.draw(mutated_file(project["rubric"], "yaml")))
    rubric = _load(load_rubric, path, (path.name,))
    if rubric is not None:
        assert_rubric_ok(rubric)


@FUZZ
@given(data=st.data())
def test_cases_jsonl(project, data):
    path = project["root"] / "fuzz-cases.jsonl"
    _write(path, data.draw(mutated_file(project["cases"], "jsonl")))
    cases = _load(load_cases, path, (path.name,))
    if cases is not None:
        assert_cases_ok(cases)


@FUZZ
@given(data=st.data())
def test_healthbench_jsonl(project, data):
    path = project["root"] / "fuzz-healthbench.jsonl"
    _write(path, data.draw(mutated_file(project["health"], "jsonl")))
    cases = _load(load_healthbench, path, (path.name,))
    if cases is not None:
        assert_cases_ok(cases)


def test_the_unmutated_files_are_read(project):
    """The fuzz tests start from files that are valid: otherwise every mutation would only be refused."""
    root = project["root"]
    for name, kind in (("models", "yaml"), ("suite", "yaml"), ("rubric", "yaml")):
        (root / f"plain-{name}.yaml").write_text(yaml.safe_dump(project[name]))
    (root / "suites" / "plain-suite.yaml").write_text(yaml.safe_dump(project["suite"]))
    for name in ("cases", "health"):
        (root / f"plain-{name}.jsonl").write_text("\n".join(json.dumps(r) for r in project[name]) + "\n")
    assert_models_ok(load_models(root / "plain-models.yaml"))
    loaded = load_suite(root / "suites" / "plain-suite.yaml")
    assert_generation_ok(loaded.suite.generation)
    assert_rubric_ok(load_rubric(root / "plain-rubric.yaml"))
    assert_cases_ok(load_cases(root / "plain-cases.jsonl"))
    assert_cases_ok(load_healthbench(root / "plain-health.jsonl"))


@pytest.mark.parametrize("text, key", [
    ("generation: {temperature: .nan}", "generation.temperature"),
    ("generation: {temperature: .inf}", "generation.temperature"),
    ("generation: {temperature: -0.5}", "generation.temperature"),
    ("generation: {max_tokens: 0}", "generation.max_tokens"),
    ("generation: {max_tokens: -5}", "generation.max_tokens"),
    ("generation: {max_tokens: 9223372036854775808}", "generation.max_tokens"),
    ("generation: {top_p: 1.5}", "generation.top_p"),
    ("generation: {top_p: -0.1}", "generation.top_p"),
    ("judge_generation: {seed: -1}", "judge_generation.seed"),
])
def test_each_invalid_setting_is_one_line_with_file_line_and_key(project, text, key):
    path = project["root"] / "suites" / "rule.yaml"
    base = yaml.safe_dump({k: v for k, v in project["suite"].items() if k not in ("generation", "judge_generation")})
    path.write_text(base + text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_suite(path)
    line = len(base.splitlines()) + 1
    assert str(caught.value).startswith(f"{path}:{line}: {key}: ")


def test_an_alias_bomb_is_refused_at_once(project):
    # 9^8 = 43 million values from a 400-byte file: refused from the parser's events, before anything is built.
    path = project["root"] / "bomb.yaml"
    path.write_text("version: 1\n" + ALIAS_BOMB + "models: [*h]\n")
    began = time.perf_counter()
    with pytest.raises(ConfigError, match=r"bomb.yaml:\d+: expands to more than 100,000 values"):
        load_models(path)
    assert time.perf_counter() - began < 0.5


def test_aliases_within_the_budget_still_work(project):
    path = project["root"] / "aliases.yaml"
    path.write_text("version: 1\nmodels:\n  a: &base {kind: mock, latency_s: 0.0}\n  b: *base\n")
    assert set(load_models(path)) == {"a", "b"}


@pytest.mark.parametrize("content, message", [
    (b"version: 1\nmodels:\n  a: {kind: mock, family: \"caf\xe9\"}\n", r"x.yaml:3: not UTF-8 text \(byte 0xe9\)"),
    (b"version: 1\nmodels: !!python/object:os.system {}\n", r"x.yaml:2: YAML tag 'tag:yaml.org,2002:python/object"),
    (b"version: 1\nmodels: " + b"[" * 500 + b"]" * 500 + b"\n", r"x.yaml:2: nested more than 64 levels deep"),
    (b"version: 1\nmodels: &a [*a]\n", r"x.yaml:2: alias '\*a' inside the node it names"),
    (b"version: 1\nmodels:\n  a: {kind: mock, prices: {input_per_mtok: -1}}\n",
     r"x.yaml:3: models.a.prices.input_per_mtok: Input should be greater than or equal to 0"),
    (b"version: 1\nmodels:\n  a: {kind: mock, prices: {output_per_mtok: .nan}}\n",
     r"x.yaml:3: models.a.prices.output_per_mtok: Input should be a finite number"),
    (b"version: 1\nmodels:\n  a: {kind: [mock]}\n", r"x.yaml:3: models.a.kind: expected the name of a kind"),
    (b"version: 1\nmodels:\n  ? [a]\n  : {kind: mock}\n", r"x.yaml:3: a key must be a plain value"),
])
def test_models_yaml_problems_are_named(tmp_path, content, message):
    (tmp_path / "x.yaml").write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_models(tmp_path / "x.yaml")


def test_a_byte_order_mark_is_read_alike_in_yaml_and_jsonl(project, tmp_path):
    (tmp_path / "m.yaml").write_bytes(b"\xef\xbb\xbf" + yaml.safe_dump(project["models"]).encode())
    assert set(load_models(tmp_path / "m.yaml")) == set(project["models"]["models"])
    (tmp_path / "c.jsonl").write_bytes(b"\xef\xbb\xbf" + "\n".join(json.dumps(r) for r in project["cases"]).encode())
    assert [c.id for c in load_cases(tmp_path / "c.jsonl")] == [r["id"] for r in project["cases"]]


@pytest.mark.parametrize("row, message", [
    ('{"id": "a", "messages": [{"role": "user", "content": "hi"}], "criteria": [{"id": "x", "text": "t", '
     '"points": NaN, "axis": "a"}]}', r"c.jsonl:2: invalid JSON: NaN is not JSON"),
    ('{"id": "a", "messages": [{"role": "user", "content": "hi"}], "criteria": [{"id": "x", "text": "t", '
     '"points": 1e400, "axis": "a"}]}', r"c.jsonl:2: criteria.0.points: Input should be a finite number"),
    ('{"id": "a", "meta": ' + "[" * 100 + "]" * 100 + ', "messages": [{"role": "user", "content": "hi"}]}',
     r"c.jsonl:2: nested more than 64 levels deep"),
])
def test_cases_problems_are_named(tmp_path, row, message):
    (tmp_path / "c.jsonl").write_text('{"id": "ok", "messages": [{"role": "user", "content": "hi"}]}\n' + row + "\n")
    with pytest.raises(ConfigError, match=message):
        load_cases(tmp_path / "c.jsonl")


def test_a_folder_where_a_file_should_be(tmp_path):
    (tmp_path / "models.yaml").mkdir()
    with pytest.raises(ConfigError, match="models.yaml: is a folder; a file was expected"):
        load_models(tmp_path / "models.yaml")
    with pytest.raises(ConfigError, match="models.yaml: is a folder; a cases file was expected"):
        load_cases(tmp_path / "models.yaml")


@pytest.mark.parametrize("models_text", [
    "version: 1\n" + ALIAS_BOMB + "models: [*h]\n",
    "version: 1\nmodels:\n  good: {kind: mock, prices: {input_per_mtok: .nan}}\n",
    "\ufeffversion: 1\nmodels: !!python/object/apply:os.system [echo]\n",
])
def test_the_cli_exits_2_with_one_line_in_well_under_a_second(tmp_path, monkeypatch, capsys, models_text):
    from harness.cli import main

    write_project(tmp_path, n_cases=2)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.yaml").write_text(models_text, encoding="utf-8")
    began = time.perf_counter()
    assert main(["run", "mini"]) == 2
    assert time.perf_counter() - began < 0.5
    err = capsys.readouterr().err
    assert err.startswith("bench: error: models.yaml:") and err.count("\n") == 1
