"""Quantization-aware refinement of the fine-tuned model with torchao: int4 weights, group-wise.

    python -m training.qat --config training/configs/qat_smollm2_cpu.yaml

Fake quantization goes into every linear layer but the output layer (harness/adapters/qat.py decides which,
so that training and loading agree), the whole model trains a few steps at a low learning rate on the same
data as SFT (same leakage check, same held-out slice), and the model is converted to real int4 weights and
saved in the `qat` kind's format. Writes, under output_dir:
    checkpoint/    the converted model (`kind: qat`)
    float/         the QAT-trained weights without quantization: an HF checkpoint, the input of
                   export_gguf when the GGUF ladder should start from the QAT weights
    loss.csv, manifest.json (held-out answer loss: float source, fake-quantized before and after training)
and the models.yaml entries (the qat model, and the float weights as an hf model) into `models_out`.

Schemes (both convert and train on CPU with torchao 0.18; its Int4WeightOnlyConfig needs a GPU kernel):
    int4-weight-only               IntxWeightOnlyConfig(int4, PerGroup(group_size))
    int8-dynamic-act-int4-weight   Int8DynamicActivationIntxWeightConfig(int4 weights, PerGroup(group_size))
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.adapters.qat import (DEFAULT_SCHEME, FORMAT, FORMAT_VERSION, META_FILE, SCHEMES, SKIPPED_MODULES,
                                  WEIGHTS_FILE)
from harness.errors import ConfigError, MissingDependency
from harness.files import portable_path
from training.common import (config_dict, config_hash, data_hash, hf_fingerprint, log, package_versions, recipe_main,
                             write_json, write_models_entries)


@dataclass
class QATConfig:
    source_model: str = "training/out/sft/merged"  # an HF checkpoint folder: the SFT recipe's merged model
    data: str = "training/data/sbar_train.jsonl"
    output_dir: str = "training/out/qat"
    model_id: str = "smollm2-135m-qat"
    scheme: str = "int4-weight-only"
    group_size: int = 32
    learning_rate: float = 5e-5
    per_device_batch_size: int = 4
    gradient_accumulation_steps: int = 2
    max_steps: int = 10
    num_train_epochs: float = 1.0
    warmup_steps: int = 1
    lr_scheduler: str = "linear"
    weight_decay: float = 0.0
    max_seq_length: int = 256
    held_out_examples: int = 16  # the same seeded slice the SFT recipe held out (same data and seed)
    limit_examples: int | None = None
    mixed_precision: str = "auto"
    seed: int = 3407
    logging_steps: int = 1
    leakage_check: bool = True
    suites_dir: str = "suites"
    save_float: bool = True
    models_out: str = "training/out/models.yaml"


# ---------------------------------------------------------------- writing the `qat` kind's checkpoint format

def base_config(scheme: str, group_size: int = 32):
    """The torchao quantization config a scheme name stands for."""
    import torch

    try:
        from torchao.quantization import (Int8DynamicActivationIntxWeightConfig, IntxWeightOnlyConfig,
                                          PerGroup)
    except ImportError:
        raise MissingDependency("torchao", extra="hf", purpose="QAT checkpoints") from None
    if scheme == "int4-weight-only":
        return IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(group_size))
    if scheme == "int8-dynamic-act-int4-weight":
        return Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int4, weight_granularity=PerGroup(group_size))
    raise ConfigError(f"unknown QAT scheme '{scheme}' (known: {', '.join(SCHEMES)})")


def quantizable(module, fqn: str) -> bool:
    import torch

    return isinstance(module, torch.nn.Linear) and fqn.split(".")[-1] not in SKIPPED_MODULES


def prepare_qat(model, scheme: str = DEFAULT_SCHEME, group_size: int = 32):
    """Insert fake quantization into the linear layers: train after this."""
    from torchao.quantization import quantize_
    from torchao.quantization.qat import QATConfig

    quantize_(model, QATConfig(base_config(scheme, group_size), step="prepare"), filter_fn=quantizable)
    return model


def convert_qat(model, scheme: str = DEFAULT_SCHEME, group_size: int = 32):
    """Replace the fake-quantized layers by really quantized ones: save after this."""
    from torchao.quantization import quantize_
    from torchao.quantization.qat import QATConfig

    quantize_(model, QATConfig(base_config(scheme, group_size), step="convert"), filter_fn=quantizable)
    return model


def save_qat_checkpoint(model, tokenizer, out_dir, config_name: str, group_size: int = 32) -> Path:
    """Write a converted QAT model in the format above; returns the folder. `config_name` is the scheme."""
    import torch
    import torchao

    if config_name not in SCHEMES:
        raise ConfigError(f"unknown QAT scheme '{config_name}' (known: {', '.join(SCHEMES)})")
    if not _has_quantized_weights(model):
        raise ValueError("the model holds no quantized weights: call convert_qat (QATConfig step='convert') "
                         "before saving")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.save_pretrained(out)
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    torch.save(model.state_dict(), out / WEIGHTS_FILE)
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "scheme": config_name, "group_size": group_size,
            "dtype": str(model.get_input_embeddings().weight.dtype).removeprefix("torch."),
            "skip": list(SKIPPED_MODULES), "torch": torch.__version__.split("+")[0],
            "torchao": torchao.__version__}
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return out


def _has_quantized_weights(model) -> bool:
    from torchao.utils import TorchAOBaseTensor

    return any(isinstance(p, TorchAOBaseTensor) for p in model.state_dict().values())



def float_copy(model):
    """A copy with the fake quantizers taken out: plain linear layers holding the QAT-trained weights."""
    from torchao.quantization import quantize_
    from torchao.quantization.qat import QATConfig as TorchaoQATConfig
    from torchao.quantization.qat.linear import FakeQuantizedLinear

    clone = copy.deepcopy(model)
    # "convert" with no base config only swaps each fake-quantized layer back to nn.Linear.
    quantize_(clone, TorchaoQATConfig(step="convert"), filter_fn=lambda m, _: isinstance(m, FakeQuantizedLinear))
    return clone


def run_qat(config: QATConfig) -> dict[str, Any]:
    from harness.adapters._hfcommon import load_causal_lm, load_tokenizer
    from training.chat_data import mean_answer_loss, split_held_out, tokenize_all
    from training.sft import SFTConfig, load_examples
    from training.trainer import auto_mixed_precision, logged_losses, train, write_loss_curve

    if config.scheme not in SCHEMES:
        raise ConfigError(f"unknown scheme {config.scheme!r} (known: {', '.join(SCHEMES)})", key="scheme")
    source = Path(config.source_model)
    if not (source / "config.json").is_file():
        raise ConfigError("not an HF checkpoint folder (run the sft recipe first)", path=str(source),
                          key="source_model")
    examples, leaks, read = load_examples(SFTConfig(data=config.data, limit_examples=config.limit_examples,
                                                    leakage_check=config.leakage_check,
                                                    suites_dir=config.suites_dir))
    train_examples, held_out = split_held_out(examples, config.held_out_examples, config.seed)
    if not train_examples:
        raise ConfigError("no training examples left", path=config.data)
    precision = auto_mixed_precision(config.mixed_precision)

    started = time.perf_counter()
    tokenizer = load_tokenizer(source)
    model = load_causal_lm(source, dtype="float32")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rows = tokenize_all(tokenizer, train_examples, config.max_seq_length)
    held_rows = tokenize_all(tokenizer, held_out, config.max_seq_length)
    loss_float = mean_answer_loss(model, held_rows, pad_id, mixed_precision=precision)
    prepare_qat(model, config.scheme, config.group_size)
    loss_fake_before = mean_answer_loss(model, held_rows, pad_id, mixed_precision=precision)
    log(f"held-out answer loss: float {loss_float}, fake-quantized {loss_fake_before} ({config.scheme})")

    model.train()
    trainer = train(model, tokenizer, rows, {
        "output_dir": str(Path(config.output_dir) / "trainer"), "batch_size": config.per_device_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps, "learning_rate": config.learning_rate,
        "max_steps": config.max_steps, "num_train_epochs": config.num_train_epochs,
        "warmup_steps": config.warmup_steps, "lr_scheduler": config.lr_scheduler,
        "weight_decay": config.weight_decay, "seed": config.seed, "max_length": config.max_seq_length,
        "logging_steps": config.logging_steps, "mixed_precision": precision})
    train_seconds = time.perf_counter() - started
    loss_fake_after = mean_answer_loss(model, held_rows, pad_id, mixed_precision=precision)

    out = Path(config.output_dir)
    entries: dict[str, dict] = {}
    outputs = write_loss_curve(trainer.state.log_history, out)
    if config.save_float:
        float_dir = out / "float"
        plain = float_copy(model)
        plain.save_pretrained(float_dir)
        tokenizer.save_pretrained(float_dir)
        del plain
        outputs["float"] = str(float_dir)
        entries[f"{config.model_id}-float"] = {"kind": "hf", "path": portable_path(float_dir)}
    convert_qat(model, config.scheme, config.group_size)
    checkpoint = save_qat_checkpoint(model, tokenizer, out / "checkpoint", config.scheme, group_size=config.group_size)
    outputs["checkpoint"] = str(checkpoint)
    entries[config.model_id] = {"kind": "qat", "path": portable_path(checkpoint)}

    losses = logged_losses(trainer.state.log_history)
    manifest = {
        "recipe": "qat", "model_id": config.model_id, "scheme": config.scheme, "group_size": config.group_size,
        "source": {"path": str(source), "fingerprint": hf_fingerprint(source)},
        "data": {"path": config.data, "hash": data_hash(train_examples), "read": len(read),
                 "refused_as_leaked": len({l.train_index for l in leaks}), "trained_on": len(train_examples),
                 "held_out": len(held_out)},
        "steps": trainer.state.global_step, "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "held_out_answer_loss": {"float_source": loss_float, "fake_quantized_before": loss_fake_before,
                                 "fake_quantized_after": loss_fake_after},
        "mixed_precision": precision, "seconds": {"load_and_train": round(train_seconds, 1)},
        "outputs": outputs, "models": entries, "config": config_dict(config), "config_hash": config_hash(config),
        "versions": package_versions("torch", "torchao", "transformers", "trl"),
    }
    write_json(out / "manifest.json", manifest)
    write_models_entries(Path(config.models_out), entries)
    log(f"QAT {manifest['steps']} steps in {train_seconds:.1f} s; held-out answer loss fake-quantized "
        f"{loss_fake_before} -> {loss_fake_after} (float source {loss_float})")
    log(f"models.yaml entries {', '.join(entries)} written to {config.models_out}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    return recipe_main(QATConfig, run_qat, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
