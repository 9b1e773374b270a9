"""The bedrock kind through boto3 against a local server that answers ConverseStream in AWS's event-stream
framing: the framing itself (checked by botocore's parser), the request, the forced-tool JSON, the credential
chain and the region, and Bedrock's error codes."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer
from pydantic import ValidationError

from harness.adapters.base import GenerationSettings, Prices
from harness.adapters.bedrock import TOOL_NAME, BedrockAdapter, BedrockOptions, request_params, resolve_region
from harness.errors import AdapterError
from harness.registry import adapter_class
from tests.helpers.api_kinds import ACCESS_KEY_ID, BEDROCK_MODEL, SENTINEL, use_credentials
from tests.helpers.fake_bedrock import FakeBedrock, encode_message, event
from tests.helpers.http_server import LocalServer

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "My knee hurts after running."}]
SCHEMA = {"type": "object", "properties": {"best": {"type": "string"}}, "required": ["best"]}


@pytest.fixture
def aws(monkeypatch, tmp_path):
    use_credentials("bedrock", monkeypatch, tmp_path)
    return monkeypatch


def adapter_for(url: str, prices: Prices | None = None, **options) -> BedrockAdapter:
    options.setdefault("region", "us-east-1")
    return BedrockAdapter("bedrock", BedrockOptions(model=BEDROCK_MODEL, base_url=url, backoff_initial_s=0.01,
                                                    **options), prices=prices)


def test_registry_options_and_fingerprint(aws):
    assert adapter_class("bedrock") is BedrockAdapter
    with pytest.raises(ValidationError):
        BedrockOptions(model="m", aws_secret_access_key="in-yaml")  # credentials stay in the AWS chain
    adapter = BedrockAdapter("b", BedrockOptions(model=BEDROCK_MODEL, region="eu-west-1"))
    assert adapter.fingerprint() == f"bedrock:https://bedrock-runtime.eu-west-1.amazonaws.com:{BEDROCK_MODEL}"


def test_request_shape():
    params = request_params(BedrockOptions(model="m"), CHAT, GenerationSettings(max_tokens=50, stop=["END"]), None)
    assert params == {"modelId": "m", "messages": [{"role": "user", "content": [{"text": CHAT[1]["content"]}]}],
                      "system": [{"text": "Be brief."}],
                      "inferenceConfig": {"maxTokens": 50, "temperature": 0.0, "stopSequences": ["END"]}}
    nucleus = request_params(BedrockOptions(model="m", additional_request_fields={"top_k": 40}), CHAT,
                             GenerationSettings(top_p=0.9), None)
    assert nucleus["inferenceConfig"]["topP"] == 0.9 and nucleus["additionalModelRequestFields"] == {"top_k": 40}
    tool = request_params(BedrockOptions(model="m"), CHAT, GenerationSettings(), SCHEMA)
    assert tool["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"] == {"json": SCHEMA}
    assert tool["toolConfig"]["toolChoice"] == {"tool": {"name": TOOL_NAME}}
    native = request_params(BedrockOptions(model="m", structured_output="output_config"), CHAT,
                            GenerationSettings(), SCHEMA)
    fmt = native["outputConfig"]["textFormat"]
    assert fmt["type"] == "json_schema" and json.loads(fmt["structure"]["jsonSchema"]["schema"]) == SCHEMA


def test_the_region_comes_from_the_option_the_environment_or_the_profile(aws, tmp_path):
    assert resolve_region(BedrockOptions(model="m", region="ap-south-1")) == "ap-south-1"
    with pytest.raises(AdapterError, match="no AWS region") as err:
        resolve_region(BedrockOptions(model="m"))
    assert "\n" not in str(err.value)
    config = tmp_path / "aws-config"
    config.write_text("[profile bench]\nregion = eu-central-1\n")
    aws.setenv("AWS_CONFIG_FILE", str(config))
    assert resolve_region(BedrockOptions(model="m", profile="bench")) == "eu-central-1"
    aws.setenv("AWS_REGION", "us-west-2")
    assert resolve_region(BedrockOptions(model="m")) == "us-west-2"


def test_the_framing_is_what_botocore_parses_and_a_bad_crc_is_caught():
    buffer = EventStreamBuffer()
    buffer.add_data(event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hi"}}))
    message = next(iter(buffer))
    assert message.headers == {":event-type": "contentBlockDelta", ":content-type": "application/json",
                               ":message-type": "event"}
    assert json.loads(message.payload) == {"contentBlockIndex": 0, "delta": {"text": "hi"}}
    raw = bytearray(encode_message({":event-type": "messageStop"}, b'{"stopReason": "end_turn"}'))
    raw[-6] ^= 0xFF  # one payload byte changed: the message CRC no longer matches
    broken = EventStreamBuffer()
    broken.add_data(bytes(raw))
    with pytest.raises(ChecksumMismatch):
        next(iter(broken))


def test_a_signed_streamed_answer_with_usage_and_cost(aws):
    with LocalServer(FakeBedrock(access_key_id=ACCESS_KEY_ID)) as server:
        c = adapter_for(server.url, prices=Prices(input_per_mtok=0.25, output_per_mtok=1.25)).generate(
            CHAT, GenerationSettings(max_tokens=64, temperature=0.5))
        sent = server.requests[0]
        model_ids = server.handler.model_ids
    assert model_ids == [BEDROCK_MODEL]  # the id went into the path, URL-encoded, and back out intact
    assert f"Credential={ACCESS_KEY_ID}/" in sent.headers["authorization"]  # SigV4, by boto3
    assert SENTINEL not in json.dumps(sent.headers)  # the secret signs; it is never sent
    assert sent.body["inferenceConfig"] == {"maxTokens": 64, "temperature": 0.5}
    assert c.error is None and c.text == "echo: My knee hurts after running."
    assert (c.input_tokens, c.output_tokens, c.finish_reason) == (7, 6, "stop")
    assert c.cost_usd == pytest.approx((7 * 0.25 + 6 * 1.25) / 1e6)


def test_json_schema_through_a_forced_tool(aws):
    with LocalServer(FakeBedrock(access_key_id=ACCESS_KEY_ID, structured_answer={"best": "B"})) as server:
        adapter = adapter_for(server.url)
        assert adapter.structured == "tool"
        c = adapter.generate(CHAT, GenerationSettings(max_tokens=64), json_schema=SCHEMA)
        sent = server.requests[0].body
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": TOOL_NAME}}
    assert c.error is None and json.loads(c.text) == {"best": "B"} and c.finish_reason == "stop"


def test_an_exception_inside_the_stream_and_a_damaged_frame_are_retried(aws):
    faults = ["throttle_event", "bad_crc"]
    fake = FakeBedrock(access_key_id=ACCESS_KEY_ID, plan=lambda p, attempt: faults[attempt - 1] if attempt <= 2 else None)
    with LocalServer(fake) as server:
        c = adapter_for(server.url).generate(CHAT, GenerationSettings(max_tokens=64))
        assert len(server.requests) == 3  # botocore's own retries are off: every attempt is ours
    assert c.error is None and c.retries == 2 and c.text == "echo: My knee hurts after running."


def test_a_profile_from_the_aws_config_files_is_used(aws, tmp_path):
    (tmp_path / "aws-config").write_text("[profile bench]\nregion = eu-west-1\n")
    (tmp_path / "aws-credentials").write_text(
        f"[bench]\naws_access_key_id = AKIAPROFILE000000042\naws_secret_access_key = {SENTINEL}\n")
    aws.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    aws.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    with LocalServer(FakeBedrock(access_key_id="AKIAPROFILE000000042")) as server:
        adapter = BedrockAdapter("b", BedrockOptions(model=BEDROCK_MODEL, profile="bench", base_url=server.url))
        assert adapter.region == "eu-west-1"
        c = adapter.generate(CHAT, GenerationSettings(max_tokens=64))
    assert c.error is None and "AKIAPROFILE000000042" not in adapter.fingerprint()


def test_no_credentials_anywhere_is_one_line(aws):
    aws.delenv("AWS_ACCESS_KEY_ID")
    aws.delenv("AWS_SECRET_ACCESS_KEY")
    with LocalServer(FakeBedrock(access_key_id=ACCESS_KEY_ID)) as server:
        with pytest.raises(AdapterError, match="no usable AWS credentials") as err:
            adapter_for(server.url).generate(CHAT, GenerationSettings(max_tokens=8))
        assert server.requests == []
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("fault, says", [("403", r"access denied .*is model access granted"),
                                         ("404", r"not found .*model id or region is wrong")])
def test_access_and_model_errors_fail_at_once(aws, fault, says):
    with LocalServer(FakeBedrock(access_key_id=ACCESS_KEY_ID, plan=lambda p, a: fault)) as server:
        with pytest.raises(AdapterError, match=says) as err:
            adapter_for(server.url).generate(CHAT, GenerationSettings(max_tokens=8))
        assert len(server.requests) == 1
    assert "\n" not in str(err.value)
