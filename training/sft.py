"""LoRA supervised fine-tuning on chat data, loss on the assistant's answers only.

    python -m training.sft --config training/configs/sft_smollm2_cpu.yaml
    python -m training.sft --config training/configs/sft_qwen2.5_0.5b_gpu.yaml      # with a GPU

Uses unsloth's FastLanguageModel when unsloth is importable (`backend: auto`), else transformers + peft;
trl's SFTTrainer trains either way, from the same config. Before training, every example is checked
against every evaluation suite case (harness/leakage.py) and a leaked one is refused. A seeded held-out
slice measures the answer loss before and after training. Writes, under output_dir:
    adapter/       the LoRA adapter (+ tokenizer)
    merged/        the base with the adapter merged in: an ordinary HF checkpoint
    loss.csv       the training loss per logged step (loss.png too when matplotlib is installed)
    manifest.json  base fingerprint, data hash, config, steps, losses, time, package versions
and the models.yaml entries for the base, the merged model and the adapter into `models_out`.
"""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, MissingDependency
from harness.files import portable_path
from training.common import (SEVEN_PROJECTIONS, config_dict, config_hash, data_hash, hf_fingerprint, log, package_versions,
                             read_chat_jsonl, recipe_main, write_json, write_models_entries)


@dataclass
class SFTConfig:
    base_model: str = "training/out/base/smollm2-135m-instruct"  # an HF checkpoint folder (or hub id)
    make_base: bool = True  # build base_model from the bundled GGUF when the folder is missing
    base_model_id: str = "smollm2-135m-hf"  # the base's models.yaml id (what the SFT model is gated against)
    data: str = "training/data/sbar_train.jsonl"
    output_dir: str = "training/out/sft"
    model_id: str = "smollm2-135m-sft"
    backend: str = "auto"  # auto | unsloth | trl
    lora_r: int = 16
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: list(SEVEN_PROJECTIONS))
    learning_rate: float = 2e-4
    per_device_batch_size: int = 4
    gradient_accumulation_steps: int = 2  # effective batch = per_device_batch_size x this
    max_steps: int = 30  # > 0 wins over num_train_epochs
    num_train_epochs: float = 1.0
    warmup_steps: int = 3
    lr_scheduler: str = "linear"
    weight_decay: float = 0.0
    max_seq_length: int = 256
    held_out_examples: int = 16
    limit_examples: int | None = None
    dtype: str = "auto"  # weights: auto | float32 | bfloat16 | float16 (auto: fp32, unsloth picks its own)
    mixed_precision: str = "auto"  # auto | bf16 | fp16 | no (auto: bf16 autocast where the hardware has it)
    seed: int = 3407
    logging_steps: int = 1
    leakage_check: bool = True
    suites_dir: str = "suites"
    save_merged: bool = True
    models_out: str = "training/out/models.yaml"


def choose_backend(requested: str) -> str:
    if requested not in ("auto", "unsloth", "trl"):
        raise ConfigError(f"backend must be auto, unsloth or trl, not {requested!r}", key="backend")
    available = importlib.util.find_spec("unsloth") is not None
    if requested == "unsloth" and not available:
        raise MissingDependency("unsloth", purpose="backend: unsloth "
                                "(pip install --no-deps unsloth==2026.10.9 unsloth_zoo==2026.10.9)")
    if requested == "auto":
        return "unsloth" if available else "trl"
    return requested


def load_examples(config: SFTConfig) -> tuple[list, list, list]:
    """(examples kept, leaks refused, all examples read)."""
    from harness.leakage import filter_leaked, load_eval_cases

    examples = read_chat_jsonl(Path(config.data))
    if config.limit_examples is not None:
        examples = examples[: config.limit_examples]
    if not config.leakage_check:
        return examples, [], examples
    cases = load_eval_cases(Path(config.suites_dir))
    keep, leaks = filter_leaked(examples, cases)
    for leak in leaks:
        log("refused: " + leak.describe())
    return [examples[i] for i in keep], leaks, examples


def _torch_dtype(name: str, backend: str):
    import torch

    if name == "auto":
        # fp32 weights with autocast (mixed_precision) keep LoRA's small updates; unsloth picks its own dtype
        return None if backend == "unsloth" else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_model(config: SFTConfig, backend: str):
    """(peft model, tokenizer) for the chosen backend."""
    if backend == "unsloth":
        from unsloth import FastLanguageModel

        model, tokenizer = FastLanguageModel.from_pretrained(
            model_name=config.base_model, max_seq_length=config.max_seq_length,
            dtype=_torch_dtype(config.dtype, backend), load_in_4bit=False)
        model = FastLanguageModel.get_peft_model(
            model, r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules=list(config.target_modules), bias="none", use_gradient_checkpointing=False,
            random_state=config.seed)
        return model, tokenizer
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(config.base_model)
    model = AutoModelForCausalLM.from_pretrained(config.base_model, dtype=_torch_dtype(config.dtype, backend))
    if model.device.type == "cpu":
        import torch

        if torch.cuda.is_available():
            model = model.to("cuda")
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=list(config.target_modules), bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, lora), tokenizer


def run_sft(config: SFTConfig) -> dict[str, Any]:
    from training.chat_data import mean_answer_loss, split_held_out, tokenize_all
    from training.trainer import logged_losses, train, write_loss_curve

    backend = choose_backend(config.backend)
    if backend == "unsloth":
        # unsloth patches transformers, trl and peft when imported, so it must come before them.
        os.environ.setdefault("UNSLOTH_SKIP_TORCHVISION_CHECK", "1")
        import unsloth  # noqa: F401
    if not Path(config.base_model).exists() and config.make_base:
        from training.make_base import BaseConfig, make_base

        make_base(BaseConfig(output_dir=config.base_model, model_id=config.base_model_id,
                             models_out=config.models_out))
    examples, leaks, read = load_examples(config)
    train_examples, held_out = split_held_out(examples, config.held_out_examples, config.seed)
    if not train_examples:
        raise ConfigError("no training examples left (after the leakage check and the held-out split)",
                          path=config.data)
    log(f"{len(read)} examples read, {len({l.train_index for l in leaks})} refused as leaked, "
        f"{len(train_examples)} to train on, {len(held_out)} held out; backend {backend}")

    started = time.perf_counter()
    hp = hyper_parameters(config)
    precision = hp["mixed_precision"]
    model, tokenizer = load_model(config, backend)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rows = tokenize_all(tokenizer, train_examples, config.max_seq_length)
    held_rows = tokenize_all(tokenizer, held_out, config.max_seq_length)
    held_loss_before = mean_answer_loss(model, held_rows, pad_id, mixed_precision=precision)
    # The adapter starts at zero, so the model before training is the base.
    perplexity_before = held_out_perplexity(model, tokenizer, held_out, config.base_model_id, config.seed)
    load_seconds = time.perf_counter() - started

    started = time.perf_counter()
    trainer = train(model, tokenizer, rows, hp)
    train_seconds = time.perf_counter() - started
    held_loss_after = mean_answer_loss(model, held_rows, pad_id, mixed_precision=precision)
    perplexity_after = held_out_perplexity(model, tokenizer, held_out, config.model_id, config.seed)

    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    adapter_dir, merged_dir = out / "adapter", out / "merged"
    model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    outputs = {"adapter": str(adapter_dir), **write_loss_curve(trainer.state.log_history, out)}
    entries = {
        config.base_model_id: {"kind": "hf", "path": portable_path(config.base_model)},
        f"{config.model_id}-lora": {"kind": "lora", "base": portable_path(config.base_model),
                                    "adapter": portable_path(adapter_dir)},
    }
    if config.save_merged:
        merged = model.merge_and_unload()
        merged.save_pretrained(merged_dir)
        tokenizer.save_pretrained(merged_dir)
        outputs["merged"] = str(merged_dir)
        entries[config.model_id] = {"kind": "hf", "path": portable_path(merged_dir)}

    losses = logged_losses(trainer.state.log_history)
    manifest = {
        "recipe": "sft", "backend": backend, "model_id": config.model_id,
        "mixed_precision": precision,
        "base": {"path": config.base_model, "fingerprint": _fingerprint(config.base_model)},
        "data": {"path": config.data, "hash": data_hash(train_examples), "read": len(read),
                 "refused_as_leaked": len({l.train_index for l in leaks}), "trained_on": len(train_examples),
                 "held_out": len(held_out), "tokenized_rows": len(rows),
                 "leaks": [l.describe() for l in leaks][:50]},
        "steps": trainer.state.global_step, "effective_batch": config.per_device_batch_size
        * config.gradient_accumulation_steps,
        "first_loss": losses[0] if losses else None, "final_loss": losses[-1] if losses else None,
        "held_out_answer_loss": {"before": held_loss_before, "after": held_loss_after},
        "heldout_perplexity": {"base": perplexity_before, "sft": perplexity_after},
        "seconds": {"load": round(load_seconds, 1), "train": round(train_seconds, 1)},
        "outputs": outputs, "models": entries, "config": config_dict(config), "config_hash": config_hash(config),
        "versions": package_versions("torch", "transformers", "trl", "peft", "unsloth", "datasets"),
    }
    write_json(out / "manifest.json", manifest)
    write_models_entries(Path(config.models_out), entries)
    log(f"trained {manifest['steps']} steps in {train_seconds:.1f} s; training loss {manifest['first_loss']} -> "
        f"{manifest['final_loss']}; held-out answer loss {held_loss_before} -> {held_loss_after}; held-out "
        f"perplexity {perplexity_before.get('perplexity')} -> {perplexity_after.get('perplexity')}")
    log(f"models.yaml entries {', '.join(entries)} written to {config.models_out}")
    return manifest


def held_out_perplexity(model, tokenizer, examples: list, label: str, seed: int) -> dict[str, Any]:
    """The model's perplexity on the held-out answers, with a bootstrap interval over examples
    (harness.fidelity); a model that cannot be scored (no chat template, a slow tokenizer) gives the reason."""
    from harness.errors import BenchError
    from harness.fidelity import heldout_perplexity
    from harness.fidelity.scorers import TransformersScorer

    if not examples:
        return {"model": label, "perplexity": None, "reason": "no held-out examples"}
    was_training = model.training
    model.eval()
    try:
        device = str(next(model.parameters()).device)
        scorer = TransformersScorer(label, model, tokenizer, device=device)
        return heldout_perplexity(scorer, examples, seed=seed).model_dump(mode="json")
    except BenchError as exc:
        return {"model": label, "perplexity": None, "reason": str(exc)}
    finally:
        if was_training:
            model.train()


def hyper_parameters(config: SFTConfig) -> dict[str, Any]:
    from training.trainer import auto_mixed_precision

    return {"output_dir": str(Path(config.output_dir) / "trainer"), "batch_size": config.per_device_batch_size,
            "gradient_accumulation_steps": config.gradient_accumulation_steps, "learning_rate": config.learning_rate,
            "max_steps": config.max_steps, "num_train_epochs": config.num_train_epochs,
            "warmup_steps": config.warmup_steps, "lr_scheduler": config.lr_scheduler,
            "weight_decay": config.weight_decay, "seed": config.seed, "max_length": config.max_seq_length,
            "logging_steps": config.logging_steps, "mixed_precision": auto_mixed_precision(config.mixed_precision)}


def _fingerprint(base: str) -> str:
    return hf_fingerprint(base) if Path(base).is_dir() else f"hub:{base}"


def main(argv: list[str] | None = None) -> int:
    return recipe_main(SFTConfig, run_sft, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
