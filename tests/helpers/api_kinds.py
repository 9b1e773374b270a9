"""The API kinds side by side, for tests that every one of them must pass: how to start its fake server, how
to point an adapter (or a models.yaml entry) at it, where its credentials come from, and what its
fingerprint should say. Every fake takes the same fault names (see fake_openai.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

from harness.adapters.base import Adapter, Prices
from harness.registry import adapter_class

from .fake_anthropic import FakeAnthropic
from .fake_bedrock import FakeBedrock
from .fake_gemini import FakeGemini
from .fake_ollama import DIGEST, FakeOllama
from .fake_openai import FakeOpenAI

KEY_ENV = "TEST_KIND_KEY"
SENTINEL = "sk-SENTINEL-4b7e1d9a0c3f"  # the secret: a key, or for bedrock the secret access key
ACCESS_KEY_ID = "AKIASENTINEL00000042"
WRONG = "sk-WRONG-e8d1c0ffee42"
WRONG_ACCESS_KEY_ID = "AKIAWRONGWRONG000042"
FAST_RETRY = {"retry-after-ms": "20"}
BEDROCK_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@dataclass
class Kind:
    name: str
    make_fake: Callable[..., Any]  # (plan=..., slow_s=..., retry_headers=..., **more) -> handler
    options: Callable[[str], dict[str, Any]]  # server url -> models.yaml options of an entry that uses it
    fingerprint: Callable[[str], str]  # server url -> the expected fingerprint
    module: str  # the SDK module a missing install would lack
    install_hint: str

    def adapter(self, url: str, prices: Prices | None = None, **overrides) -> Adapter:
        cls = adapter_class(self.name)
        options = cls.Options.model_validate({**self.options(url), **overrides})
        return cls("model-under-test", options, prices=prices, max_concurrency=2)


def use_credentials(kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path, *, wrong: bool = False) -> None:
    """Credentials as a user's environment would hold them, and nothing else the SDKs might find."""
    if kind == "bedrock":
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_REGION",
                     "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", WRONG_ACCESS_KEY_ID if wrong else ACCESS_KEY_ID)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SENTINEL)
    else:
        monkeypatch.setenv(KEY_ENV, WRONG if wrong else SENTINEL)


def _retry_options() -> dict[str, Any]:
    return {"timeout_s": 0.5, "max_retries": 6, "backoff_initial_s": 0.01, "backoff_max_s": 0.1}


KINDS = [
    Kind("openai",
         lambda **kw: FakeOpenAI(key=SENTINEL, **kw),
         lambda url: {"model": "fake", "base_url": url + "/v1", "api_key_env": KEY_ENV, "local": False,
                      **_retry_options()},
         lambda url: f"openai:{url}/v1:fake", "openai", 'pip install "bench-harness[api]"'),
    Kind("anthropic",
         lambda **kw: FakeAnthropic(key=SENTINEL, **kw),
         lambda url: {"model": "claude-test", "base_url": url, "api_key_env": KEY_ENV, **_retry_options()},
         lambda url: f"anthropic:{url}:claude-test", "anthropic", 'pip install "bench-harness[api]"'),
    Kind("gemini",
         lambda **kw: FakeGemini(key=SENTINEL, retry_delay="0.02s", **kw),
         lambda url: {"model": "gemini-test", "base_url": url, "api_key_env": KEY_ENV, **_retry_options()},
         lambda url: f"gemini:{url}:gemini-test", "google.genai", 'pip install "bench-harness[api]"'),
    Kind("ollama",
         lambda **kw: FakeOllama(key=SENTINEL, **kw),
         lambda url: {"model": "qwen2.5:0.5b", "base_url": url, "api_key_env": KEY_ENV, "local": False,
                      **_retry_options()},
         lambda url: f"ollama:{url}:qwen2.5:0.5b@{DIGEST}", "httpx", "pip install httpx"),
    Kind("bedrock",
         lambda **kw: FakeBedrock(access_key_id=ACCESS_KEY_ID, **kw),
         lambda url: {"model": BEDROCK_MODEL, "region": "us-east-1", "base_url": url, **_retry_options()},
         lambda url: f"bedrock:{url}:{BEDROCK_MODEL}", "boto3", 'pip install "bench-harness[api]"'),
]
BY_NAME = {kind.name: kind for kind in KINDS}
