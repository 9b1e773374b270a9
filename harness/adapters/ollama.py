"""`ollama` kind: Ollama's native chat API (`/api/chat`, newline-delimited JSON, streamed), over httpx.

models.yaml:
    qwen-small:
      kind: ollama
      model: qwen2.5:0.5b
      keep_alive: 10m
      options: {top_k: 40, num_thread: 4}

Why the native API and not Ollama's OpenAI-compatible route: that route cannot set the context window, so a
long prompt is cut from the front to Ollama's default context (2048 tokens in older releases, 4096 in newer)
without a word. Here every request carries `num_ctx`:
- `num_ctx: N` in models.yaml sends N.
- Without it, the adapter sends a window that the prompt plus `max_tokens` cannot overflow: the prompt's
  UTF-8 byte count (no tokenizer makes more tokens than bytes, bar the chat template's own, allowed for by
  `TEMPLATE_ALLOWANCE` and `PER_MESSAGE_ALLOWANCE`) plus `max_tokens`, rounded up to a power of two of at
  least 4096, capped at the model's trained context (`/api/show`), and never smaller than a window this
  adapter already sent: Ollama reloads the model whenever `num_ctx` changes, and a reload inside a timed
  request would be counted as the model's latency.

The suite's generation settings go in `options` under Ollama's names (`num_predict` for max_tokens; the
repeat penalty is always sent, since Ollama applies 1.1 when none is given); `options` from models.yaml add
Ollama's other model options (top_k, min_p, num_thread, num_gpu, ...) and may not repeat the ones the suite
owns. `keep_alive` is passed as given. Structured output uses Ollama's `format` with the JSON schema.
`think` is sent when set (thinking models stream their thinking apart; only the answer is the text).

The fingerprint names the endpoint, the model and the digest Ollama reports for it (`/api/tags`), so a model
pulled again under the same name is a different model; options that change answers add a short hash.
Working that out asks the server, so the fingerprint needs Ollama to be running.

`local: true` says the server computes on this machine's CPU: it then shares the in-process models' lane
(one call at a time). Not guessed from the address: the run header prints each model's lane.
No key is needed; `api_key_env` names a variable whose value goes as a bearer token (a proxy, ollama.com).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from pydantic import Field, field_validator

from ..errors import AdapterError
from ._api import ApiAdapter
from ._retry import ApiOptions, Backoff, EnvName, TransientError, api_key_from_env, call_with_retries
from ..files import stable_hash
from .base import Completion, GenerationSettings, Message, StreamClock

DEFAULT_ENDPOINT = "http://127.0.0.1:11434"
TEMPLATE_ALLOWANCE = 256  # tokens a chat template (and a Modelfile's default system prompt) may add
PER_MESSAGE_ALLOWANCE = 16  # role markers around each message
SMALLEST_WINDOW = 4096

# Settings the suite owns; models.yaml `options` may not set them behind its back.
SUITE_OWNED = {"temperature": "temperature", "top_p": "top_p", "seed": "seed", "num_predict": "max_tokens",
               "stop": "stop", "repeat_penalty": "repeat_penalty", "num_ctx": "num_ctx (a key of its own)"}


class OllamaOptions(ApiOptions):
    api_key_env: EnvName | None = None
    num_ctx: int | None = Field(None, ge=256)
    keep_alive: str | int | None = None  # "10m", "1h", seconds, -1 (keep loaded), 0 (unload after)
    options: dict[str, Any] = {}
    think: bool | None = None
    local: bool = False  # the server computes on this machine's CPU (see the module's docstring)

    @field_validator("options")
    @classmethod
    def _not_the_suites(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if key in SUITE_OWNED:
                raise ValueError(f"'{key}' is set by the suite's generation settings ({SUITE_OWNED[key]}), "
                                 f"not in options")
        return value


def context_window(messages: list[Message], max_tokens: int, *, model_limit: int | None = None,
                   floor: int = 0) -> int:
    """A num_ctx the prompt plus `max_tokens` cannot overflow (see the module's docstring)."""
    prompt_bound = sum(len(m["content"].encode("utf-8")) + PER_MESSAGE_ALLOWANCE for m in messages)
    needed = prompt_bound + TEMPLATE_ALLOWANCE + max_tokens
    window = SMALLEST_WINDOW
    while window < needed:
        window *= 2
    window = max(window, floor)
    return min(window, model_limit) if model_limit else window


def request_body(options: OllamaOptions, messages: list[Message], settings: GenerationSettings,
                 json_schema: dict[str, Any] | None, num_ctx: int) -> dict[str, Any]:
    """The /api/chat request, as a pure function for tests."""
    model_options: dict[str, Any] = {
        **options.options,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "seed": settings.seed,
        "num_predict": settings.max_tokens,
        "repeat_penalty": settings.repeat_penalty,
        "num_ctx": num_ctx,
    }
    if settings.stop:
        model_options["stop"] = list(settings.stop)
    body: dict[str, Any] = {
        "model": options.model,
        "messages": [{"role": "system" if m["role"] == "developer" else m["role"], "content": m["content"]}
                     for m in messages],
        "stream": True,
        "options": model_options,
    }
    if options.keep_alive is not None:
        body["keep_alive"] = options.keep_alive
    if json_schema is not None:
        body["format"] = json_schema
    if options.think is not None:
        body["think"] = options.think
    return body


class OllamaAdapter(ApiAdapter):
    Options = OllamaOptions
    local = False
    structured = "json_schema"
    provider = "ollama"
    sdk = "httpx"
    extra = None  # httpx is a core dependency
    default_endpoint = DEFAULT_ENDPOINT

    def __init__(self, model_id: str, options: OllamaOptions, prices=None, max_concurrency: int = 1,
                 family: str | None = None):
        super().__init__(model_id, options, prices, max_concurrency, family)
        self.local = options.local
        self._facts: tuple[str, int | None] | None = None  # (digest, trained context length)
        self._window_lock = threading.Lock()
        self._largest_window = 0

    # ------------------------------------------------------------------ client, model facts, fingerprint

    def _api_key(self) -> str | None:
        if self.options.api_key_env is None:
            return None
        return api_key_from_env(self.options.api_key_env, None)

    def _secret(self) -> str | None:
        header = self._client.headers.get("authorization", "") if self._client is not None else ""
        return header.removeprefix("Bearer ") or None

    def _make_client(self, module, key: str | None):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return module.Client(base_url=self.options.base_url or DEFAULT_ENDPOINT, headers=headers,
                             timeout=self.options.timeout_s)

    def fingerprint(self) -> str:
        digest, _ = self._model_facts()
        tuned = {k: v for k, v in (("options", self.options.options), ("think", self.options.think)) if v}
        suffix = f"+{stable_hash(tuned)[:12]}" if tuned else ""
        return f"ollama:{self._endpoint}:{self.options.model}@{digest}{suffix}"

    def _model_facts(self) -> tuple[str, int | None]:
        """The model's digest (from /api/tags) and trained context length (from /api/show), asked once."""
        if self._facts is None:
            client = self._get_client()
            try:
                self._facts, _ = call_with_retries(
                    lambda: self._ask_facts(client), max_retries=self.options.max_retries,
                    backoff=Backoff(self.options.backoff_initial_s, self.options.backoff_max_s),
                    what=f"{self.model_id} ({self._endpoint})")
            except TransientError as exc:
                raise AdapterError(f"{self.model_id}: Ollama at {self._endpoint} did not say which model answers: "
                                   f"{exc} (gave up after {exc.retries} retries)") from None
        return self._facts

    def _ask_facts(self, client) -> tuple[str, int | None]:
        tags = self._get_json(client, "GET", "/api/tags")
        wanted = {self.options.model, self.options.model + ":latest"}
        digest = next((m.get("digest") for m in tags.get("models", [])
                       if m.get("name") in wanted or m.get("model") in wanted), None)
        if not digest:
            raise AdapterError(f"{self.model_id}: Ollama at {self._endpoint} has no model "
                               f"'{self.options.model}' (run: ollama pull {self.options.model})")
        shown = self._get_json(client, "POST", "/api/show", {"model": self.options.model})
        info = shown.get("model_info") or {}
        limit = next((v for k, v in info.items() if k.endswith(".context_length") and isinstance(v, int)), None)
        return digest, limit

    def _get_json(self, client, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        import httpx

        try:
            response = client.request(method, path, json=body)
        except httpx.TimeoutException:
            raise TransientError(f"timed out after {self.options.timeout_s:g}s") from None
        except httpx.TransportError as exc:
            raise TransientError(f"connection failed: {type(exc).__name__}: {self._clean(str(exc))}") from None
        if response.status_code >= 400:
            raise self._status_error(response.status_code, self._clean(_error_text(response)), response.headers)
        return response.json()

    # ------------------------------------------------------------------ one answer

    def _params(self, messages, settings, json_schema) -> dict[str, Any]:
        num_ctx = self.options.num_ctx
        if num_ctx is None:
            _, limit = self._model_facts()
            with self._window_lock:
                num_ctx = context_window(messages, settings.max_tokens, model_limit=limit, floor=self._largest_window)
                self._largest_window = max(self._largest_window, num_ctx)
        return request_body(self.options, messages, settings, json_schema, num_ctx)

    def _attempt(self, client, params: dict[str, Any], structured: bool) -> Completion:
        import httpx

        clock = StreamClock().start()
        final = None
        try:
            with client.stream("POST", "/api/chat", json=params) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._status_error(response.status_code, self._clean(_error_text(response)),
                                             response.headers)
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    chunk = json.loads(line)
                    if "error" in chunk:  # the runner failed mid-answer (it crashed, ran out of memory, ...)
                        raise TransientError(f"error in stream: {self._clean(str(chunk['error']))}")
                    clock.piece((chunk.get("message") or {}).get("content"))
                    if chunk.get("done"):
                        final = chunk
        except httpx.TimeoutException:
            raise TransientError(f"timed out after {self.options.timeout_s:g}s") from None
        except httpx.TransportError as exc:
            raise TransientError(f"connection dropped: {type(exc).__name__}: {self._clean(str(exc))}") from None
        except ValueError as exc:  # a line that is not JSON: a proxy's error page, a cut line
            raise TransientError(f"unreadable stream: {self._clean(str(exc))}") from None
        if final is None:
            raise TransientError("the stream ended before the answer was finished")
        return clock.finish(input_tokens=final.get("prompt_eval_count"), output_tokens=final.get("eval_count"),
                            finish_reason=final.get("done_reason") or "stop", prices=self.prices)


def _error_text(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return response.text
