"""The ollama kind against a local server that keeps Ollama's rules: /api/chat streamed as JSON lines, the
model's digest from /api/tags, its trained context from /api/show, and a prompt longer than the default
context window cut from the front when the request names no num_ctx."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import ValidationError

from harness.adapters.base import GenerationSettings
from harness.adapters.ollama import (OllamaAdapter, OllamaOptions, PER_MESSAGE_ALLOWANCE, TEMPLATE_ALLOWANCE,
                                     context_window, request_body)
from harness.errors import AdapterError
from harness.registry import adapter_class
from tests.helpers.fake_ollama import DIGEST, FakeOllama
from tests.helpers.http_server import LocalServer

SCHEMA = {"type": "object", "properties": {"best": {"type": "string"}}, "required": ["best"]}


def adapter_for(url: str, **options) -> OllamaAdapter:
    options.setdefault("model", "qwen2.5:0.5b")
    return OllamaAdapter("qwen", OllamaOptions(base_url=url, backoff_initial_s=0.01, **options))


def long_prompt(words: int) -> list[dict[str, str]]:
    # Numbered words, so that which ones the model read shows where a cut fell.
    return [{"role": "user", "content": " ".join(f"w{i}" for i in range(words))}]


# ---------------------------------------------------------------- options and the request, pure

def test_registry_and_options():
    assert adapter_class("ollama") is OllamaAdapter
    with pytest.raises(ValidationError, match="set by the suite's generation settings"):
        OllamaOptions(model="m", options={"temperature": 0.7})
    with pytest.raises(ValidationError, match="num_ctx"):
        OllamaOptions(model="m", options={"num_ctx": 8192})
    with pytest.raises(ValidationError):
        OllamaOptions(model="m", num_ctx=16)
    # Sharing this machine's CPU is said, not guessed from the (loopback) default address.
    assert OllamaAdapter("a", OllamaOptions(model="m")).local is False
    assert OllamaAdapter("b", OllamaOptions(model="m", local=True)).local is True


def test_context_window_fits_the_prompt_and_the_answer():
    chat = [{"role": "user", "content": "a" * 1000}]
    assert context_window(chat, 256) == 4096  # 1000 + 16 + 256 + 256 = 1528 -> the smallest window
    big = [{"role": "system", "content": "s" * 2000}, {"role": "user", "content": "u" * 8000}]
    needed = 10000 + 2 * PER_MESSAGE_ALLOWANCE + TEMPLATE_ALLOWANCE + 512
    assert needed == 10800 and context_window(big, 512) == 16384
    accents = [{"role": "user", "content": "é" * 3000}]  # 2 bytes each: 6000 + 16 + 256 + 100
    assert context_window(accents, 100) == 8192
    assert context_window(big, 512, model_limit=8192) == 8192  # never past what the model was trained for
    assert context_window(chat, 256, floor=16384) == 16384  # never below a window already in use


def test_the_request_body_uses_ollamas_names():
    options = OllamaOptions(model="m", keep_alive="10m", options={"top_k": 40, "num_thread": 4}, think=False)
    settings = GenerationSettings(max_tokens=64, temperature=0.3, top_p=0.9, seed=5, stop=["\n\n"])
    chat = [{"role": "developer", "content": "Use SBAR."}, {"role": "user", "content": "Hi"}]
    body = request_body(options, chat, settings, SCHEMA, num_ctx=8192)
    assert body["options"] == {"top_k": 40, "num_thread": 4, "temperature": 0.3, "top_p": 0.9, "seed": 5,
                               "num_predict": 64, "repeat_penalty": 1.0, "num_ctx": 8192, "stop": ["\n\n"]}
    assert body["keep_alive"] == "10m" and body["format"] == SCHEMA and body["think"] is False
    assert body["stream"] is True and body["messages"][0] == {"role": "system", "content": "Use SBAR."}
    plain = request_body(OllamaOptions(model="m"), chat, settings, None, num_ctx=4096)
    assert "format" not in plain and "keep_alive" not in plain and "think" not in plain


# ---------------------------------------------------------------- the context window, against the server's rule

def test_without_num_ctx_ollama_cuts_a_long_prompt_from_the_front():
    """The rule the adapter guards against, shown on the fake: it is what the adapter's test relies on."""
    with LocalServer(FakeOllama(default_ctx=2048)) as server:
        reply = httpx.post(f"{server.url}/api/chat", json={"model": "qwen2.5:0.5b", "messages": long_prompt(3000),
                                                           "stream": True}).text
        final = json.loads(reply.strip().splitlines()[-1])
        seen = server.handler.evaluated[0]
    assert final["prompt_eval_count"] == 2048 and len(seen) == 2048
    assert seen[0] == "w952" and seen[-1] == "w2999"  # the first 952 words are gone


@pytest.mark.parametrize("default_ctx, words", [(2048, 3000), (4096, 5000)], ids=["older-2048", "newer-4096"])
def test_a_prompt_longer_than_the_default_context_is_not_truncated(default_ctx, words):
    fake = FakeOllama(default_ctx=default_ctx)
    with LocalServer(fake) as server:
        c = adapter_for(server.url).generate(long_prompt(words), GenerationSettings(max_tokens=32))
        chat = [r for r in server.requests if r.path == "/api/chat"][0].body
    assert chat["options"]["num_ctx"] >= words + 32
    assert fake.evaluated[0] == long_prompt(words)[0]["content"].split()  # every word, in order
    assert c.error is None and c.input_tokens == words  # prompt_eval_count: the whole prompt was read


def test_a_configured_num_ctx_is_sent_as_is():
    fake = FakeOllama()
    with LocalServer(fake) as server:
        adapter_for(server.url, num_ctx=1024).generate(long_prompt(3000), GenerationSettings(max_tokens=8))
        chat = [r for r in server.requests if r.path == "/api/chat"][0].body
    assert chat["options"]["num_ctx"] == 1024 and len(fake.evaluated[0]) == 1024  # the user's choice, kept


def test_the_window_never_shrinks_so_the_model_is_not_reloaded_between_requests():
    fake = FakeOllama()
    with LocalServer(fake) as server:
        adapter = adapter_for(server.url)
        for words in (10, 1200, 10, 20):
            adapter.generate(long_prompt(words), GenerationSettings(max_tokens=8))
        sent = [r.body["options"]["num_ctx"] for r in server.requests if r.path == "/api/chat"]
    # "w0 ... w1199" is 10*2 + 90*3 + 900*4 + 200*5 characters and 1199 spaces: 6089 bytes, + 16 + 256 + 8 = 6369.
    assert sent == [4096, 8192, 8192, 8192]
    assert fake.loads == 2  # the short prompts after the long one run in the window already loaded


def test_the_window_is_capped_at_the_models_trained_context():
    fake = FakeOllama(context_length=8192)
    with LocalServer(fake) as server:
        adapter_for(server.url).generate(long_prompt(5000), GenerationSettings(max_tokens=8))
        chat = [r for r in server.requests if r.path == "/api/chat"][0].body
    assert chat["options"]["num_ctx"] == 8192


# ---------------------------------------------------------------- fingerprint, output, errors

def test_the_fingerprint_names_the_digest_ollama_reports():
    fake = FakeOllama(models={"qwen2.5:0.5b": DIGEST, "llama3.2:latest": "b" * 64})
    with LocalServer(fake) as server:
        assert adapter_for(server.url).fingerprint() == f"ollama:{server.url}:qwen2.5:0.5b@{DIGEST}"
        assert adapter_for(server.url, model="llama3.2").fingerprint().endswith("llama3.2@" + "b" * 64)
        tuned = adapter_for(server.url, options={"top_k": 1}).fingerprint()
        assert tuned.startswith(f"ollama:{server.url}:qwen2.5:0.5b@{DIGEST}+") and len(tuned.split("+")[1]) == 12
        fake.models["qwen2.5:0.5b"] = "c" * 64  # pulled again: another model under the same name
        assert adapter_for(server.url).fingerprint().endswith("@" + "c" * 64)
        with pytest.raises(AdapterError, match=r"no model 'mistral'.*ollama pull mistral") as err:
            adapter_for(server.url, model="mistral").fingerprint()
    assert "\n" not in str(err.value)


def test_an_unreachable_server_is_one_line_after_the_retries():
    adapter = adapter_for("http://127.0.0.1:9", max_retries=1, timeout_s=0.5)
    with pytest.raises(AdapterError, match="did not say which model answers.*gave up after 1 retries") as err:
        adapter.fingerprint()
    assert "\n" not in str(err.value)


def test_structured_output_through_format_and_the_settings_sent():
    fake = FakeOllama(structured_answer={"best": "A"})
    with LocalServer(fake) as server:
        adapter = adapter_for(server.url, keep_alive=-1, options={"top_k": 20})
        c = adapter.generate([{"role": "user", "content": "Which?"}], GenerationSettings(max_tokens=50), json_schema=SCHEMA)
        chat = [r for r in server.requests if r.path == "/api/chat"][0].body
    assert chat["format"] == SCHEMA and chat["keep_alive"] == -1 and chat["options"]["top_k"] == 20
    assert chat["options"]["num_predict"] == 50 and chat["options"]["repeat_penalty"] == 1.0
    assert c.error is None and json.loads(c.text) == {"best": "A"}


def test_a_model_removed_after_the_fingerprint_is_a_404_message():
    fake = FakeOllama()
    with LocalServer(fake) as server:
        adapter = adapter_for(server.url)
        adapter.fingerprint()
        fake.models.clear()
        with pytest.raises(AdapterError, match=r"not found \(404\).*try pulling it first"):
            adapter.generate([{"role": "user", "content": "Hi"}], GenerationSettings(max_tokens=8))
