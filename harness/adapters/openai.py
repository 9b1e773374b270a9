"""`openai` kind: the official OpenAI SDK, streaming chat completions, against OpenAI or any
OpenAI-compatible server (`base_url`: vLLM, Ollama, llama.cpp's server, llama-cpp-python's server).

models.yaml:
    gpt-4o-mini:
      kind: openai
      model: gpt-4o-mini
      prices: {input_per_mtok: 0.15, output_per_mtok: 0.6}
    smollm2-server:
      kind: openai
      model: smollm2
      base_url: http://127.0.0.1:8000/v1

Two server differences matter and have options:
- `token_param`: the length limit is sent as `max_tokens` by default, because llama-cpp-python's server
  ignores `max_completion_tokens` (asked for 16 that way, it produced 4,058). OpenAI's reasoning models
  accept only `max_completion_tokens`: set `token_param: max_completion_tokens` for those.
- `response_format_style`: JSON-schema output is asked for as `{"type": "json_object", "schema": ...}`,
  the shape llama-cpp-python's server turns into a grammar; OpenAI itself wants
  `{"type": "json_schema", "json_schema": {...}}`: set `response_format_style: json_schema`. vLLM takes
  `json_schema` too; `guided_json` (vLLM before 0.12) and `structured_outputs` (vLLM 0.12 and later) send the
  schema in vLLM's own request fields instead. vLLM ignores request fields it does not know, so a style the
  server does not speak gives unconstrained text, not an error (docs/models.md, "vLLM").

Whether the server computes on this machine's CPU is the entry's `local` setting, never a guess from the
address: `local: true` puts it in the lane in-process models share (one call at a time, never beside them);
the default runs it in a lane of its own at `max_concurrency`, wherever it is (a vLLM server on 127.0.0.1
computes on its GPU). The run header prints each model's lane and concurrency.

Token counts come from the stream's usage chunk (`stream_options.include_usage`); servers that send none
(llama-cpp-python's) get the number of streamed content chunks as the output count, one token per chunk
there, and no input count rather than a guess.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal
from urllib.parse import urlsplit

from ._retry import ApiOptions, EnvName, TransientError, transport_errors
from ._api import ApiAdapter
from .base import Completion, GenerationSettings, Message, StreamClock

DEFAULT_ENDPOINT = "https://api.openai.com/v1"


class OpenAIOptions(ApiOptions):
    api_key_env: EnvName = "OPENAI_API_KEY"
    token_param: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    response_format_style: Literal["json_object", "json_schema", "guided_json", "structured_outputs"] = "json_object"
    stream_usage: bool = True  # ask for a usage chunk; turn off for servers that reject stream_options
    # The suite's repeat_penalty, under the name the server knows it by (llama.cpp: repeat_penalty, vLLM:
    # repetition_penalty); None: not sent (OpenAI has none). llama.cpp's servers apply 1.1 when none is sent,
    # so without this the same GGUF answers differently in-process and behind its server.
    repeat_penalty_param: Literal["repeat_penalty", "repetition_penalty"] | None = None
    # The server computes on this machine's CPU: it then shares the in-process models' lane (one call at a
    # time, never beside them). Said, not guessed: a loopback base_url may well be a GPU server.
    local: bool = False


def response_format(schema: dict[str, Any], style: str) -> dict[str, Any]:
    if style == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
    return {"type": "json_object", "schema": schema}


def request_params(options: OpenAIOptions, messages: list[Message], settings: GenerationSettings,
                   json_schema: dict[str, Any] | None) -> dict[str, Any]:
    """The chat-completions request body (less the stream flag), as a pure function for tests."""
    params: dict[str, Any] = {
        "model": options.model,
        "messages": messages,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "seed": settings.seed,
        options.token_param: settings.max_tokens,
    }
    if settings.stop:
        params["stop"] = list(settings.stop)
    if options.stream_usage:
        params["stream_options"] = {"include_usage": True}
    extra_body: dict[str, Any] = {}
    if json_schema is not None and options.response_format_style == "guided_json":
        extra_body["guided_json"] = json_schema
    elif json_schema is not None and options.response_format_style == "structured_outputs":
        extra_body["structured_outputs"] = {"json": json_schema}
    elif json_schema is not None:
        params["response_format"] = response_format(json_schema, options.response_format_style)
    if options.repeat_penalty_param:
        extra_body[options.repeat_penalty_param] = settings.repeat_penalty
    if extra_body:
        params["extra_body"] = extra_body
    return params


def is_loopback(base_url: str | None) -> bool:
    host = urlsplit(base_url).hostname if base_url else None
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenAIAdapter(ApiAdapter):
    Options = OpenAIOptions
    local = False
    structured = "json_schema"
    provider = sdk = "openai"
    default_endpoint = DEFAULT_ENDPOINT
    base_url_env = "OPENAI_BASE_URL"

    def __init__(self, model_id: str, options: OpenAIOptions, prices=None, max_concurrency: int = 1,
                 family: str | None = None):
        super().__init__(model_id, options, prices, max_concurrency, family)
        self.local = options.local

    def _make_client(self, module, key: str):
        return module.OpenAI(api_key=key, base_url=self.base_url or DEFAULT_ENDPOINT,
                             timeout=self.options.timeout_s, max_retries=0)

    def _params(self, messages, settings, json_schema) -> dict[str, Any]:
        return request_params(self.options, messages, settings, json_schema)

    def _attempt(self, client, params: dict[str, Any], structured: bool = False) -> Completion:
        """One request, streamed to the end. Timing covers this attempt only: waits between attempts are
        not the model's speed (the retry count is recorded beside it).

        The body goes out as it is and the chunks come back as plain dicts (the SDK's documented `post` for
        custom requests, with its own SSE decoding, errors and timeouts): the typed `create` path spends about
        1 ms of CPU per call re-validating both, which at 64 requests in flight is what bounds the fan-out."""
        import openai

        dropped = transport_errors()
        body = {k: v for k, v in params.items() if k != "extra_body"}
        body.update(params.get("extra_body") or {})
        body["stream"] = True
        clock = StreamClock().start()
        usage = None
        finish_reason = None
        content_chunks = 0
        try:
            with client.post("/chat/completions", body=body, cast_to=object, stream=True,
                             stream_cls=openai.Stream[object]) as stream:
                for chunk in stream:
                    if not isinstance(chunk, dict):
                        continue
                    if isinstance(chunk.get("usage"), dict):
                        usage = chunk["usage"]
                    for choice in chunk.get("choices") or ():
                        delta = choice.get("delta") if isinstance(choice, dict) else None
                        text = delta.get("content") if isinstance(delta, dict) else None
                        if text:
                            content_chunks += 1
                            clock.piece(text)
                        if isinstance(choice, dict) and choice.get("finish_reason"):
                            finish_reason = choice["finish_reason"]
        except openai.APIStatusError as exc:
            raise self._translate_status(exc) from None
        except openai.APITimeoutError:
            raise TransientError(f"timed out after {self.options.timeout_s:g}s") from None
        except openai.APIConnectionError as exc:
            raise TransientError(f"connection failed: {self._describe_cause(exc)}") from None
        except openai.APIError as exc:  # an error event inside the stream
            raise TransientError(f"error in stream: {self._clean(str(exc))}") from None
        except dropped as exc:  # in case a transport error escapes the SDK's wrapping
            raise TransientError(f"connection dropped: {type(exc).__name__}: {self._clean(str(exc))}") from None
        if finish_reason is None:
            # The body ended without a finish reason: the connection was cut mid-answer.
            raise TransientError("the stream ended before the answer was finished")
        if usage is not None:
            input_tokens, output_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
        else:
            input_tokens, output_tokens = None, content_chunks
        return clock.finish(input_tokens=input_tokens, output_tokens=output_tokens,
                            finish_reason=finish_reason, prices=self.prices)

    # ------------------------------------------------------------------ errors

    def _describe_cause(self, exc: BaseException) -> str:
        cause = exc.__cause__ or exc.__context__
        detail = f"{type(cause).__name__}: {cause}" if cause else str(exc)
        return self._clean(detail)

    def _translate_status(self, exc) -> Exception:
        status = exc.status_code
        server_says = self._clean(_error_message(exc))
        headers = exc.response.headers if exc.response is not None else None
        return self._status_error(status, server_says, headers)


def _error_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if body.get("message"):
            return str(body["message"])
        if body.get("detail"):
            return str(body["detail"])
    return str(getattr(exc, "message", "") or exc)
