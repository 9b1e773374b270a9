"""One training loop for the recipes: trl's SFTTrainer over pre-tokenized rows, and the loss curve it logged.

The rows carry `input_ids` and `labels` (-100 outside the assistant's answers, see chat_data.py), so trl
keeps the labels as they are and only pads; the same call trains a peft model (sft), an unsloth model (sft,
patched trainer) and a fake-quantized full model (qat).
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from typing import Any


def train(model, tokenizer, rows: list[dict], hp: dict[str, Any]):
    """Train in place; returns the trainer (its state holds the step count and the logged losses)."""
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    dtype = next(model.parameters()).dtype
    precision = hp.get("mixed_precision") or "no"
    bf16 = dtype == torch.bfloat16 or precision == "bf16"
    fp16 = dtype == torch.float16 or precision == "fp16"
    args = SFTConfig(
        output_dir=hp["output_dir"], per_device_train_batch_size=hp["batch_size"],
        gradient_accumulation_steps=hp["gradient_accumulation_steps"], learning_rate=hp["learning_rate"],
        max_steps=hp["max_steps"] if hp["max_steps"] > 0 else -1, num_train_epochs=hp["num_train_epochs"],
        warmup_steps=hp["warmup_steps"], lr_scheduler_type=hp["lr_scheduler"], weight_decay=hp["weight_decay"],
        optim="adamw_torch", logging_steps=hp["logging_steps"], save_strategy="no", report_to="none",
        seed=hp["seed"], max_length=hp["max_length"], bf16=bf16, fp16=fp16,
        dataloader_num_workers=0, disable_tqdm=True,
        use_cpu=next(model.parameters()).device.type == "cpu",  # transformers wants this said for bf16 on CPU
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    trainer.train()
    return trainer


def auto_mixed_precision(requested: str) -> str:
    """"bf16" where the hardware computes it fast (a recent GPU, or a CPU with bf16 instructions: on this
    project's 2-core CPU a forward and backward pass ran 7 times faster under bf16 autocast than in fp32),
    "fp16" on older GPUs, else "no". The weights stay fp32 under autocast, so small updates are not lost."""
    if requested != "auto":
        if requested not in ("bf16", "fp16", "no"):
            from harness.errors import ConfigError

            raise ConfigError(f"mixed_precision must be auto, bf16, fp16 or no, not {requested!r}",
                              key="mixed_precision")
        return requested
    import torch

    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    try:
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "no"
    except (AttributeError, RuntimeError):
        return "no"


def logged_losses(log_history: list[dict]) -> list[float]:
    return [h["loss"] for h in log_history if "loss" in h]


def write_loss_curve(log_history: list[dict], out_dir: Path) -> dict[str, str]:
    """loss.csv (step, loss, learning rate, gradient norm), and loss.png when matplotlib is installed."""
    points = [(h["step"], h["loss"], h.get("learning_rate"), h.get("grad_norm")) for h in log_history if "loss" in h]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "loss.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "loss", "learning_rate", "grad_norm"])
        writer.writerows(points)
    outputs = {"loss_csv": str(csv_path)}
    if points and importlib.util.find_spec("matplotlib") is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot([p[0] for p in points], [p[1] for p in points], marker=".")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        fig.tight_layout()
        fig.savefig(out_dir / "loss.png", dpi=100)
        plt.close(fig)
        outputs["loss_png"] = str(out_dir / "loss.png")
    return outputs
