"""The in-process transformers kinds on real SmolLM2-135M weights: hf (a checkpoint made from the bundled
GGUF), lora (an adapter trained here for a few steps), qat (a torchao QAT run here, converted and saved)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from harness import files as hash_module
from harness.adapters._hfcommon import cut_at_stop
from harness.adapters.base import GenerationSettings
from harness.adapters.hf import HFAdapter, HFOptions
from harness.adapters.lora import LoRAAdapter, LoRAOptions
from harness.adapters.qat import SCHEMES, QATAdapter, QATOptions, read_meta
from training.qat import save_qat_checkpoint
from harness.errors import AdapterError, ConfigError
from harness.registry import adapter_class
from tests.conftest_models import lora_adapter, qat_checkpoint, torch_threads_option, smollm2_hf  # noqa: F401

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
SHORT = GenerationSettings(max_tokens=12)


def assert_streamed_answer(c, max_tokens: int) -> None:
    """The same contract the gguf and API kinds keep: text, timing from the stream, token counts."""
    assert c.error is None and c.text.strip()
    assert 0 < c.ttft_s < c.latency_s
    assert 1 <= c.output_tokens <= max_tokens and c.input_tokens > 5
    assert c.finish_reason in ("stop", "length")
    if c.output_tokens > 1:
        assert c.tokens_per_s == pytest.approx((c.output_tokens - 1) / (c.latency_s - c.ttft_s))


# ---------------------------------------------------------------- no weights needed

def test_registry_maps_each_kind_to_its_adapter():
    assert adapter_class("hf") is HFAdapter
    assert adapter_class("lora") is LoRAAdapter
    assert adapter_class("qat") is QATAdapter


def test_options_reject_unknown_keys_and_bad_values():
    with pytest.raises(ValidationError):
        HFOptions(path="x", gpu_layers=3)
    with pytest.raises(ValidationError):
        HFOptions(path="x", device="tpu")
    with pytest.raises(ValidationError):
        LoRAOptions(base="x")  # the adapter folder is required


def test_missing_folders_are_configuration_errors(tmp_path):
    with pytest.raises(ConfigError, match="folder not found"):
        HFAdapter("m", HFOptions(path=str(tmp_path / "nope"))).fingerprint()
    with pytest.raises(ConfigError, match="no weights"):
        HFAdapter("m", HFOptions(path=str(tmp_path))).fingerprint()
    with pytest.raises(ConfigError, match="not a QAT checkpoint"):
        QATAdapter("m", QATOptions(path=str(tmp_path))).fingerprint()


def test_stop_strings_are_cut_from_the_text():
    assert cut_at_stop("Paris. Next: Rome", ["Next:", "Rome"]) == ("Paris. ", True)
    assert cut_at_stop("Paris.", ["Rome"]) == ("Paris.", False)
    assert cut_at_stop("Paris.", []) == ("Paris.", False)


def test_gguf_file_fingerprint_hashes_the_file(tmp_path):
    (tmp_path / "a.gguf").write_bytes(b"GGUF one")
    (tmp_path / "b.gguf").write_bytes(b"GGUF two")
    a = HFAdapter("m", HFOptions(path=str(tmp_path), gguf_file="a.gguf")).fingerprint()
    b = HFAdapter("m", HFOptions(path=str(tmp_path), gguf_file="b.gguf")).fingerprint()
    assert a.startswith("hf:sha256:") and a != b
    with pytest.raises(ConfigError, match="file not found"):
        HFAdapter("m", HFOptions(path=str(tmp_path), gguf_file="c.gguf")).fingerprint()


# ---------------------------------------------------------------- hf

@pytest.mark.slow
def test_hf_checkpoint_answers_streamed_and_timed(smollm2_hf, torch_threads_option):
    adapter = HFAdapter("smollm2-hf", HFOptions(path=str(smollm2_hf), torch_threads=torch_threads_option))
    try:
        c = adapter.generate(QUESTION, SHORT)
        assert_streamed_answer(c, 12)
        assert "Paris" in c.text  # the dequantized GGUF weights answer like the GGUF model does
        # Greedy by default: the same question gives the same answer.
        again = adapter.generate(QUESTION, SHORT)
        assert again.text == c.text and again.output_tokens == c.output_tokens
        # The limit holds and is reported as such.
        long = adapter.generate([{"role": "user", "content": "Write a long story about a dragon."}],
                                GenerationSettings(max_tokens=8))
        assert long.output_tokens == 8 and long.finish_reason == "length"
        # A stop string ends the answer early and is not part of it.
        stopped = adapter.generate(QUESTION, GenerationSettings(max_tokens=24, stop=["Paris"]))
        assert "Paris" not in stopped.text and stopped.finish_reason == "stop"
    finally:
        adapter.close()


@pytest.mark.slow
def test_hf_fingerprint_covers_weights_and_is_cached(smollm2_hf, tmp_path, monkeypatch):
    monkeypatch.setattr(hash_module, "_HASH_CACHE", tmp_path / "hashes.json")
    first = HFAdapter("a", HFOptions(path=str(smollm2_hf))).fingerprint()
    assert first.startswith("hf:sha256:")
    cached = json.loads((tmp_path / "hashes.json").read_text())
    assert any("model.safetensors|" in key for key in cached)

    def no_rehash(path, *a, **k):
        raise AssertionError(f"rehashed {path}")

    monkeypatch.setattr(hash_module, "sha256_file", no_rehash)
    assert HFAdapter("b", HFOptions(path=str(smollm2_hf))).fingerprint() == first  # a second start
    # Computing in another dtype is another model for the cache.
    assert HFAdapter("c", HFOptions(path=str(smollm2_hf), dtype="bfloat16")).fingerprint() != first


# ---------------------------------------------------------------- lora

@pytest.mark.slow
def test_lora_adapter_was_really_trained(lora_adapter):
    from safetensors.torch import load_file

    weights = load_file(str(lora_adapter.path / "adapter_model.safetensors"))
    lora_b = [t for name, t in weights.items() if "lora_B" in name]
    # peft starts every B matrix at zero; after the training steps they carry what was learned.
    assert lora_b and all(float(t.abs().sum()) > 0 for t in lora_b)
    assert len(lora_adapter.losses) == 3 and all(loss > 0 for loss in lora_adapter.losses)


@pytest.mark.slow
@pytest.mark.parametrize("merge", [False, True])
def test_lora_answers_on_its_base(smollm2_hf, lora_adapter, merge, torch_threads_option):
    adapter = LoRAAdapter("smollm2-lora", LoRAOptions(base=str(smollm2_hf), adapter=str(lora_adapter.path),
                                                      merge=merge, torch_threads=torch_threads_option))
    try:
        assert_streamed_answer(adapter.generate(QUESTION, SHORT), 12)
    finally:
        adapter.close()


@pytest.mark.slow
def test_lora_fingerprint_names_base_and_adapter(smollm2_hf, lora_adapter, tmp_path):
    base_fp = HFAdapter("b", HFOptions(path=str(smollm2_hf))).fingerprint()
    lora = LoRAAdapter("l", LoRAOptions(base=str(smollm2_hf), adapter=str(lora_adapter.path)))
    fp = lora.fingerprint()
    assert fp.startswith("lora:sha256:") and fp != base_fp
    # Merging changes the speed, not the function: same fingerprint, so the cache is shared.
    merged = LoRAAdapter("m", LoRAOptions(base=str(smollm2_hf), adapter=str(lora_adapter.path), merge=True))
    assert merged.fingerprint() == fp
    # Another adapter (here: one byte of its config changed) is another model.
    other = tmp_path / "other"
    other.mkdir()
    for f in lora_adapter.path.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    config = json.loads((other / "adapter_config.json").read_text())
    config["lora_alpha"] = config["lora_alpha"] + 1
    (other / "adapter_config.json").write_text(json.dumps(config))
    assert LoRAAdapter("o", LoRAOptions(base=str(smollm2_hf), adapter=str(other))).fingerprint() != fp


def test_lora_needs_an_adapter_config(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    (base / "model.safetensors").write_bytes(b"x")
    (tmp_path / "adapter").mkdir()
    with pytest.raises(AdapterError, match="adapter_config.json"):
        LoRAAdapter("l", LoRAOptions(base=str(base), adapter=str(tmp_path / "adapter"))).fingerprint()


# ---------------------------------------------------------------- qat

@pytest.mark.slow
def test_qat_checkpoint_format(qat_checkpoint):
    meta = read_meta(qat_checkpoint.path)
    assert meta["scheme"] in SCHEMES and meta["group_size"] == 32 and meta["skip"] == ["lm_head"]
    assert meta["torchao"] == "0.18.0"
    for name in ("config.json", "model.pt", "tokenizer.json"):
        assert (qat_checkpoint.path / name).is_file()
    config = json.loads((qat_checkpoint.path / "config.json").read_text())
    assert "quantization_config" not in config
    assert len(qat_checkpoint.losses) == 3


@pytest.mark.slow
def test_qat_checkpoint_loads_quantized_and_answers_on_cpu(qat_checkpoint, torch_threads_option):
    from torchao.utils import TorchAOBaseTensor

    adapter = QATAdapter("smollm2-qat", QATOptions(path=str(qat_checkpoint.path),
                                                   torch_threads=torch_threads_option))
    try:
        assert adapter.fingerprint().startswith("qat:sha256:")
        c = adapter.generate(QUESTION, SHORT)
        assert_streamed_answer(c, 12)
        state = adapter._model.state_dict()
        quantized = [name for name, tensor in state.items() if isinstance(tensor, TorchAOBaseTensor)]
        # Every linear layer of the 30 blocks (7 each) answers with quantized weights; lm_head does not.
        assert len(quantized) == 30 * 7 and not any("lm_head" in n for n in quantized)
    finally:
        adapter.close()


def test_saving_an_unconverted_model_is_refused(tmp_path):
    from transformers import AutoModelForCausalLM, LlamaConfig

    tiny = AutoModelForCausalLM.from_config(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64,
                                                        num_hidden_layers=1, num_attention_heads=2))
    with pytest.raises(ValueError, match="convert_qat"):
        save_qat_checkpoint(tiny, None, tmp_path / "out", "int4-weight-only")
    with pytest.raises(ConfigError, match="unknown QAT scheme"):
        save_qat_checkpoint(tiny, None, tmp_path / "out", "int3-magic")
    assert not (tmp_path / "out").exists()
