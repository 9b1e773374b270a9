"""`gemini` kind: Google's official `google-genai` SDK, the Gemini API's streamed generateContent.

models.yaml:
    gemini-flash:
      kind: gemini
      model: gemini-2.5-flash
      prices: {input_per_mtok: 0.30, output_per_mtok: 2.50}

The key comes from the environment as the SDK reads it: GOOGLE_API_KEY, else GEMINI_API_KEY (`api_key_env`
names another variable). The client talks to the Gemini Developer API, never Vertex AI, whatever
GOOGLE_GENAI_USE_VERTEXAI says, so that the endpoint in the fingerprint is the one that answers.

System (and "developer") messages become the system instruction; assistant turns are the "model" role.
Structured output uses the API's own JSON-schema option (`response_mime_type: application/json` with
`response_json_schema`). There is no repeat penalty; the seed is sent.

Thinking models (2.5 and later) think before they answer: their thought tokens are billed as output, so
`output_tokens` and the cost include them, while `tokens_per_s` counts only the answer's tokens, the ones that
streamed between the first piece and the end. `thinking_budget` caps the thinking (0 turns it off where the
model allows).
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from ..errors import AdapterError
from ._api import ApiAdapter
from ._retry import ApiOptions, EnvName, TransientError, transport_errors
from .base import Completion, GenerationSettings, Message, StreamClock, decode_rate

DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"
KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")  # the SDK's own order

FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}


class GeminiOptions(ApiOptions):
    api_key_env: EnvName | None = None  # None: GOOGLE_API_KEY, else GEMINI_API_KEY
    api_version: str | None = None  # None: the SDK's default ("v1"); "v1beta" for preview features
    thinking_budget: int | None = None


def split_contents(messages: list[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    system = [m["content"] for m in messages if m["role"] in ("system", "developer")]
    contents = [{"role": "model" if m["role"] == "assistant" else "user", "parts": [{"text": m["content"]}]}
                for m in messages if m["role"] not in ("system", "developer")]
    return ("\n\n".join(system) if system else None), contents


def request_params(options: GeminiOptions, messages: list[Message], settings: GenerationSettings,
                   json_schema: dict[str, Any] | None) -> dict[str, Any]:
    """The arguments of `generate_content_stream`, with the config as a plain dict (the SDK validates it)."""
    system, contents = split_contents(messages)
    config: dict[str, Any] = {
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "seed": settings.seed,
        "max_output_tokens": settings.max_tokens,
    }
    if system:
        config["system_instruction"] = system
    if settings.stop:
        config["stop_sequences"] = list(settings.stop)
    if json_schema is not None:
        config["response_mime_type"] = "application/json"
        config["response_json_schema"] = json_schema
    if options.thinking_budget is not None:
        config["thinking_config"] = {"thinking_budget": options.thinking_budget}
    return {"model": options.model, "contents": contents, "config": config}


def key_from_env(env_name: str | None) -> str:
    names = (env_name,) if env_name else KEY_VARIABLES
    for name in names:
        key = os.environ.get(name, "").strip()
        if key:
            return key
    raise AdapterError(f"no API key: set the environment variable {' or '.join(names)} "
                       f"(or name another one with 'api_key_env' in models.yaml)")


class GeminiAdapter(ApiAdapter):
    Options = GeminiOptions
    local = False
    structured = "json_schema"
    provider = "gemini"
    sdk = "google.genai"
    default_endpoint = DEFAULT_ENDPOINT

    def _api_key(self) -> str:
        # A custom base_url (a proxy, a test server) still gets a key: the SDK refuses to start without one.
        return key_from_env(self.options.api_key_env)

    def _secret(self) -> str | None:
        inner = getattr(self._client, "_api_client", None)
        return getattr(inner, "api_key", None)

    def _key_hint(self) -> str:
        names = (self.options.api_key_env,) if self.options.api_key_env else KEY_VARIABLES
        return "the environment variable " + " or ".join(names)

    def _make_client(self, module, key: str):
        http_options: dict[str, Any] = {"timeout": int(self.options.timeout_s * 1000)}
        if self.options.base_url:
            http_options["base_url"] = self.options.base_url
        if self.options.api_version:
            http_options["api_version"] = self.options.api_version
        # No retry_options: the SDK then makes one attempt, and ours are the only retries.
        return module.Client(api_key=key, vertexai=False, http_options=http_options)

    def _params(self, messages, settings, json_schema) -> dict[str, Any]:
        return request_params(self.options, messages, settings, json_schema)

    def _attempt(self, client, params: dict[str, Any], structured: bool) -> Completion:
        from google.genai import errors

        dropped = transport_errors()
        clock = StreamClock().start()
        usage = None
        finish = None
        blocked = None
        try:
            for chunk in client.models.generate_content_stream(**params):
                usage = chunk.usage_metadata or usage
                feedback = chunk.prompt_feedback
                if feedback is not None and feedback.block_reason:
                    blocked = _name(feedback.block_reason)
                for candidate in chunk.candidates or ():
                    content = candidate.content
                    for part in (content.parts if content is not None and content.parts else ()):
                        if part.text and not part.thought:
                            clock.piece(part.text)
                    if candidate.finish_reason:
                        finish = _name(candidate.finish_reason)
        except errors.APIError as exc:
            raise self._translate(exc) from None
        except errors.UnknownApiResponseError as exc:  # a chunk cut in the middle of its JSON
            raise TransientError(f"unreadable stream: {self._clean(str(exc))}") from None
        except dropped as exc:
            if "Timeout" in type(exc).__name__:
                raise TransientError(f"timed out after {self.options.timeout_s:g}s") from None
            raise TransientError(f"connection dropped: {type(exc).__name__}: {self._clean(str(exc))}") from None
        if blocked is not None and finish is None:
            # The prompt itself was refused: a recorded failure for this case, no retry changes it.
            return Completion.failed(f"{self.model_id}: the prompt was blocked by the API ({blocked})",
                                     latency_s=time.perf_counter() - clock.started)
        if finish is None:
            raise TransientError("the stream ended before the answer was finished")
        input_tokens, output_tokens, answer_tokens = token_counts(usage)
        completion = clock.finish(input_tokens=input_tokens, output_tokens=output_tokens,
                                  finish_reason=FINISH_REASONS.get(finish, finish.lower()), prices=self.prices)
        completion.tokens_per_s = decode_rate(answer_tokens, completion.ttft_s, completion.latency_s)
        return completion

    def _translate(self, exc) -> Exception:
        status = exc.code or 0
        server_says = self._clean(exc.message or str(exc))
        details = _details(exc)
        if status == 400 and any(d.get("reason") == "API_KEY_INVALID" for d in details):
            # The Gemini API answers a bad key with 400, not 401.
            return AdapterError(f"{self.model_id}: the API key was rejected by {self._endpoint}; "
                                f"check {self._key_hint()}")
        if status < 400:  # an error object inside a stream that started fine
            return TransientError(f"error in stream: {server_says}")
        headers = getattr(getattr(exc, "response", None), "headers", None)
        error = self._status_error(status, server_says, headers)
        if isinstance(error, TransientError) and error.retry_after is None:
            error.retry_after = retry_delay(details)
        return error


def token_counts(usage) -> tuple[int | None, int | None, int | None]:
    """(input, output billed, answer only) from the stream's usage metadata: output counts thought tokens."""
    if usage is None:
        return None, None, None
    answer = usage.candidates_token_count
    thoughts = usage.thoughts_token_count or 0
    output = None if answer is None and not thoughts else (answer or 0) + thoughts
    prompt = usage.prompt_token_count
    if prompt is not None and usage.tool_use_prompt_token_count:
        prompt += usage.tool_use_prompt_token_count
    return prompt, output, answer


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def retry_delay(details: list[dict[str, Any]]) -> float | None:
    """Google APIs say how long to wait in a RetryInfo detail ("retryDelay": "37s") rather than a header."""
    for detail in details:
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _details(exc) -> list[dict[str, Any]]:
    body = getattr(exc, "details", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        found = inner.get("details") if isinstance(inner, dict) else None
        if isinstance(found, list):
            return [d for d in found if isinstance(d, dict)]
    return []


def _name(value) -> str:
    return str(getattr(value, "value", value))
