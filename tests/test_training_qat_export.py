"""QAT for a real step on SmolLM2-135M, then the GGUF export of its weights, checked by loading what was written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers.models import smollm2_hf_dir  # noqa: E402
from test_training_sft import CLEAN, SYSTEM  # noqa: E402

pytestmark = pytest.mark.slow


def recipe(module: str, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_qat_then_export_ladder(tmp_path):
    from harness.adapters.base import GenerationSettings
    from harness.adapters.gguf import GGUFAdapter, GGUFOptions
    from harness.adapters.qat import load_qat_checkpoint
    from harness.config import load_models

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": u},
                                                     {"role": "assistant", "content": a}]}) + "\n" for u, a in CLEAN))
    models = tmp_path / "models.yaml"
    recipe("training.qat", "--config", str(ROOT / "training/configs/qat_smollm2_cpu.yaml"),
           "--source-model", str(smollm2_hf_dir()), "--data", str(data), "--output-dir", str(tmp_path / "qat"),
           "--models-out", str(models), "--max-steps", "1", "--per-device-batch-size", "2",
           "--gradient-accumulation-steps", "1", "--max-seq-length", "128", "--held-out-examples", "2",
           "--suites-dir", str(ROOT / "suites"))
    manifest = json.loads((tmp_path / "qat" / "manifest.json").read_text())
    assert manifest["steps"] == 1 and manifest["scheme"] == "int4-weight-only"
    losses = manifest["held_out_answer_loss"]
    # int4 fake quantization costs something before training: the loss it has to win back
    assert losses["fake_quantized_before"] > losses["float_source"]
    assert isinstance(losses["fake_quantized_after"], float)

    # the converted checkpoint loads through the qat kind with real int4 weights
    from torchao.utils import TorchAOBaseTensor

    model, _ = load_qat_checkpoint(tmp_path / "qat" / "checkpoint")
    assert isinstance(model.model.layers[0].self_attn.q_proj.weight, TorchAOBaseTensor)
    assert not isinstance(model.lm_head.weight, TorchAOBaseTensor)
    del model

    gguf = tmp_path / "gguf"
    recipe("training.export_gguf", "--config", str(ROOT / "training/configs/export_smollm2.yaml"),
           "--source-model", str(tmp_path / "qat" / "float"), "--output-dir", str(gguf), "--model-id", "tiny",
           "--quantizations", "q8_0,q4_k_m", "--models-out", str(models))
    sizes = json.loads((gguf / "sizes.json").read_text())
    assert list(sizes) == ["tiny-f16", "tiny-q8_0", "tiny-q4_k_m"]
    assert sizes["tiny-f16"] > sizes["tiny-q8_0"] > sizes["tiny-q4_k_m"] > 50
    for model_id, mib in sizes.items():
        assert (gguf / f"{model_id}.gguf").stat().st_size / 2**20 == pytest.approx(mib, abs=0.01)
    table = (gguf / "sizes.md").read_text().splitlines()
    assert table[0].startswith("| file | level | MiB | vs f16 |") and len(table) == 5
    assert "| 1.00x |" in table[2]
    assert not list(gguf.glob("*.partial"))

    entries = load_models(models)
    assert {"smollm2-135m-qat", "smollm2-135m-qat-float", "tiny-f16", "tiny-q8_0", "tiny-q4_k_m"} <= set(entries)
    assert entries["tiny-q4_k_m"].options.path.endswith("tiny-q4_k_m.gguf")
    adapter = GGUFAdapter("tiny-q4_k_m", GGUFOptions(path=str(gguf / "tiny-q4_k_m.gguf"), n_ctx=512))
    answer = adapter.generate([{"role": "user", "content": "My knee hurts."}], GenerationSettings(max_tokens=8))
    adapter.close()
    assert answer.error is None and answer.output_tokens and answer.text.strip()


def test_export_refuses_an_unknown_level_and_a_missing_checkpoint(tmp_path):
    done = subprocess.run([sys.executable, "-m", "training.export_gguf", "--source-model", str(tmp_path),
                           "--quantizations", "q3_xl", "--output-dir", str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown quantization 'q3_xl'" in done.stderr
    done = subprocess.run([sys.executable, "-m", "training.export_gguf", "--source-model", str(tmp_path),
                           "--output-dir", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "not an HF checkpoint folder" in done.stderr
