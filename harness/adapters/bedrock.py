"""`bedrock` kind: Amazon Bedrock's Converse streaming API (`converse_stream`) through boto3.

models.yaml:
    claude-on-bedrock:
      kind: bedrock
      model: anthropic.claude-3-5-haiku-20241022-v1:0   # a model id, inference profile id or ARN
      region: us-east-1
      prices: {input_per_mtok: 0.8, output_per_mtok: 4.0}

Credentials come from the usual AWS chain (environment, `profile` or AWS_PROFILE, SSO, the instance or
container role, AWS_BEARER_TOKEN_BEDROCK); bench reads none of them itself, stores none, and names none in a
fingerprint or message. The region comes from `region`, else from the chain's configuration (AWS_REGION,
the profile); it is part of the endpoint, so the fingerprint needs it. `base_url` points boto3 at another
endpoint (a VPC endpoint, a test server).

System (and "developer") messages go to `system`. The length limit, temperature and stop sequences go in
`inferenceConfig`; top_p only when below 1 (some models refuse temperature and top_p together); there is no
seed or repeat penalty in Converse. `additional_request_fields` passes model-specific ones (top_k, ...).
Structured output is a forced tool by default (the schema is the tool's input schema, the tool input the
model streams is the answer's text), which every Converse model with tool use supports; `structured_output:
output_config` uses Converse's JSON-schema output format instead, where the model supports it.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Literal

from ..errors import AdapterError
from ._api import ApiAdapter
from ._retry import RetryOptions, TransientError, is_retryable_status, parse_retry_after, public_endpoint
from .base import Completion, GenerationSettings, Message, StreamClock

TOOL_NAME = "respond"
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "stop", "max_tokens": "length"}

# Error codes (any case, with or without "Exception") that another attempt can fix.
TRANSIENT_CODES = {"throttling", "servicequotaexceeded", "serviceunavailable", "internalserver", "modeltimeout",
                   "modelnotready", "modelstreamerror", "toomanyrequests", "requesttimeout"}
CREDENTIAL_CODES = {"unrecognizedclient", "invalidsignature", "signaturedoesnotmatch", "expiredtoken",
                    "invalidclienttokenid", "missingauthenticationtoken", "incompletesignature"}
_ACCESS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")


class BedrockOptions(RetryOptions):
    model: str
    region: str | None = None
    profile: str | None = None  # a profile name from ~/.aws/config; the credentials stay in the chain
    base_url: str | None = None
    structured_output: Literal["tool", "output_config"] = "tool"
    additional_request_fields: dict[str, Any] = {}


def split_system(messages: list[Message]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    system = [{"text": m["content"]} for m in messages if m["role"] in ("system", "developer")]
    turns = [{"role": m["role"], "content": [{"text": m["content"]}]} for m in messages
             if m["role"] not in ("system", "developer")]
    return system, turns


def request_params(options: BedrockOptions, messages: list[Message], settings: GenerationSettings,
                   json_schema: dict[str, Any] | None) -> dict[str, Any]:
    """The `converse_stream` arguments, as a pure function for tests."""
    system, turns = split_system(messages)
    inference: dict[str, Any] = {"maxTokens": settings.max_tokens, "temperature": settings.temperature}
    if settings.top_p < 1.0:
        inference["topP"] = settings.top_p
    if settings.stop:
        inference["stopSequences"] = list(settings.stop)
    params: dict[str, Any] = {"modelId": options.model, "messages": turns, "inferenceConfig": inference}
    if system:
        params["system"] = system
    if options.additional_request_fields:
        params["additionalModelRequestFields"] = dict(options.additional_request_fields)
    if json_schema is not None and options.structured_output == "tool":
        params["toolConfig"] = {
            "tools": [{"toolSpec": {"name": TOOL_NAME, "description": "Give the answer in this structure.",
                                    "inputSchema": {"json": json_schema}}}],
            "toolChoice": {"tool": {"name": TOOL_NAME}},
        }
    elif json_schema is not None:
        params["outputConfig"] = {"textFormat": {"type": "json_schema", "structure": {
            "jsonSchema": {"schema": json.dumps(json_schema), "name": "response"}}}}
    return params


def resolve_region(options: BedrockOptions) -> str:
    if options.region:
        return options.region
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(name, "").strip():
            return os.environ[name].strip()
    import botocore.session
    session = botocore.session.Session(profile=options.profile)
    region = session.get_config_variable("region")
    if not region:
        raise AdapterError("no AWS region for the bedrock kind: set 'region' in models.yaml, or AWS_REGION, "
                           "or a region in the AWS profile")
    return region


class BedrockAdapter(ApiAdapter):
    Options = BedrockOptions
    local = False
    structured = "tool"
    provider = "bedrock"
    sdk = "boto3"

    def __init__(self, model_id: str, options: BedrockOptions, prices=None, max_concurrency: int = 1,
                 family: str | None = None):
        super().__init__(model_id, options, prices, max_concurrency, family)
        self.region = resolve_region(options)
        self._endpoint = public_endpoint(options.base_url, f"https://bedrock-runtime.{self.region}.amazonaws.com")
        self.structured = "tool" if options.structured_output == "tool" else "json_schema"

    def _api_key(self) -> None:
        return None  # boto3 finds the credentials itself, when it signs the first request

    def _secret(self) -> None:
        return None

    def _key_hint(self) -> str:
        return "the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO or the role)"

    def _clean(self, text: str) -> str:
        return super()._clean(_ACCESS_KEY_ID.sub("[access key id]", text))

    def _make_client(self, module, key: None):
        from botocore.config import Config

        config = Config(retries={"total_max_attempts": 1, "mode": "standard"},  # ours are the retries
                        connect_timeout=self.options.timeout_s, read_timeout=self.options.timeout_s,
                        max_pool_connections=max(10, self.max_concurrency))
        session = module.Session(profile_name=self.options.profile)
        return session.client("bedrock-runtime", region_name=self.region, endpoint_url=self.options.base_url,
                              config=config)

    def _params(self, messages, settings, json_schema) -> dict[str, Any]:
        return request_params(self.options, messages, settings, json_schema)

    def _attempt(self, client, params: dict[str, Any], structured: bool) -> Completion:
        import botocore.exceptions as bx
        import urllib3.exceptions
        from botocore.eventstream import ParserError

        use_tool = structured and "toolConfig" in params
        clock = StreamClock().start()
        stop_reason = None
        usage: dict[str, Any] | None = None
        stream = None
        try:
            stream = client.converse_stream(**params)["stream"]
            for event in stream:
                if "contentBlockDelta" in event:
                    delta = event["contentBlockDelta"]["delta"]
                    if use_tool:
                        clock.piece((delta.get("toolUse") or {}).get("input"))
                    else:
                        clock.piece(delta.get("text"))
                elif "messageStop" in event:
                    stop_reason = event["messageStop"].get("stopReason")
                elif "metadata" in event:
                    usage = event["metadata"].get("usage")
        except bx.ClientError as exc:
            raise self._translate(exc) from None
        except (bx.NoCredentialsError, bx.PartialCredentialsError, bx.CredentialRetrievalError) as exc:
            raise AdapterError(f"{self.model_id}: no usable AWS credentials ({type(exc).__name__}); "
                               f"set {self._key_hint()}") from None
        except (bx.ReadTimeoutError, bx.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError):
            raise TransientError(f"timed out after {self.options.timeout_s:g}s") from None
        except (bx.HTTPClientError, bx.ConnectionError, bx.ResponseStreamingError, ParserError,
                urllib3.exceptions.HTTPError) as exc:  # ParserError: a frame cut short or with a bad CRC
            raise TransientError(f"connection dropped: {type(exc).__name__}: {self._clean(str(exc))}") from None
        finally:
            if stream is not None:
                stream.close()
        if stop_reason is None or usage is None:
            # Converse ends every stream with messageStop and metadata: without them the answer was cut.
            raise TransientError("the stream ended before the answer was finished")
        input_tokens = sum(usage.get(name) or 0 for name in ("inputTokens", "cacheReadInputTokens",
                                                             "cacheWriteInputTokens"))
        completion = clock.finish(input_tokens=input_tokens, output_tokens=usage.get("outputTokens"),
                                  finish_reason=FINISH_REASONS.get(stop_reason, stop_reason), prices=self.prices)
        if use_tool and stop_reason == "tool_use" and not completion.text:
            completion.text = "{}"  # a tool called with no arguments streams no JSON at all
        return completion

    def _translate(self, exc) -> Exception:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        bare = code.lower().removesuffix("exception")
        meta = exc.response.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode") or 0)
        server_says = self._clean(f"{code}: {error.get('Message') or ''}".strip(": "))
        where = f"{self._endpoint} (model '{self.options.model}')"
        if bare in TRANSIENT_CODES or (status and is_retryable_status(status)):
            return TransientError(server_says, retry_after=parse_retry_after(meta.get("HTTPHeaders")))
        if bare in CREDENTIAL_CODES:
            return AdapterError(f"{self.model_id}: AWS rejected the credentials at {self._endpoint} "
                                f"({server_says}); check {self._key_hint()}")
        if bare == "accessdenied":
            return AdapterError(f"{self.model_id}: access denied at {where}: {server_says} (is model access "
                                f"granted in this region?)")
        if bare == "resourcenotfound" or status == 404:
            return AdapterError(f"{self.model_id}: not found at {where}: the model id or region is wrong: {server_says}")
        if bare == "validation" or status == 400:
            return AdapterError(f"{self.model_id}: the request was rejected by {where}: {server_says}")
        return AdapterError(f"{self.model_id}: {server_says or 'error'} from {where}"
                            + (f" (HTTP {status})" if status else ""))
