"""The anthropic kind against a local server that speaks the Messages API's streaming events: text,
forced-tool JSON, usage, stop reasons, and the request it sends."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from harness.adapters.anthropic import TOOL_NAME, AnthropicAdapter, AnthropicOptions, request_params, split_system
from harness.adapters.base import GenerationSettings, Prices
from harness.errors import AdapterError
from harness.registry import adapter_class
from tests.helpers.fake_anthropic import FakeAnthropic
from tests.helpers.http_server import LocalServer

KEY = "sk-ant-test"
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "developer", "content": "Use SBAR."},
        {"role": "user", "content": "My knee hurts after running."}]
SCHEMA = {"type": "object", "properties": {"best": {"type": "string", "enum": ["A", "B"]},
                                           "reason": {"type": "string"}}, "required": ["best"]}


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", KEY)
    handler = FakeAnthropic(key=KEY)
    with LocalServer(handler) as server:
        yield server


def adapter_for(url: str, prices: Prices | None = None, **options) -> AnthropicAdapter:
    return AnthropicAdapter("claude", AnthropicOptions(model="claude-test", base_url=url,
                                                       api_key_env="TEST_ANTHROPIC_KEY", **options), prices=prices)


def test_registry_options_and_fingerprint():
    assert adapter_class("anthropic") is AnthropicAdapter
    with pytest.raises(ValidationError):
        AnthropicOptions(model="x", api_key="sk-in-yaml")
    assert AnthropicOptions(model="x").api_key_env == "ANTHROPIC_API_KEY"
    assert AnthropicAdapter("a", AnthropicOptions(model="claude-haiku-4-5")).fingerprint() == \
        "anthropic:https://api.anthropic.com:claude-haiku-4-5"


def test_system_and_developer_messages_go_to_the_system_field():
    system, turns = split_system(CHAT)
    assert system == "Be brief.\n\nUse SBAR."
    assert turns == [{"role": "user", "content": "My knee hurts after running."}]


def test_request_shape():
    params = request_params(AnthropicOptions(model="m"), CHAT, GenerationSettings(max_tokens=50, stop=["END"]), None)
    assert params["max_tokens"] == 50 and params["stop_sequences"] == ["END"] and params["system"]
    assert "tools" not in params and "extra_body" not in params  # no sampling parameters unless asked
    sampled = request_params(AnthropicOptions(model="m", send_sampling_params=True), CHAT,
                             GenerationSettings(temperature=0.7, top_p=0.9), None)
    assert sampled["extra_body"] == {"temperature": 0.7, "top_p": 0.9}
    forced = request_params(AnthropicOptions(model="m"), CHAT, GenerationSettings(), SCHEMA)
    assert forced["tools"][0]["input_schema"] == SCHEMA
    assert forced["tool_choice"] == {"type": "tool", "name": TOOL_NAME}


def test_streamed_text_with_usage_cost_and_timing(fake):
    c = adapter_for(fake.url, prices=Prices(input_per_mtok=1.0, output_per_mtok=5.0)).generate(
        CHAT, GenerationSettings(max_tokens=100))
    assert c.error is None and c.text == "echo: My knee hurts after running."
    sent = fake.requests[0].body
    assert sent["stream"] is True and sent["system"] == "Be brief.\n\nUse SBAR."
    assert [m["role"] for m in sent["messages"]] == ["user"]
    assert c.input_tokens == 5 + 4 and c.output_tokens == 6  # the fake counts words
    assert c.cost_usd == pytest.approx((9 * 1.0 + 6 * 5.0) / 1e6)
    assert c.finish_reason == "stop" and 0 < c.ttft_s <= c.latency_s


def test_max_tokens_stop_reason_is_length(fake):
    c = adapter_for(fake.url).generate(CHAT, GenerationSettings(max_tokens=2))
    assert c.text == "echo: My " and c.output_tokens == 2 and c.finish_reason == "length"


def test_json_schema_through_a_forced_tool(fake):
    adapter = adapter_for(fake.url)
    assert adapter.structured == "tool"
    c = adapter.generate(CHAT, GenerationSettings(max_tokens=100), json_schema=SCHEMA)
    assert c.error is None and json.loads(c.text) == {"best": "A", "reason": "clearer"}
    sent = fake.requests[0].body
    assert sent["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert sent["tools"][0]["input_schema"] == SCHEMA
    assert c.finish_reason == "stop"


def test_wrong_key_fails_at_once_with_one_line(fake, monkeypatch):
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-wrong-000")
    with pytest.raises(AdapterError) as err:
        adapter_for(fake.url).generate(CHAT, GenerationSettings(max_tokens=10))
    message = str(err.value)
    assert "401" in message and "TEST_ANTHROPIC_KEY" in message and "\n" not in message
    assert "sk-ant-wrong-000" not in message
    assert len(fake.requests) == 1  # no retry


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(AdapterError, match="set the environment variable ANTHROPIC_API_KEY"):
        AnthropicAdapter("c", AnthropicOptions(model="claude-haiku-4-5")).generate(CHAT, GenerationSettings())


def test_unknown_model_path_is_a_404_message(fake):
    adapter = AnthropicAdapter("claude", AnthropicOptions(model="claude-test", base_url=fake.url + "/wrong",
                                                          api_key_env="TEST_ANTHROPIC_KEY"))
    with pytest.raises(AdapterError, match="not found \\(404\\)"):
        adapter.generate(CHAT, GenerationSettings(max_tokens=10))
