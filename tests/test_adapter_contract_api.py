"""The contract every API kind keeps, each against a local server that speaks its API, through its real SDK:
a streamed answer timed from the stream and counted from the backend's usage, priced; 429/5xx, slow, stalled,
refused and dropped connections retried (Retry-After honoured) and counted; a failure after the last retry
recorded, never invented text; 400 and bad credentials fail at once with one line; the key never in a
fingerprint, an error or a log; a stable fingerprint (a missing SDK's install hint is in
test_adapter_contract.py, with every kind's)."""

from __future__ import annotations

import logging

import pytest

from harness.adapters.base import GenerationSettings, Prices
from harness.errors import AdapterError
from tests.helpers.api_kinds import ACCESS_KEY_ID, FAST_RETRY, KINDS, SENTINEL, WRONG, WRONG_ACCESS_KEY_ID, use_credentials
from tests.helpers.http_server import LocalServer

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "My knee hurts after running."}]
ANSWER = "echo: My knee hurts after running."
PRICES = Prices(input_per_mtok=3.0, output_per_mtok=15.0)

kinds = pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])


@pytest.fixture
def creds(monkeypatch, tmp_path):
    return lambda kind, wrong=False: use_credentials(kind.name, monkeypatch, tmp_path, wrong=wrong)


def faults_then_answer(*faults: str):
    return lambda prompt, attempt: faults[attempt - 1] if attempt <= len(faults) else None


@kinds
def test_a_streamed_answer_is_timed_counted_and_priced(kind, creds):
    creds(kind)
    with LocalServer(kind.make_fake()) as server:
        adapter = kind.adapter(server.url, prices=PRICES)
        c = adapter.generate(CHAT, GenerationSettings(max_tokens=64))
        adapter.close()
    assert c.error is None and c.text == ANSWER
    # The fakes count words: 2 + 5 in, 6 out. The figures come from the server's usage, not re-counted here.
    assert (c.input_tokens, c.output_tokens) == (7, 6)
    assert c.cost_usd == pytest.approx((7 * 3.0 + 6 * 15.0) / 1e6)
    assert c.finish_reason == "stop" and c.retries == 0
    assert 0 < c.ttft_s <= c.latency_s
    assert c.tokens_per_s == pytest.approx(5 / (c.latency_s - c.ttft_s))


@kinds
def test_the_length_limit_ends_as_length(kind, creds):
    creds(kind)
    with LocalServer(kind.make_fake()) as server:
        c = kind.adapter(server.url).generate(CHAT, GenerationSettings(max_tokens=2))
    assert c.text == "echo: My " and c.output_tokens == 2 and c.finish_reason == "length"


@kinds
def test_transient_faults_are_retried_and_counted(kind, creds):
    creds(kind)
    faults = ("429", "500", "slow", "stall", "refuse", "drop")
    fake = kind.make_fake(plan=faults_then_answer(*faults), slow_s=1.0, retry_headers=FAST_RETRY)
    with LocalServer(fake) as server:
        c = kind.adapter(server.url).generate(CHAT, GenerationSettings(max_tokens=64))
        attempts = [r for r in server.requests if r.method == "POST" and "show" not in r.path]
    assert c.error is None and c.text == ANSWER  # the whole answer, from the attempt that finished
    assert c.retries == len(faults) and len(attempts) == len(faults) + 1
    assert c.ttft_s < 0.5  # timing is the last attempt's, not the waits and failures before it


@kinds
def test_retry_after_is_honoured(kind, creds):
    creds(kind)
    fake = kind.make_fake(plan=faults_then_answer("429"), retry_headers={"Retry-After": "1"})
    with LocalServer(fake) as server:
        c = kind.adapter(server.url).generate(CHAT, GenerationSettings(max_tokens=64))
        first, second = [r for r in server.requests if r.method == "POST" and "show" not in r.path]
    assert c.error is None and c.retries == 1
    assert second.received_at - first.received_at >= 1.0  # the server asked for a second; backoff alone is 10 ms


@kinds
def test_retries_run_out_into_a_recorded_failure(kind, creds):
    creds(kind)
    with LocalServer(kind.make_fake(plan=lambda p, a: "500")) as server:
        c = kind.adapter(server.url, max_retries=2).generate(CHAT, GenerationSettings(max_tokens=8))
    assert c.error is not None and "gave up after 2 retries" in c.error and "\n" not in c.error
    assert c.text == "" and c.retries == 2 and c.finish_reason == "error"  # text is never invented


@kinds
def test_a_rejected_request_fails_at_once_with_one_line(kind, creds):
    creds(kind)
    with LocalServer(kind.make_fake(plan=lambda p, a: "400")) as server:
        with pytest.raises(AdapterError) as err:
            kind.adapter(server.url).generate(CHAT, GenerationSettings(max_tokens=8))
        attempts = [r for r in server.requests if r.method == "POST" and "show" not in r.path]
    message = str(err.value)
    assert len(attempts) == 1 and "rejected" in message
    assert "\n" not in message and SENTINEL not in message


@kinds
def test_wrong_credentials_fail_at_once_naming_where_they_come_from(kind, creds):
    creds(kind, wrong=True)
    with LocalServer(kind.make_fake()) as server:
        adapter = kind.adapter(server.url)
        with pytest.raises(AdapterError) as err:
            adapter.fingerprint()
            adapter.generate(CHAT, GenerationSettings(max_tokens=8))
        assert len(server.requests) == 1
    message = str(err.value)
    assert "\n" not in message and WRONG not in message and WRONG_ACCESS_KEY_ID not in message
    assert ("AWS_ACCESS_KEY_ID" if kind.name == "bedrock" else "TEST_KIND_KEY") in message


@kinds
def test_the_secret_never_reaches_fingerprint_errors_or_logs(kind, creds, caplog):
    creds(kind)
    caplog.set_level(logging.DEBUG)
    fake = kind.make_fake(plan=lambda p, a: {"always": "500", "once": "429" if a == 1 else None, "bad": "400"}[p],
                          retry_headers=FAST_RETRY)
    ask = lambda prompt: [{"role": "user", "content": prompt}]  # noqa: E731
    with LocalServer(fake) as server:
        adapter = kind.adapter(server.url, max_retries=1)
        fingerprint = adapter.fingerprint()
        errors = [adapter.generate(ask("always"), GenerationSettings(max_tokens=4)).error]
        assert adapter.generate(ask("once"), GenerationSettings(max_tokens=4)).error is None
        with pytest.raises(AdapterError) as err:
            adapter.generate(ask("bad"), GenerationSettings(max_tokens=4))
        errors.append(str(err.value))
    assert "retry 1 of 1" in caplog.text  # the retries were logged...
    for text in (caplog.text, fingerprint, *errors):
        assert SENTINEL not in text  # ...and nothing, the SDKs' own debug logs included, carries the secret
    # An AWS access key id is an identifier, not a secret (botocore's debug log shows it in the signed header);
    # bench still never writes it.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("harness"))
    for text in (ours, fingerprint, *errors):
        assert ACCESS_KEY_ID not in text


@kinds
def test_the_fingerprint_names_what_answers_and_is_stable(kind, creds):
    creds(kind)
    with LocalServer(kind.make_fake()) as server:
        first = kind.adapter(server.url).fingerprint()
        again = kind.adapter(server.url).fingerprint()
        assert first == again == kind.fingerprint(server.url)
