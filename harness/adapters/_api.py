"""What the API kinds (openai, anthropic, gemini, ollama, bedrock) share beyond the retry policy: one lazily
made client per adapter, the key-free fingerprint, and `generate` as bounded retries around one streamed attempt."""

from __future__ import annotations

import importlib
import os
import threading
import time
from typing import Any

from ..errors import AdapterError
from ._retry import (Backoff, TransientError, api_key_from_env, call_with_retries, is_retryable_status, one_line,
                     parse_retry_after, public_endpoint, redact)
from .base import Adapter, Completion, GenerationSettings, Message


class ApiAdapter(Adapter):
    """Subclasses set `provider`, `sdk` (the module to import; the registry checks it is installed),
    `default_endpoint`, `base_url_env` (the SDK's own variable for the endpoint, honoured as the SDK honours it
    when the entry gives no base_url), and implement `_make_client`, `_params` and `_attempt`."""

    provider = ""
    sdk = ""
    default_endpoint = ""
    base_url_env: str | None = None

    def __init__(self, model_id: str, options, prices=None, max_concurrency: int = 1, family: str | None = None):
        super().__init__(model_id, options, prices, max_concurrency, family)
        self._client = None
        self._client_lock = threading.Lock()
        self.base_url = getattr(options, "base_url", None) or \
            (os.environ.get(self.base_url_env, "").strip() or None if self.base_url_env else None)
        self._endpoint = public_endpoint(self.base_url, self.default_endpoint)

    def fingerprint(self) -> str:
        return f"{self.provider}:{self._endpoint}:{self.options.model}"

    def _get_client(self):
        # One client per adapter, made on first use: the SDKs' clients are thread-safe and pool connections,
        # and a run answered entirely from the cache never needs a key.
        with self._client_lock:
            if self._client is None:
                module = importlib.import_module(self.sdk)
                # Retries are ours (bounded, counted, the same for every kind): the SDK's are off.
                self._client = self._make_client(module, self._api_key())
            return self._client

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def generate(self, messages: list[Message], settings: GenerationSettings,
                 json_schema: dict[str, Any] | None = None) -> Completion:
        client = self._get_client()
        params = self._params(messages, settings, json_schema)
        began = time.perf_counter()
        try:
            completion, retries = call_with_retries(
                lambda: self._attempt(client, params, json_schema is not None),
                max_retries=self.options.max_retries,
                backoff=Backoff(self.options.backoff_initial_s, self.options.backoff_max_s),
                what=f"{self.model_id} ({self._endpoint})",
            )
        except TransientError as exc:
            return Completion.failed(f"{exc} (gave up after {exc.retries} retries)",
                                     latency_s=time.perf_counter() - began, retries=exc.retries)
        completion.retries = retries
        return completion

    def _api_key(self) -> str | None:
        return api_key_from_env(self.options.api_key_env, self.base_url)

    def _secret(self) -> str | None:
        """The key the client holds, so that text echoing it can be cleaned."""
        return getattr(self._client, "api_key", None)

    def _key_hint(self) -> str:
        """Where the credentials come from, for a message that says they were rejected."""
        return f"the environment variable {self.options.api_key_env}"

    def _clean(self, text: str) -> str:
        """Server text made fit for a message: one line, and never the key (error bodies may echo it)."""
        return one_line(redact(text, self._secret()))

    def _status_error(self, status: int, server_says: str, headers) -> Exception:
        """An HTTP error status as a TransientError (worth another attempt) or a one-line AdapterError."""
        where = f"{self._endpoint} (model '{self.options.model}')"
        if is_retryable_status(status):
            return TransientError(f"HTTP {status}: {server_says}", retry_after=parse_retry_after(headers))
        if status == 401:
            return AdapterError(f"{self.model_id}: the API key was rejected (401) by {self._endpoint}; "
                                f"check {self._key_hint()}")
        if status == 403:
            return AdapterError(f"{self.model_id}: permission denied (403) at {where}: {server_says}")
        if status == 404:
            return AdapterError(f"{self.model_id}: not found (404) at {where}: the model name or base_url "
                                f"is wrong: {server_says}")
        if status in (400, 413, 422):
            return AdapterError(f"{self.model_id}: the request was rejected ({status}) by {where}: {server_says}")
        return AdapterError(f"{self.model_id}: HTTP {status} from {where}: {server_says}")

    def _make_client(self, module, key: str):  # pragma: no cover - abstract
        raise NotImplementedError

    def _params(self, messages, settings, json_schema) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _attempt(self, client, params: dict[str, Any], structured: bool) -> Completion:  # pragma: no cover
        raise NotImplementedError
