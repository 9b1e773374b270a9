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


# ---------------------------------------------------------------- BENCH_STORE, BENCH_REPORTS_DIR, --models-file

def test_bench_store_and_reports_dir_from_the_environment_and_a_flag_wins(tmp_path, monkeypatch):
    from tests.conftest import write_project

    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BENCH_STORE", str(tmp_path / "env-store" / "b.sqlite"))
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "env-reports"))
    assert main(["run", "mini", "--quiet"]) == 0
    assert (tmp_path / "env-store" / "b.sqlite").is_file() and not (tmp_path / ".bench").exists()
    (results,) = (tmp_path / "env-reports" / "mini").glob("*/results.json")
    assert not (tmp_path / "reports").exists()
    run_id = results.parent.name
    # report, gate and compare look runs up there too; the cache command reads that store
    assert main(["report", run_id]) == 0
    assert main(["gate", run_id, "--gate", "beats:good:bad"]) in (0, 1)
    assert main(["compare", run_id, run_id]) == 0 and (tmp_path / "env-reports" / "compare").is_dir()
    assert main(["cache", "clear", "--yes"]) == 0
    # an explicit flag wins over the variable
    assert main(["run", "mini", "--quiet", "--store", "flag.sqlite", "--out", "flag-reports"]) == 0
    assert (tmp_path / "flag.sqlite").is_file() and list((tmp_path / "flag-reports" / "mini").glob("*/results.json"))


def test_a_dotenv_file_can_set_the_store(tmp_path, monkeypatch):
    from tests.conftest import write_project

    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BENCH_STORE", raising=False)
    (tmp_path / ".env").write_text("BENCH_STORE=from-dotenv.sqlite\n")
    assert main(["run", "mini", "--quiet"]) == 0
    assert (tmp_path / "from-dotenv.sqlite").is_file()
    monkeypatch.delenv("BENCH_STORE")


def test_models_file_flag_and_the_hidden_config_alias(tmp_path, monkeypatch, capsys):
    import pytest

    from harness.cli import build_parser
    from tests.conftest import write_project

    write_project(tmp_path)
    (tmp_path / "models.yaml").rename(tmp_path / "elsewhere.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "mini", "--models-file", "elsewhere.yaml", "--quiet"]) == 0
    assert main(["run", "mini", "--config", "elsewhere.yaml", "--quiet"]) == 0  # the old name still works
    assert main(["models", "--config", "elsewhere.yaml"]) == 0
    capsys.readouterr()
    for command in ("run", "models", "judge-exam"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "--models-file" in text and "--config" not in text
    args = build_parser().parse_args(["models", "--config", "a.yaml", "--models-file", "b.yaml"])
    assert str(args.models_file) == "b.yaml"  # the last one given


def test_run_help_documents_the_environment(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    assert "BENCH_STORE" in text and "BENCH_REPORTS_DIR" in text and ".env" in text
