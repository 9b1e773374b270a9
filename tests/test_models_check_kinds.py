"""`bench models --check` with a models.yaml entry of each new kind (and vLLM through the openai kind), each
pointed at its local server: one short answer per model, its fingerprint and TTFT, exit 0; a model that
cannot answer is a row with its one-line error and exit 3. models.yaml mistakes in these kinds' options are
errors with the file and line."""

from __future__ import annotations

import contextlib
import textwrap

import pytest

from harness.cli import main
from harness.config import load_models
from harness.errors import ConfigError
from tests.helpers.api_kinds import ACCESS_KEY_ID, BEDROCK_MODEL, SENTINEL, use_credentials
from tests.helpers.fake_bedrock import FakeBedrock
from tests.helpers.fake_gemini import FakeGemini
from tests.helpers.fake_ollama import DIGEST, FakeOllama
from tests.helpers.fake_vllm import FakeVLLM
from tests.helpers.http_server import LocalServer


@pytest.fixture
def servers(monkeypatch, tmp_path):
    use_credentials("bedrock", monkeypatch, tmp_path)
    monkeypatch.setenv("TEST_GEMINI_KEY", SENTINEL)
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line in the captured output
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(LocalServer(handler)) for name, handler in {
            "gemini": FakeGemini(key=SENTINEL), "ollama": FakeOllama(),
            "bedrock": FakeBedrock(access_key_id=ACCESS_KEY_ID), "vllm": FakeVLLM()}.items()}


def models_yaml(tmp_path, urls: dict[str, str], ollama_model: str = "qwen2.5:0.5b") -> str:
    path = tmp_path / "models.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        models:
          gemini-flash:
            kind: gemini
            model: gemini-test
            base_url: {urls['gemini']}
            api_key_env: TEST_GEMINI_KEY
            prices: {{input_per_mtok: 0.3, output_per_mtok: 2.5}}
          qwen-ollama:
            kind: ollama
            model: {ollama_model}
            base_url: {urls['ollama']}
            keep_alive: 5m
            options: {{top_k: 40}}
          claude-bedrock:
            kind: bedrock
            model: {BEDROCK_MODEL}
            region: us-east-1
            base_url: {urls['bedrock']}
          qwen-vllm:
            kind: openai
            model: Qwen/Qwen2.5-0.5B-Instruct
            base_url: {urls['vllm']}/v1
            response_format_style: json_schema
            repeat_penalty_param: repetition_penalty
        """))
    return str(path)


def test_models_check_asks_each_kind_and_shows_what_answers(servers, tmp_path, capsys):
    urls = {name: server.url for name, server in servers.items()}
    assert main(["models", "--check", "--config", models_yaml(tmp_path, urls)]) == 0
    out = capsys.readouterr().out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 5}
    assert set(rows) - {"id"} == {"gemini-flash", "qwen-ollama", "claude-bedrock", "qwen-vllm"}
    assert f"gemini:{urls['gemini']}:gemini-test" in rows["gemini-flash"]
    assert f"ollama:{urls['ollama']}:qwen2.5:0.5b@{DIGEST}+" in rows["qwen-ollama"]  # + the options' hash
    assert f"bedrock:{urls['bedrock']}:{BEDROCK_MODEL}" in rows["claude-bedrock"]
    assert f"openai:{urls['vllm']}/v1:Qwen/Qwen2.5-0.5B-Instruct" in rows["qwen-vllm"]
    for model_id in ("gemini-flash", "qwen-ollama", "claude-bedrock", "qwen-vllm"):
        assert "ok: 'echo: Reply with one word: rea'" in rows[model_id]  # the first 30 characters
    assert SENTINEL not in out and ACCESS_KEY_ID not in out


def test_a_model_that_cannot_answer_is_a_row_with_its_error(servers, tmp_path, capsys):
    urls = {name: server.url for name, server in servers.items()}
    assert main(["models", "--check", "--config", models_yaml(tmp_path, urls, ollama_model="mistral")]) == 3
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "qwen-ollama" in line)
    assert "error:" in row and "ollama pull mistral" in row
    assert sum("ok: 'echo: Reply" in line for line in out.splitlines()) == 3  # the others still answered


def test_option_mistakes_name_the_file_and_line(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text("version: 1\nmodels:\n  q:\n    kind: ollama\n    model: qwen2.5:0.5b\n"
                    "    options: {temperature: 0.7}\n")
    with pytest.raises(ConfigError, match=r"models.yaml:6:.*temperature.*generation settings"):
        load_models(path)
    path.write_text("version: 1\nmodels:\n  b:\n    kind: bedrock\n    model: m\n    aws_secret_access_key: x\n")
    with pytest.raises(ConfigError, match=r"models.yaml:6:.*aws_secret_access_key"):
        load_models(path)
    path.write_text("version: 1\nmodels:\n  g:\n    kind: gemini\n    model: m\n    api_key_env: AIza-pasted-key\n")
    with pytest.raises(ConfigError, match=r"models.yaml:6:.*api_key_env") as err:
        load_models(path)
    assert "AIza-pasted-key" not in str(err.value)


def test_every_example_in_the_models_doc_is_a_valid_models_yaml(tmp_path):
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "models.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", doc, re.S) if b.startswith("version: 1")]
    kinds = set()
    for i, block in enumerate(blocks):
        path = tmp_path / f"example-{i}.yaml"
        path.write_text(block)
        kinds |= {entry.kind for entry in load_models(path).values()}
    assert kinds == {"gguf", "hf", "lora", "qat", "mock", "openai", "anthropic", "gemini", "ollama", "bedrock",
                     "answers"}
