"""`anthropic` kind: the official Anthropic SDK, Messages API, streamed.

models.yaml:
    claude-haiku:
      kind: anthropic
      model: claude-haiku-4-5
      prices: {input_per_mtok: 1.0, output_per_mtok: 5.0}

The generation settings' temperature and top_p are sent only with `send_sampling_params: true`: the
current Messages API has no sampling parameters. There is no seed.
System messages (and "developer" ones) go to the `system` field; the Messages API takes only user and
assistant turns. Structured output is a forced tool: the JSON schema becomes the tool's `input_schema`,
`tool_choice` names that tool, and the tool input the model streams (as JSON text) is the answer's text.
"""

from __future__ import annotations

from typing import Any

from ..errors import AdapterError
from ._retry import ApiOptions, EnvName, TransientError, transport_errors
from ._api import ApiAdapter
from .base import Completion, GenerationSettings, Message, StreamClock

DEFAULT_ENDPOINT = "https://api.anthropic.com"
TOOL_NAME = "respond"

# Anthropic's stop reasons, in the vocabulary the other kinds use.
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "stop", "max_tokens": "length"}

# In-stream `error` events arrive with the stream's own status (200); their type says whether to retry.
TRANSIENT_ERROR_TYPES = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})


class AnthropicOptions(ApiOptions):
    api_key_env: EnvName = "ANTHROPIC_API_KEY"
    # The current Messages API takes no sampling parameters (the SDK has none): answers come at the
    # provider's own sampling. Older models and compatible servers accept temperature/top_p; this sends them.
    send_sampling_params: bool = False


def split_system(messages: list[Message]) -> tuple[str | None, list[dict[str, str]]]:
    system = [m["content"] for m in messages if m["role"] in ("system", "developer")]
    turns = [{"role": m["role"], "content": m["content"]} for m in messages
             if m["role"] not in ("system", "developer")]
    return ("\n\n".join(system) if system else None), turns


def request_params(options: AnthropicOptions, messages: list[Message], settings: GenerationSettings,
                   json_schema: dict[str, Any] | None) -> dict[str, Any]:
    """The Messages API request body (less the stream flag), as a pure function for tests."""
    system, turns = split_system(messages)
    params: dict[str, Any] = {
        "model": options.model,
        "messages": turns,
        "max_tokens": settings.max_tokens,
    }
    if options.send_sampling_params:
        sampling: dict[str, Any] = {"temperature": settings.temperature}
        # Models that take both refuse them together; top_p goes only when it says something.
        if settings.top_p < 1.0:
            sampling["top_p"] = settings.top_p
        params["extra_body"] = sampling
    if system:
        params["system"] = system
    if settings.stop:
        params["stop_sequences"] = list(settings.stop)
    if json_schema is not None:
        params["tools"] = [{"name": TOOL_NAME, "description": "Give the answer in this structure.",
                            "input_schema": json_schema}]
        params["tool_choice"] = {"type": "tool", "name": TOOL_NAME}
    return params


class AnthropicAdapter(ApiAdapter):
    Options = AnthropicOptions
    local = False
    structured = "tool"
    provider = sdk = "anthropic"
    default_endpoint = DEFAULT_ENDPOINT
    base_url_env = "ANTHROPIC_BASE_URL"

    def _make_client(self, module, key: str):
        return module.Anthropic(api_key=key, base_url=self.base_url or DEFAULT_ENDPOINT,
                                timeout=self.options.timeout_s, max_retries=0)

    def _params(self, messages, settings, json_schema) -> dict[str, Any]:
        return request_params(self.options, messages, settings, json_schema)

    def _attempt(self, client, params: dict[str, Any], structured: bool) -> Completion:
        import anthropic

        dropped = transport_errors()
        clock = StreamClock().start()
        input_tokens = output_tokens = None
        stop_reason = None
        finished = False
        saw_tool = False
        try:
            with client.messages.create(stream=True, **params) as stream:
                for event in stream:
                    kind = event.type
                    if kind == "message_start":
                        input_tokens = prompt_tokens(event.message.usage)
                        output_tokens = event.message.usage.output_tokens
                    elif kind == "content_block_start":
                        saw_tool = saw_tool or event.content_block.type == "tool_use"
                    elif kind == "content_block_delta":
                        delta = event.delta
                        if delta.type == "text_delta" and not structured:
                            clock.piece(delta.text)
                        elif delta.type == "input_json_delta" and structured:
                            clock.piece(delta.partial_json)
                    elif kind == "message_delta":
                        stop_reason = event.delta.stop_reason or stop_reason
                        if event.usage is not None and event.usage.output_tokens is not None:
                            output_tokens = event.usage.output_tokens
                    elif kind == "message_stop":
                        finished = True
        except anthropic.APIStatusError as exc:
            raise self._translate_status(exc) from None
        except anthropic.APITimeoutError:
            raise TransientError(f"timed out after {self.options.timeout_s:g}s") from None
        except anthropic.APIConnectionError as exc:
            raise TransientError(f"connection failed: {self._clean(str(exc.__cause__ or exc))}") from None
        except dropped as exc:  # the SDK passes errors inside a stream through unwrapped
            if _is_timeout(exc):
                raise TransientError(f"timed out after {self.options.timeout_s:g}s") from None
            raise TransientError(f"connection dropped: {type(exc).__name__}: {self._clean(str(exc))}") from None
        if not finished:
            raise TransientError("the stream ended before the answer was finished")
        completion = clock.finish(input_tokens=input_tokens, output_tokens=output_tokens,
                                  finish_reason=FINISH_REASONS.get(stop_reason, stop_reason), prices=self.prices)
        if structured and saw_tool and not completion.text:
            completion.text = "{}"  # a tool called with no arguments streams no JSON at all
        return completion

    def _translate_status(self, exc) -> Exception:
        status = exc.status_code
        error_type = getattr(exc, "type", None) or _error_field(exc, "type")
        server_says = self._clean(getattr(exc, "api_message", None) or _error_field(exc, "message") or str(exc))
        where = f"{self._endpoint} (model '{self.options.model}')"
        if status < 400:  # an error event inside a stream that started fine
            if error_type in TRANSIENT_ERROR_TYPES or error_type is None:
                return TransientError(f"{error_type or 'error'} in stream: {server_says}")
            return AdapterError(f"{self.model_id}: {error_type} from {where}: {server_says}")
        return self._status_error(status, server_says, exc.response.headers)


def prompt_tokens(usage) -> int:
    """Every input token the model read: with prompt caching, the API reports cached ones apart."""
    return sum(getattr(usage, name, None) or 0
               for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))


def _error_field(exc, name: str) -> str | None:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        value = body["error"].get(name)
        return str(value) if value is not None else None
    return None


def _is_timeout(exc: BaseException) -> bool:
    return "Timeout" in type(exc).__name__
