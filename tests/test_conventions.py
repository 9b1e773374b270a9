"""Conventions users already rely on: the SDKs' base-URL variables, keys from a .env file."""

from __future__ import annotations

from harness.cli import main
from harness.config import load_models
from harness.registry import create_adapter
from tests.helpers.fake_openai import FakeOpenAI
from tests.helpers.http_server import LocalServer

MODELS = "version: 1\nmodels:\n  cloud:\n    kind: openai\n    model: gpt-test\n"


def test_openai_base_url_from_the_environment_is_honoured_when_the_entry_gives_none(tmp_path, monkeypatch):
    (tmp_path / "models.yaml").write_text(MODELS)
    handler = FakeOpenAI(key="sk-env")
    with LocalServer(handler) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
        adapter = create_adapter(load_models(tmp_path / "models.yaml")["cloud"])
        assert adapter.fingerprint() == f"openai:{server.url}/v1:gpt-test"
        assert adapter.generate([{"role": "user", "content": "hi"}], _settings()).text == "echo: hi"
        assert not adapter.local  # where it computes is the entry's `local`, never guessed from the address
    # An entry's own base_url still wins.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://elsewhere.invalid/v1")
    (tmp_path / "models.yaml").write_text(MODELS + "    base_url: http://127.0.0.1:9/v1\n")
    assert "127.0.0.1:9" in create_adapter(load_models(tmp_path / "models.yaml")["cloud"]).fingerprint()


def test_a_dotenv_file_in_the_working_directory_gives_keys(tmp_path, monkeypatch, capsys):
    import os

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BENCH_DOTENV_PROBE", raising=False)
    (tmp_path / ".env").write_text("BENCH_DOTENV_PROBE=from-dotenv\nPATH=/nowhere\n")
    (tmp_path / "models.yaml").write_text(MODELS)
    assert main(["models"]) == 0
    assert os.environ["BENCH_DOTENV_PROBE"] == "from-dotenv"
    assert os.environ["PATH"] != "/nowhere"  # a variable already set wins
    monkeypatch.delenv("BENCH_DOTENV_PROBE")


def _settings():
    from harness.adapters.base import GenerationSettings

    return GenerationSettings(max_tokens=8)
