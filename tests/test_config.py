"""Bad input: one line naming the file and the line or key, exit code 2."""

from __future__ import annotations

import json
import textwrap

import pytest

from harness.cli import main
from harness.cases import load_cases
from harness.config import load_models, load_suite
from harness.rubric import load_rubric
from harness.errors import ConfigError


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def test_models_unknown_kind_lists_known_kinds(tmp_path):
    p = write(tmp_path / "models.yaml", """\
        version: 1
        models:
          a:
            kind: gguff
            path: x.gguf
        """)
    with pytest.raises(ConfigError) as err:
        load_models(p)
    msg = str(err.value)
    assert msg.startswith(f"{p}:4: models.a.kind: unknown model kind 'gguff'")
    assert "gguf" in msg and "mock" in msg and "openai" in msg


def test_models_unknown_option_names_line_and_key(tmp_path):
    p = write(tmp_path / "models.yaml", """\
        version: 1
        models:
          m:
            kind: mock
            respnses: [hi]
        """)
    with pytest.raises(ConfigError, match=r"models\.yaml:5: models\.m\.respnses: unknown key"):
        load_models(p)


def test_models_bad_value_and_missing_kind(tmp_path):
    p = write(tmp_path / "models.yaml", """\
        version: 1
        models:
          m:
            kind: mock
            max_concurrency: 0
        """)
    with pytest.raises(ConfigError, match=r":5: models\.m\.max_concurrency"):
        load_models(p)
    p = write(tmp_path / "models.yaml", "version: 1\nmodels:\n  m:\n    family: x\n")
    with pytest.raises(ConfigError, match=r":3: models\.m\.kind: missing required field"):
        load_models(p)


def test_invalid_yaml_names_line(tmp_path):
    p = write(tmp_path / "models.yaml", "version: 1\nmodels:\n  a: [unclosed\n")
    with pytest.raises(ConfigError, match=r"models\.yaml:\d+: invalid YAML"):
        load_models(p)


def test_rubric_errors(tmp_path):
    base = """\
        name: r
        version: 1
        axes: [safety]
        criteria:
          - id: c1
            text: t
            points: {points}
            axis: {axis}
            check: {check}
        """
    p = write(tmp_path / "r.yaml", base.format(points=0, axis="safety", check="{type: word_limit, max_words: 5}"))
    with pytest.raises(ConfigError, match=r"r\.yaml:7: criteria\.0\.points: .*non-zero"):
        load_rubric(p)
    p = write(tmp_path / "r.yaml", base.format(points=1, axis="style", check="{type: word_limit, max_words: 5}"))
    with pytest.raises(ConfigError, match=r"r\.yaml:8: criteria\.0\.axis: 'style' is not one of the axes"):
        load_rubric(p)
    p = write(tmp_path / "r.yaml", base.format(points=1, axis="safety", check="{type: regex, pattern: '(('}"))
    with pytest.raises(ConfigError, match=r"r\.yaml:9: criteria\.0\.check\.pattern: invalid regex"):
        load_rubric(p)
    p = write(tmp_path / "r.yaml", base.format(points=1, axis="safety", check="{type: sections}"))
    with pytest.raises(ConfigError, match=r"criteria\.0\.check\.sections: missing required field"):
        load_rubric(p)


def test_cases_jsonl_errors_name_the_row(tmp_path):
    p = tmp_path / "c.jsonl"
    good = {"id": "a", "messages": [{"role": "user", "content": "hi"}]}
    p.write_text(json.dumps(good) + "\n" + "{not json\n")
    with pytest.raises(ConfigError, match=r"c\.jsonl:2: invalid JSON"):
        load_cases(p)
    p.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "extra": 1}) + "\n")
    with pytest.raises(ConfigError, match=r"c\.jsonl:2: extra: unknown key"):
        load_cases(p)
    p.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(ConfigError, match=r"c\.jsonl:2: id: duplicate case id 'a' \(first on line 1\)"):
        load_cases(p)
    p.write_text(json.dumps({"id": "x", "messages": [{"role": "robot", "content": "hi"}]}) + "\n")
    with pytest.raises(ConfigError, match=r"c\.jsonl:1: messages\.0\.role"):
        load_cases(p)
    p.write_text(json.dumps({"id": "x", "messages": [{"role": "user", "content": "a"},
                                                      {"role": "assistant", "content": "b"}]}) + "\n")
    with pytest.raises(ConfigError, match=r"c\.jsonl:1: .*last message must come from the user"):
        load_cases(p)


def test_suite_errors(mock_project):
    from harness.config import load_models as lm
    models = lm(mock_project.parent.parent / "models.yaml")
    text = mock_project.read_text()
    mock_project.write_text(text.replace("models: [good, bad]", "models: [good, nobody]"))
    with pytest.raises(ConfigError, match=r"mini\.yaml:6: models\.1: model 'nobody' is not in models\.yaml"):
        load_suite(mock_project, models)
    mock_project.write_text(text + "temprature: 1\n")
    with pytest.raises(ConfigError, match=r"mini\.yaml:10: temprature: unknown key"):
        load_suite(mock_project, models)


def test_cli_exit_code_2_and_one_line(mock_project, capsys):
    mock_project.write_text(mock_project.read_text().replace("models: [good, bad]", "models: [good, nobody]"))
    code = main(["run", "mini", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "mini.yaml:6" in err and "nobody" in err


def test_bad_gate_in_suite_names_line_and_key(mock_project):
    from harness.config import load_models as lm
    models = lm(mock_project.parent.parent / "models.yaml")
    text = mock_project.read_text()
    mock_project.write_text(text + "gates:\n  - type: beats\n    candidate: good\n    baseline: bad\n    alpah: 0.1\n")
    with pytest.raises(ConfigError, match=r"mini\.yaml:14: gates\.0\.alpah: unknown key"):
        load_suite(mock_project, models)
    mock_project.write_text(text + "gates:\n  - type: beats\n    candidate: good\n")
    with pytest.raises(ConfigError, match=r"mini\.yaml:11: gates\.0\.baseline: missing required field"):
        load_suite(mock_project, models)
