"""Fault injection for the API kinds: 429 with Retry-After, 500, answers slower than the timeout, stalled and
dropped streams, at a set rate, under concurrency. Everything completes, retries are counted, nothing is lost
or mixed up; 401 and 400 fail at once with one line; the key never shows in a fingerprint, an error or a log."""

from __future__ import annotations

import logging
import random
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.adapters._retry import Backoff, TransientError, call_with_retries, parse_retry_after, redact
from harness.adapters.anthropic import AnthropicAdapter, AnthropicOptions
from harness.adapters.base import GenerationSettings
from harness.adapters.openai import OpenAIAdapter, OpenAIOptions
from harness.errors import AdapterError
from tests.helpers.fake_anthropic import FakeAnthropic
from tests.helpers.fake_openai import FakeOpenAI
from tests.helpers.http_server import LocalServer

SENTINEL = "sk-SENTINEL-7f3a9c2e5b1d"
FAULTS = ["429", "500", "slow", "stall", "refuse", "drop"]
FAST_RETRY = {"retry-after-ms": "20"}  # the bulk test honours the header without waiting whole seconds


def openai_adapter(url: str, **options) -> OpenAIAdapter:
    defaults = dict(model="fake", base_url=url + "/v1", api_key_env="TEST_FAULT_KEY", timeout_s=0.5,
                    max_retries=4, backoff_initial_s=0.01, backoff_max_s=0.1)
    return OpenAIAdapter("flaky", OpenAIOptions(**{**defaults, **options}), max_concurrency=4)


def ask(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("TEST_FAULT_KEY", SENTINEL)
    return SENTINEL


# ---------------------------------------------------------------- the policy, pure

def test_backoff_is_exponential_jittered_and_bounded():
    backoff, rng = Backoff(initial_s=1.0, max_s=8.0), random.Random(0)
    for retry in range(1, 8):
        step = min(8.0, 2.0 ** (retry - 1))
        for _ in range(20):
            assert step / 2 <= backoff.wait_s(retry, None, rng) <= step
    # A server's Retry-After wins (plus at most 10% jitter), and is capped so one answer cannot stall a run.
    assert 3.0 <= backoff.wait_s(1, 3.0, rng) <= 3.3
    assert 60.0 <= backoff.wait_s(1, 3600.0, rng) <= 66.0


def test_retry_after_forms():
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None and parse_retry_after(None) is None


def test_call_with_retries_counts_gives_up_and_never_retries_adapter_errors():
    waits: list[float] = []
    outcomes = iter([TransientError("busy", retry_after=0.5), TransientError("busy"), "answer"])

    def flaky():
        item = next(outcomes)
        if isinstance(item, Exception):
            raise item
        return item

    assert call_with_retries(flaky, max_retries=3, backoff=Backoff(0.1, 1.0), what="t", sleep=waits.append) == \
        ("answer", 2)
    # Retry-After decides the first pause; the second is step 2 of the schedule: 0.1 * 2, jittered down to half.
    assert 0.5 <= waits[0] <= 0.55 and 0.1 <= waits[1] <= 0.2

    attempts = []

    def always_busy():
        attempts.append(1)
        raise TransientError("HTTP 503")

    with pytest.raises(TransientError) as err:
        call_with_retries(always_busy, max_retries=2, backoff=Backoff(0.0, 0.0), what="t", sleep=lambda s: None)
    assert len(attempts) == 3 and err.value.retries == 2

    def rejected():
        attempts.append(1)
        raise AdapterError("bad key")

    attempts.clear()
    with pytest.raises(AdapterError):
        call_with_retries(rejected, max_retries=5, backoff=Backoff(0.0, 0.0), what="t", sleep=lambda s: None)
    assert len(attempts) == 1


def test_redact_removes_the_key_and_bearer_values():
    assert SENTINEL not in redact(f"Incorrect API key provided: {SENTINEL}.", SENTINEL)
    assert "abcdef123456" not in redact("Authorization: Bearer abcdef123456", None)


# ---------------------------------------------------------------- the openai kind against a faulty server

def planned_faults(i: int) -> list[str]:
    """Question i fails on its first i % 3 attempts, with fault types taken in turn."""
    return [FAULTS[(i + k) % len(FAULTS)] for k in range(i % 3)]


def plan_by_number(prompt: str, attempt: int) -> str | None:
    i = int(re.search(r"question (?:number )?(\d+)", prompt, re.I).group(1))
    faults = planned_faults(i)
    return faults[attempt - 1] if attempt <= len(faults) else None


def test_every_request_completes_through_faults_under_concurrency(key):
    fake = FakeOpenAI(key=key, plan=plan_by_number, slow_s=1.5, retry_headers=FAST_RETRY)
    prompts = [f"Question {i} about my cough" for i in range(24)]
    with LocalServer(fake) as server:
        adapter = openai_adapter(server.url)
        with ThreadPoolExecutor(max_workers=adapter.max_concurrency) as pool:
            completions = list(pool.map(lambda p: adapter.generate(ask(p), GenerationSettings(max_tokens=64)),
                                        prompts))
    for i, (prompt, c) in enumerate(zip(prompts, completions)):
        assert c.error is None, (prompt, c.error)
        assert c.text == f"echo: {prompt}"  # its own answer, complete: nothing lost or mixed up
        assert c.retries == len(planned_faults(i)) and c.finish_reason == "stop"
        assert c.output_tokens == len(c.text.split()) and c.ttft_s is not None
    seen = {fault for _, _, fault in fake.events if fault}
    assert seen == set(FAULTS)  # every kind of fault really happened
    assert sum(c.retries for c in completions) == sum(len(planned_faults(i)) for i in range(24)) == 24


def test_retry_after_is_honoured(key):
    fake = FakeOpenAI(key=key, plan=lambda p, attempt: "429" if attempt == 1 else None,
                      retry_headers={"Retry-After": "1"})
    with LocalServer(fake) as server:
        c = openai_adapter(server.url).generate(ask("hello"), GenerationSettings(max_tokens=8))
        first, second = server.requests
    assert c.error is None and c.retries == 1
    assert second.received_at - first.received_at >= 1.0  # the server asked for a second; backoff alone is 10 ms


def test_retries_run_out_into_a_recorded_failure(key):
    fake = FakeOpenAI(key=key, plan=lambda p, attempt: "500")
    with LocalServer(fake) as server:
        c = openai_adapter(server.url, max_retries=2).generate(ask("hello"), GenerationSettings(max_tokens=8))
        assert len(server.requests) == 3
    assert c.error is not None and "HTTP 500" in c.error and "gave up after 2 retries" in c.error
    assert c.text == "" and c.retries == 2 and c.finish_reason == "error"  # text is never invented


def test_401_fails_at_once_with_one_line_naming_the_variable(monkeypatch):
    monkeypatch.setenv("TEST_FAULT_KEY", SENTINEL)
    with LocalServer(FakeOpenAI(key="sk-the-right-one")) as server:
        with pytest.raises(AdapterError) as err:
            openai_adapter(server.url).generate(ask("hello"), GenerationSettings(max_tokens=8))
        assert len(server.requests) == 1
    message = str(err.value)
    assert "401" in message and "TEST_FAULT_KEY" in message and "\n" not in message
    assert SENTINEL not in message


def test_400_says_what_is_wrong_without_echoing_the_key(key):
    with LocalServer(FakeOpenAI(key=key, plan=lambda p, a: "400")) as server:
        with pytest.raises(AdapterError) as err:
            openai_adapter(server.url).generate(ask("hello"), GenerationSettings(max_tokens=8))
        assert len(server.requests) == 1
    message = str(err.value)
    assert "rejected (400)" in message and "'messages' is malformed" in message
    assert SENTINEL not in message and "\n" not in message


def test_the_key_never_reaches_fingerprint_errors_or_logs(key, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    fake = FakeOpenAI(key=key, plan=lambda p, a: {"always": "500", "once": "429" if a == 1 else None}.get(p),
                      retry_headers=FAST_RETRY)
    with LocalServer(fake) as server:
        adapter = openai_adapter(server.url, max_retries=1)
        fingerprint = adapter.fingerprint()
        errors.append(adapter.generate(ask("always"), GenerationSettings(max_tokens=4)).error)
        assert adapter.generate(ask("once"), GenerationSettings(max_tokens=4)).error is None
        fake.plan = lambda p, a: "400"
        with pytest.raises(AdapterError) as err:
            adapter.generate(ask("bad"), GenerationSettings(max_tokens=4))
        errors.append(str(err.value))
    ant = FakeAnthropic(key=key, plan=lambda p, a: "400")
    with LocalServer(ant) as server:
        anthropic = AnthropicAdapter("claude", AnthropicOptions(model="c", base_url=server.url,
                                                                api_key_env="TEST_FAULT_KEY"))
        with pytest.raises(AdapterError) as err:
            anthropic.generate(ask("bad"), GenerationSettings(max_tokens=4))
        errors.append(str(err.value))
        fingerprint += anthropic.fingerprint()
    assert "retry 1 of 1" in caplog.text  # the retry was logged...
    assert SENTINEL not in caplog.text  # ...and no log line carries the key
    assert SENTINEL not in fingerprint
    assert all(e and SENTINEL not in e for e in errors)


# ---------------------------------------------------------------- the anthropic kind

def test_anthropic_retries_overload_rate_limit_stalled_and_dropped_streams(key):
    faults = ["529", "429", "overloaded_event", "stall", "drop"]
    fake = FakeAnthropic(key=key, plan=lambda p, attempt: faults[attempt - 1] if attempt <= len(faults) else None,
                         retry_headers={"retry-after": "0"}, slow_s=1.5)
    with LocalServer(fake) as server:
        adapter = AnthropicAdapter("claude", AnthropicOptions(model="c", base_url=server.url, timeout_s=0.5,
                                                              api_key_env="TEST_FAULT_KEY", max_retries=5,
                                                              backoff_initial_s=0.01))
        c = adapter.generate(ask("My knee hurts after running."), GenerationSettings(max_tokens=64))
        assert len(server.requests) == 6
    assert c.error is None and c.text == "echo: My knee hurts after running." and c.retries == 5


# ---------------------------------------------------------------- a whole suite through the faulty server

def test_a_suite_run_through_faults_completes_every_case(tmp_path, monkeypatch, key):
    from tests.helpers.runs import run_suite
    from tests.conftest import write_project

    fake = FakeOpenAI(key=key, plan=plan_by_number, slow_s=1.5, retry_headers=FAST_RETRY)
    with LocalServer(fake) as server:
        flaky = (f"  flaky:\n    kind: openai\n    model: fake\n    base_url: {server.url}/v1\n"
                 f"    api_key_env: TEST_FAULT_KEY\n    max_concurrency: 3\n    timeout_s: 0.5\n    local: false\n"
                 f"    backoff_initial_s: 0.01\n    backoff_max_s: 0.1\n")
        suite = write_project(tmp_path, extra_models=flaky)
        suite.write_text(suite.read_text().replace("models: [good, bad]", "models: [good, flaky]"))
        monkeypatch.chdir(tmp_path)
        results, _ = run_suite(suite, models_path=tmp_path / "models.yaml", quiet=True,
                               reports_dir=tmp_path / "reports", store_path=tmp_path / ".bench" / "bench.sqlite")
    by_id = {m["id"]: m for m in results["models"]}
    assert by_id["flaky"]["n"] == 6 and by_id["flaky"]["errors"] == 0
    with sqlite3.connect(tmp_path / ".bench" / "bench.sqlite") as db:
        rows = db.execute("SELECT text, retries FROM generations WHERE model_id = 'flaky'").fetchall()
    assert len(rows) == 6
    assert sorted(text for text, _ in rows) == sorted(f"echo: Question number {i} about my cough." for i in range(6))
    assert sum(r for _, r in rows) == sum(len(planned_faults(i)) for i in range(6)) == 6
