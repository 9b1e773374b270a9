"""The gemini kind through the google-genai SDK against a local server that speaks the Gemini API's
streamGenerateContent: the request it sends, JSON-schema output, thought tokens, the key's two variables, and
the API's own ways of saying "wait" (RetryInfo) and "bad key" (400)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from harness.adapters.base import GenerationSettings, Prices
from harness.adapters.gemini import (GeminiAdapter, GeminiOptions, key_from_env, request_params, retry_delay,
                                     split_contents)
from harness.errors import AdapterError
from harness.registry import adapter_class
from tests.helpers.fake_gemini import FakeGemini
from tests.helpers.http_server import LocalServer

KEY = "gm-test-key"
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "My knee hurts."},
        {"role": "assistant", "content": "Since when?"}, {"role": "user", "content": "Since my run today."}]
SCHEMA = {"type": "object", "properties": {"best": {"type": "string", "enum": ["A", "B"]},
                                           "reason": {"type": "string"}}, "required": ["best"]}


@pytest.fixture
def no_keys(monkeypatch):
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def adapter_for(url: str, prices: Prices | None = None, **options) -> GeminiAdapter:
    return GeminiAdapter("gemini", GeminiOptions(model="gemini-test", base_url=url, backoff_initial_s=0.01,
                                                 **options), prices=prices)


def test_registry_options_and_fingerprint():
    assert adapter_class("gemini") is GeminiAdapter
    with pytest.raises(ValidationError):
        GeminiOptions(model="x", api_key="AIza-in-yaml")
    assert GeminiAdapter("g", GeminiOptions(model="gemini-2.5-flash")).fingerprint() == \
        "gemini:https://generativelanguage.googleapis.com:gemini-2.5-flash"


def test_roles_and_request_shape():
    system, contents = split_contents(CHAT)
    assert system == "Be brief."
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    params = request_params(GeminiOptions(model="m"), CHAT, GenerationSettings(max_tokens=50, stop=["END"], seed=3),
                            None)
    assert params["config"] == {"temperature": 0.0, "top_p": 1.0, "seed": 3, "max_output_tokens": 50,
                                "system_instruction": "Be brief.", "stop_sequences": ["END"]}
    structured = request_params(GeminiOptions(model="m", thinking_budget=0), CHAT, GenerationSettings(), SCHEMA)
    assert structured["config"]["response_mime_type"] == "application/json"
    assert structured["config"]["response_json_schema"] == SCHEMA
    assert structured["config"]["thinking_config"] == {"thinking_budget": 0}


def test_the_key_comes_from_google_api_key_then_gemini_api_key(no_keys):
    with pytest.raises(AdapterError, match="GOOGLE_API_KEY or GEMINI_API_KEY") as err:
        key_from_env(None)
    assert "\n" not in str(err.value)
    no_keys.setenv("GEMINI_API_KEY", "from-gemini")
    assert key_from_env(None) == "from-gemini"
    no_keys.setenv("GOOGLE_API_KEY", "from-google")
    assert key_from_env(None) == "from-google"  # the SDK's own order
    no_keys.setenv("MY_KEY", "mine")
    assert key_from_env("MY_KEY") == "mine"
    with pytest.raises(AdapterError, match="set the environment variable OTHER_KEY "):
        key_from_env("OTHER_KEY")


def test_the_sdk_sends_what_the_settings_say(no_keys):
    no_keys.setenv("GEMINI_API_KEY", KEY)
    with LocalServer(FakeGemini(key=KEY)) as server:
        c = adapter_for(server.url, prices=Prices(input_per_mtok=0.3, output_per_mtok=2.5)).generate(
            CHAT, GenerationSettings(max_tokens=40, temperature=0.2, stop=["END"], seed=7))
        sent = server.requests[0]
    assert sent.path.endswith("/models/gemini-test:streamGenerateContent?alt=sse")
    assert sent.headers["x-goog-api-key"] == KEY
    assert sent.body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert [c["role"] for c in sent.body["contents"]] == ["user", "model", "user"]
    assert sent.body["generationConfig"] == {"temperature": 0.2, "topP": 1.0, "seed": 7, "maxOutputTokens": 40,
                                             "stopSequences": ["END"]}
    assert c.error is None and c.text == "echo: Since my run today."
    assert (c.input_tokens, c.output_tokens) == (2 + 3 + 2 + 4, 5)
    assert c.cost_usd == pytest.approx((11 * 0.3 + 5 * 2.5) / 1e6)


def test_json_schema_output_through_the_apis_own_option(no_keys):
    no_keys.setenv("GEMINI_API_KEY", KEY)
    with LocalServer(FakeGemini(key=KEY, structured_answer={"best": "B", "reason": "safer"})) as server:
        adapter = adapter_for(server.url)
        assert adapter.structured == "json_schema"
        c = adapter.generate(CHAT, GenerationSettings(max_tokens=100), json_schema=SCHEMA)
        config = server.requests[0].body["generationConfig"]
    assert config["responseMimeType"] == "application/json" and config["responseJsonSchema"] == SCHEMA
    assert c.error is None and json.loads(c.text) == {"best": "B", "reason": "safer"}


def test_thought_tokens_are_billed_as_output_but_not_counted_in_the_decode_rate(no_keys):
    no_keys.setenv("GEMINI_API_KEY", KEY)
    with LocalServer(FakeGemini(key=KEY, thoughts=120)) as server:
        c = adapter_for(server.url, prices=Prices(input_per_mtok=0.0, output_per_mtok=2.5)).generate(
            CHAT, GenerationSettings(max_tokens=100))
    assert c.output_tokens == 5 + 120 and c.cost_usd == pytest.approx(125 * 2.5 / 1e6)
    assert c.tokens_per_s == pytest.approx((5 - 1) / (c.latency_s - c.ttft_s))


def test_a_bad_key_is_a_400_from_gemini_and_one_line_here(no_keys):
    no_keys.setenv("GEMINI_API_KEY", "gm-wrong-000")
    with LocalServer(FakeGemini(key=KEY)) as server:
        with pytest.raises(AdapterError) as err:
            adapter_for(server.url).generate(CHAT, GenerationSettings(max_tokens=8))
        assert len(server.requests) == 1
    message = str(err.value)
    assert "API key was rejected" in message and "GOOGLE_API_KEY or GEMINI_API_KEY" in message
    assert "gm-wrong-000" not in message and "\n" not in message


def test_an_unknown_model_is_a_404_message(no_keys):
    no_keys.setenv("GEMINI_API_KEY", KEY)
    with LocalServer(FakeGemini(key=KEY)) as server:
        adapter = GeminiAdapter("g", GeminiOptions(model="missing-model", base_url=server.url))
        with pytest.raises(AdapterError, match=r"not found \(404\).*missing-model"):
            adapter.generate(CHAT, GenerationSettings(max_tokens=8))


def test_retry_info_is_honoured_when_there_is_no_retry_after_header(no_keys):
    assert retry_delay([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}]) == 37.0
    assert retry_delay([{"@type": "type.googleapis.com/google.rpc.ErrorInfo"}]) is None
    no_keys.setenv("GEMINI_API_KEY", KEY)
    fake = FakeGemini(key=KEY, plan=lambda p, attempt: "429" if attempt == 1 else None, retry_delay="1s")
    with LocalServer(fake) as server:
        c = adapter_for(server.url).generate(CHAT, GenerationSettings(max_tokens=40))
        first, second = server.requests
    assert c.error is None and c.retries == 1
    assert second.received_at - first.received_at >= 1.0  # backoff alone would be 10 ms


def test_an_error_inside_the_stream_a_cut_event_and_a_503_are_retried(no_keys):
    no_keys.setenv("GEMINI_API_KEY", KEY)
    faults = ["error_chunk", "cut_json", "503"]
    fake = FakeGemini(key=KEY, plan=lambda p, attempt: faults[attempt - 1] if attempt <= 3 else None)
    with LocalServer(fake) as server:
        c = adapter_for(server.url).generate(CHAT, GenerationSettings(max_tokens=40))
        assert len(server.requests) == 4  # the SDK's own retries are off: every attempt is ours
    assert c.error is None and c.retries == 3 and c.text == "echo: Since my run today."


def test_a_blocked_prompt_is_a_recorded_failure_without_retries(no_keys):
    no_keys.setenv("GEMINI_API_KEY", KEY)
    with LocalServer(FakeGemini(key=KEY, plan=lambda p, a: "blocked")) as server:
        c = adapter_for(server.url).generate(CHAT, GenerationSettings(max_tokens=40))
        assert len(server.requests) == 1
    assert c.text == "" and c.finish_reason == "error" and "blocked by the API (SAFETY)" in c.error


def test_permission_denied_fails_at_once(no_keys):
    no_keys.setenv("GEMINI_API_KEY", KEY)
    with LocalServer(FakeGemini(key=KEY, plan=lambda p, a: "403")) as server:
        with pytest.raises(AdapterError, match=r"permission denied \(403\).*gemini-test") as err:
            adapter_for(server.url).generate(CHAT, GenerationSettings(max_tokens=8))
        assert len(server.requests) == 1
    assert "\n" not in str(err.value)
