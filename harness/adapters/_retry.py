"""What the API kinds share: retries (bounded, exponential backoff with jitter, honouring Retry-After),
the key from the environment, and a key-free endpoint name.

Each API adapter translates its SDK's exceptions once, at the boundary, into one of two kinds:
`TransientError` (429, 5xx, timeouts, dropped connections: worth another attempt) or
`harness.errors.AdapterError` (a bad key, an unknown model, a rejected request: no retry helps).
`call_with_retries` then owns the policy, so the two API adapters retry the same way.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Annotated, Callable, Mapping, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, StringConstraints

from ..errors import AdapterError
from .base import StrictOptions

log = logging.getLogger(__name__)

T = TypeVar("T")

# A server may ask for a long pause; past this we wait only this long and let the next 429 say so again,
# so that one answer never stalls a run for minutes.
RETRY_AFTER_CAP_S = 60.0

RETRYABLE_STATUS = frozenset({408, 409, 429})


# The name of a variable, never the key: a key pasted here by mistake fails validation instead of being
# echoed in "set the environment variable ..." messages.
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


class RetryOptions(StrictOptions):
    """Timeout and retry settings every remote kind shares (models.yaml keys)."""

    timeout_s: float = Field(60.0, gt=0, allow_inf_nan=False)
    max_retries: int = Field(5, ge=0, le=20)
    backoff_initial_s: float = Field(1.0, ge=0, allow_inf_nan=False)
    backoff_max_s: float = Field(30.0, ge=0, allow_inf_nan=False)


class ApiOptions(RetryOptions):
    """Settings the key-authenticated API kinds share (models.yaml keys)."""

    model: str
    base_url: str | None = None
    api_key_env: EnvName


class TransientError(Exception):
    """A failure worth retrying. `retry_after` is the pause the server asked for, in seconds;
    `retries` is set when the retries ran out."""

    retries: int = 0

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's transport errors (timeouts, resets, cut streams). The SDKs moved from httpx to
    httpx2 and do not wrap every one raised while a stream is read; accept either library's."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx2", "httpx"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        found.append(module.TransportError)
    return tuple(found)


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` (seconds or an HTTP date); None if absent."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 1.0
    max_s: float = 30.0

    def wait_s(self, retry_number: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """Pause before retry `retry_number` (1-based). A server's Retry-After wins over the exponential
        schedule; a little jitter on top keeps parallel workers from returning in lockstep."""
        uniform = (rng or random).uniform
        if retry_after is not None:
            base = min(retry_after, RETRY_AFTER_CAP_S)
            return base + uniform(0, 0.1 * base)
        exponential = min(self.max_s, self.initial_s * (2 ** (retry_number - 1)))
        # "Equal jitter": at least half the exponential step, so a retry never comes straight back.
        return exponential / 2 + uniform(0, exponential / 2)


def call_with_retries(attempt: Callable[[], T], *, max_retries: int, backoff: Backoff, what: str,
                      sleep: Callable[[float], None] = time.sleep) -> tuple[T, int]:
    """Run `attempt` until it returns, retrying `TransientError` at most `max_retries` times.

    Returns (value, retries). When the retries run out, the last `TransientError` is raised with
    `.retries` set; any other exception (AdapterError included) propagates at once.
    """
    from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        return backoff.wait_s(state.attempt_number, retry_after)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        pause = state.next_action.sleep if state.next_action else 0.0
        log.info("%s: %s; retry %d of %d in %.2fs", what, exc, state.attempt_number, max_retries, pause)

    retrying = Retrying(
        stop=stop_after_attempt(max_retries + 1),
        wait=wait,
        retry=retry_if_exception_type(TransientError),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    attempts = 0

    def counted() -> T:
        nonlocal attempts
        attempts += 1
        return attempt()

    try:
        value = retrying(counted)
    except TransientError as exc:
        exc.retries = attempts - 1
        raise
    return value, attempts - 1


def api_key_from_env(env_name: str, base_url: str | None) -> str:
    """The key, read from the environment only. A custom endpoint (a local llama.cpp server, vLLM, Ollama)
    usually needs none, so there a missing variable means "no key" rather than an error."""
    key = os.environ.get(env_name, "").strip()
    if key:
        return key
    if base_url:
        return "no-key"
    raise AdapterError(f"no API key: set the environment variable {env_name} "
                       f"(or name another one with 'api_key_env' in models.yaml)")


def public_endpoint(base_url: str | None, default: str) -> str:
    """The endpoint as it may appear in a fingerprint or a message: no user:password, no query string
    (where some gateways carry a key), no trailing slash."""
    if not base_url:
        return default
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", "")) or default


_BEARER = re.compile(r"(?i)(bearer\s+|x-api-key[\"':\s]+)[A-Za-z0-9._\-]{8,}")


def redact(text: str, secret: str | None) -> str:
    """Remove a key from text that may echo it (server error bodies do), and anything shaped like an
    Authorization header value."""
    if secret:
        text = text.replace(secret, "[redacted]")
    return _BEARER.sub(lambda m: m.group(1) + "[redacted]", text)


def one_line(text: str, limit: int = 300) -> str:
    """Error text from servers can be long JSON over many lines; the CLI prints one line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
