"""vLLM needs no kind of its own: the openai kind against a vLLM-style server. These tests pin down which
settings matter there (docs/models.md, "vLLM"): how the JSON schema is sent, per vLLM version; that a length
limit is always sent; the repetition penalty's name; and that usage figures come from the server."""

from __future__ import annotations

import json

import pytest
from openai import OpenAI

from harness.adapters.base import GenerationSettings
from harness.adapters.openai import OpenAIAdapter, OpenAIOptions, request_params
from harness.errors import AdapterError
from tests.helpers.fake_vllm import FakeVLLM
from tests.helpers.http_server import LocalServer

VERDICT = {"type": "object", "properties": {"better": {"type": "string", "enum": ["A", "B"]},
                                            "reason": {"type": "string"}}, "required": ["better", "reason"]}
QUESTION = [{"role": "user", "content": "Which answer is safer, A or B?"}]


def vllm_adapter(url: str, **options) -> OpenAIAdapter:
    # The recommended entry: see docs/models.md.
    options = {"model": "Qwen/Qwen2.5-0.5B-Instruct", "base_url": url + "/v1", "response_format_style": "json_schema",
               "repeat_penalty_param": "repetition_penalty", **options}
    return OpenAIAdapter("vllm", OpenAIOptions(**options))


def verdict_from(url: str, style: str) -> dict | None:
    c = vllm_adapter(url, response_format_style=style).generate(QUESTION, GenerationSettings(max_tokens=64),
                                                                json_schema=VERDICT)
    assert c.error is None  # a setting vLLM does not know is no error: it is silently ignored
    try:
        parsed = json.loads(c.text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) and set(VERDICT["required"]) <= set(parsed) else None


def test_the_schema_goes_where_the_style_says():
    options = OpenAIOptions(model="m", response_format_style="guided_json", repeat_penalty_param="repetition_penalty")
    guided = request_params(options, QUESTION, GenerationSettings(repeat_penalty=1.1), VERDICT)
    assert guided["extra_body"] == {"guided_json": VERDICT, "repetition_penalty": 1.1}
    assert "response_format" not in guided
    current = request_params(OpenAIOptions(model="m", response_format_style="structured_outputs"), QUESTION,
                             GenerationSettings(), VERDICT)
    assert current["extra_body"] == {"structured_outputs": {"json": VERDICT}}
    standard = request_params(OpenAIOptions(model="m", response_format_style="json_schema"), QUESTION,
                              GenerationSettings(), VERDICT)
    assert standard["response_format"]["json_schema"]["schema"] == VERDICT and "extra_body" not in standard


@pytest.mark.parametrize("version, works", [
    ("0.11.2", {"json_schema", "guided_json"}),
    ("0.12.0", {"json_schema", "structured_outputs"}),
])
def test_which_structured_output_setting_constrains_which_vllm(version, works):
    with LocalServer(FakeVLLM(version=version)) as server:
        got = {style: verdict_from(server.url, style)
               for style in ("json_schema", "guided_json", "structured_outputs", "json_object")}
    assert {style for style, verdict in got.items() if verdict is not None} == works
    assert got["json_schema"] == {"better": "A", "reason": "safer"}  # the one setting right for every version


def test_the_length_limit_is_always_sent_and_honoured():
    with LocalServer(FakeVLLM()) as server:
        c = vllm_adapter(server.url).generate(QUESTION, GenerationSettings(max_tokens=3))
        sent = server.handler.seen[0]
        # What a request without a limit gets from vLLM: an answer that runs to the end of the context.
        raw = OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
        unbounded = raw.chat.completions.create(model="m", messages=QUESTION, stream=True,
                                                stream_options={"include_usage": True})
        usage = [chunk.usage for chunk in unbounded if chunk.usage is not None][0]
    assert sent["max_tokens"] == 3 and "max_completion_tokens" not in sent
    assert c.output_tokens == 3 and c.finish_reason == "length" and c.text == "echo: Which answer "
    assert usage.completion_tokens == 2048 - 7  # max_model_len minus the prompt


def test_the_repetition_penalty_and_usage():
    with LocalServer(FakeVLLM()) as server:
        c = vllm_adapter(server.url).generate(QUESTION, GenerationSettings(max_tokens=64, repeat_penalty=1.0))
        sent = server.handler.seen[0]
    # Without it, recent vLLM releases apply the penalty in the model's generation_config.json (above 1 for
    # Qwen2.5), not bench's 1.0.
    assert sent["repetition_penalty"] == 1.0 and "repeat_penalty" not in sent
    assert sent["stream_options"] == {"include_usage": True}
    assert (c.input_tokens, c.output_tokens, c.finish_reason) == (7, 8, "stop")


def test_a_prompt_past_max_model_len_is_one_line():
    with LocalServer(FakeVLLM(max_model_len=32)) as server:
        with pytest.raises(AdapterError) as err:
            vllm_adapter(server.url).generate(QUESTION, GenerationSettings(max_tokens=64))
        assert len(server.handler.seen) == 1
    message = str(err.value)
    assert "rejected (400)" in message and "maximum context length is 32 tokens" in message and "\n" not in message


def test_a_server_started_with_an_api_key(monkeypatch):
    monkeypatch.setenv("VLLM_KEY", "vllm-secret-123")
    with LocalServer(FakeVLLM(api_key="vllm-secret-123")) as server:
        c = vllm_adapter(server.url, api_key_env="VLLM_KEY").generate(QUESTION, GenerationSettings(max_tokens=4))
        monkeypatch.setenv("VLLM_KEY", "wrong")
        with pytest.raises(AdapterError, match=r"rejected \(401\).*VLLM_KEY"):
            vllm_adapter(server.url, api_key_env="VLLM_KEY").generate(QUESTION, GenerationSettings(max_tokens=4))
    assert c.error is None
