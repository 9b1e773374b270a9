"""The SFT recipe for a few real steps on SmolLM2-135M, through both backends, run as the README runs it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers.models import smollm2_hf_dir  # noqa: E402

pytestmark = pytest.mark.slow

SYSTEM = "You are an intake assistant. Write an SBAR note."
CLEAN = [
    ("My toddler has had a runny nose for three days and is eating fine.",
     "Situation: Toddler with a runny nose for three days.\nBackground: Eating normally.\n"
     "Assessment: No red flags mentioned.\nRecommendation: Routine appointment if it lasts over ten days."),
    ("I'm 45 and my left heel hurts when I first stand up in the morning.",
     "Situation: 45-year-old with morning heel pain.\nBackground: No history given.\n"
     "Assessment: Needs a clinician's review.\nRecommendation: Book a routine appointment."),
    ("Since starting a new soap my hands are itchy and red between the fingers.",
     "Situation: Itchy red skin between the fingers since a new soap.\nBackground: New soap.\n"
     "Assessment: No red flags mentioned.\nRecommendation: Mention it at a routine appointment."),
    ("I keep waking at 4am and cannot get back to sleep, for a month now.",
     "Situation: Early waking for a month.\nBackground: No history given.\n"
     "Assessment: Ongoing sleep problem to discuss.\nRecommendation: Book a routine appointment."),
    ("My 70-year-old father has had ankle swelling by evening for two weeks.",
     "Situation: 70-year-old with evening ankle swelling for two weeks.\nBackground: No history given.\n"
     "Assessment: Needs assessment soon.\nRecommendation: Book an appointment this week."),
    ("I get heartburn after late dinners, about three nights a week.",
     "Situation: Heartburn after late meals three nights a week.\nBackground: No history given.\n"
     "Assessment: No red flags mentioned.\nRecommendation: Discuss at a routine appointment."),
]
# chest-pain-01 of suites/sbar-intake.jsonl, reworded: the leakage check must refuse it.
PLANTED = ("Crushing chest pain going into my left arm started 20 minutes ago; I am 58, sweating, and I feel "
           "sick. Is this something to bring up at Friday's appointment?")


def write_data(path: Path) -> None:
    rows = CLEAN[:3] + [(PLANTED, "Situation: Chest pain.\nBackground: None.\nAssessment: Red flag.\n"
                                  "Recommendation: Call emergency services now.")] + CLEAN[3:]
    path.write_text("".join(json.dumps({"messages": [{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": u},
                                                     {"role": "assistant", "content": a}]}) + "\n"
                            for u, a in rows))


def run_sft(tmp_path: Path, backend: str) -> tuple[dict, Path]:
    data, out, models = tmp_path / "train.jsonl", tmp_path / "sft", tmp_path / "models.yaml"
    write_data(data)
    base = smollm2_hf_dir()
    command = [sys.executable, "-m", "training.sft", "--config", str(ROOT / "training/configs/sft_smollm2_cpu.yaml"),
               "--base-model", str(base), "--make-base", "false", "--data", str(data), "--output-dir", str(out),
               "--models-out", str(models), "--backend", backend, "--max-steps", "2", "--per-device-batch-size", "2",
               "--gradient-accumulation-steps", "1", "--warmup-steps", "0", "--max-seq-length", "128",
               "--held-out-examples", "2", "--suites-dir", str(ROOT / "suites")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "UNSLOTH_SKIP_TORCHVISION_CHECK": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refused: training example 3 is a paraphrase of sbar-intake:chest-pain-01" in done.stderr
    return json.loads((out / "manifest.json").read_text()), base


def check_outputs(manifest: dict, base: Path, backend: str, tmp_path: Path) -> None:
    from safetensors import safe_open

    from harness.config import load_models

    out = tmp_path / "sft"
    assert manifest["backend"] == backend
    assert manifest["steps"] == 2 and manifest["effective_batch"] == 2
    assert manifest["data"]["read"] == 7 and manifest["data"]["refused_as_leaked"] == 1
    assert (manifest["data"]["trained_on"], manifest["data"]["held_out"]) == (4, 2)
    assert manifest["base"]["fingerprint"].startswith("hf:sha256:")
    assert manifest["data"]["hash"].startswith("sha256:")
    assert manifest["config"]["lora_r"] == 16 and len(manifest["config"]["target_modules"]) == 7
    assert all(isinstance(x, float) for x in (manifest["first_loss"], manifest["final_loss"],
                                              manifest["held_out_answer_loss"]["before"],
                                              manifest["held_out_answer_loss"]["after"]))
    loss_rows = (out / "loss.csv").read_text().strip().splitlines()
    assert loss_rows[0] == "step,loss,learning_rate,grad_norm" and len(loss_rows) == 3
    assert (out / "adapter" / "adapter_config.json").is_file()
    adapter_config = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert adapter_config["r"] == 16 and set(adapter_config["target_modules"]) == {
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    # training moved the adapter: LoRA's B matrices start at zero
    with safe_open(str(out / "adapter" / "adapter_model.safetensors"), "pt") as adapter:
        b_names = [k for k in adapter.keys() if "lora_B" in k]
        assert len(b_names) == 30 * 7
        assert any(adapter.get_tensor(k).abs().max() > 0 for k in b_names)
    with safe_open(str(out / "merged" / "model.safetensors"), "pt") as merged, \
            safe_open(str(base / "model.safetensors"), "pt") as original:
        embed = "model.embed_tokens.weight"
        assert merged.get_tensor(embed).float().allclose(original.get_tensor(embed).float(), atol=1e-2)
        if backend == "trl":  # fp32 throughout, so the merge shows exactly where the adapter went
            name = "model.layers.0.self_attn.q_proj.weight"
            assert not merged.get_tensor(name).allclose(original.get_tensor(name))
            assert merged.get_tensor(embed).equal(original.get_tensor(embed))
    entries = load_models(tmp_path / "models.yaml")
    assert entries["smollm2-135m-sft"].kind == "hf" and entries["smollm2-135m-sft-lora"].kind == "lora"
    assert entries["smollm2-135m-hf"].options.path == str(base)


def test_sft_with_trl_and_peft(tmp_path):
    manifest, base = run_sft(tmp_path, "trl")
    check_outputs(manifest, base, "trl", tmp_path)


def test_sft_with_unsloth(tmp_path):
    if importlib.util.find_spec("unsloth") is None:
        pytest.skip("unsloth is not installed (pip install --no-deps unsloth==2026.10.9 unsloth_zoo==2026.10.9)")
    manifest, base = run_sft(tmp_path, "unsloth")
    check_outputs(manifest, base, "unsloth", tmp_path)


def test_assistant_only_labels():
    from transformers import AutoTokenizer

    sys.path.insert(0, str(ROOT))
    from training.chat_data import IGNORE, tokenize_example

    tokenizer = AutoTokenizer.from_pretrained(str(smollm2_hf_dir()))
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "first question"},
                {"role": "assistant", "content": "first answer"}, {"role": "user", "content": "second question"},
                {"role": "assistant", "content": "second answer"}]
    row = tokenize_example(tokenizer, messages, max_length=512)
    trained = tokenizer.decode([t for t, label in zip(row["input_ids"], row["labels"]) if label != IGNORE])
    assert trained == "first answer<|im_end|>\nsecond answer<|im_end|>\n"
    cut = tokenize_example(tokenizer, messages, max_length=10)
    assert len(cut["input_ids"]) == len(cut["labels"]) == 10
