"""Text from models, servers and files is printed as it is, never read as console markup: an answer holding
`[/INST] ready` does not crash `bench models --check`, an error holding `[redacted]` keeps it, a backslash
before a bracket survives, and a model id with brackets shows in the run's header and summary."""

from __future__ import annotations

import textwrap

import pytest

from harness.cli import main
from tests.conftest import write_project
from tests.helpers.fake_openai import FakeOpenAI
from tests.helpers.http_server import LocalServer

TRICKY = r"C:\[temp] [bold]x[/bold] [/]"


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line in the captured output


def test_models_check_prints_answers_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.yaml").write_text(textwrap.dedent("""\
        version: 1
        models:
          inst:
            kind: mock
            responses: ["[/INST] ready"]
          tricky:
            kind: mock
            responses: ['C:\\[temp] [bold]x[/bold] [/]']
        """))
    assert main(["models", "--check"]) == 0
    out = capsys.readouterr().out
    assert "ok: '[/INST] ready'" in out
    assert "ok: " + repr(TRICKY) in out  # repr doubles the backslash; nothing else changes


def test_an_error_line_keeps_redacted(tmp_path, monkeypatch, capsys):
    # The server answers 400 with a message that echoes the key it was sent: the key becomes [redacted],
    # and that must reach the terminal as written.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSOLE_TEST_KEY", "sk-console-secret-1234")
    fake = FakeOpenAI(key="sk-console-secret-1234", plan=lambda prompt, attempt: "400")
    with LocalServer(fake) as server:
        (tmp_path / "models.yaml").write_text(textwrap.dedent(f"""\
            version: 1
            models:
              server:
                kind: openai
                model: m
                base_url: {server.url}/v1
                api_key_env: CONSOLE_TEST_KEY
            """))
        assert main(["models", "--check"]) == 3
    out = capsys.readouterr().out
    assert "Bad request from key [redacted]: 'messages' is malformed" in out
    assert "sk-console-secret-1234" not in out


def test_run_header_and_summary_show_ids_as_written(tmp_path, monkeypatch, capsys):
    write_project(tmp_path, n_cases=2)
    monkeypatch.chdir(tmp_path)
    models = (tmp_path / "models.yaml").read_text().replace("  good:\n", "  '[/INST]good':\n")
    (tmp_path / "models.yaml").write_text(models)
    suite = (tmp_path / "suites" / "mini.yaml").read_text().replace("models: [good, bad]", "models: ['[/INST]good', bad]")
    (tmp_path / "suites" / "mini.yaml").write_text(suite)
    assert main(["run", "mini"]) == 0
    captured = capsys.readouterr()
    assert "[/INST]good: own lane, 1 call at a time" in captured.err
    assert any(line.startswith("│ [/INST]good ") for line in captured.out.splitlines())
