"""`bench pipeline` for real on SmolLM2-135M, end to end through promotion: the real recipes (SFT through trl +
peft, QAT, the GGUF export with a one-level ladder) for a step or two each, the real evaluations of three cases
of sbar-intake without a judge, and gates that rest on the rubric's checks and on the models' token
probabilities. Every file it writes goes under tmp_path (the recipes and the evaluations run there)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers.models import smollm2_hf_dir  # noqa: E402

pytestmark = pytest.mark.slow

CONFIGS = ROOT / "training" / "configs"


def step_config(tmp: Path, shipped: str, name: str, **overrides) -> str:
    """The shipped recipe config with the tiny settings (and tmp paths) put over it."""
    values = yaml.safe_load((CONFIGS / shipped).read_text())
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**values, **overrides}, sort_keys=False))
    return str(path)


def short_suite(tmp: Path) -> Path:
    """sbar-intake as it is (its cases, rubric and human labels, by full path), with shorter answers: the
    evaluations' time is mostly generation."""
    suite = yaml.safe_load((ROOT / "suites" / "sbar-intake.yaml").read_text())
    suite.update(cases=str(ROOT / "suites" / suite["cases"]), labels=str(ROOT / "suites" / suite["labels"]),
                 rubric=str(ROOT / "rubrics" / f"{suite['rubric']}.yaml"),
                 generation={**suite["generation"], "max_tokens": 96})
    path = tmp / "sbar-intake.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False, allow_unicode=True))
    return path


def pipeline_config(tmp: Path) -> Path:
    # a slice of the real training data: the leakage check and the held-out split run on it as on the whole
    data = tmp / "sbar_train.jsonl"
    data.write_text("".join((ROOT / "training" / "data" / "sbar_train.jsonl").read_text().splitlines(True)[:12]))
    tiny = {"data": str(data), "per_device_batch_size": 2, "gradient_accumulation_steps": 1, "warmup_steps": 0,
            "max_seq_length": 128, "held_out_examples": 2, "suites_dir": str(ROOT / "suites"),
            "models_out": str(tmp / "out-models.yaml")}
    steps = {
        "base": None,  # the cached HF copy of the bundled model is the SFT step's base
        "sft": step_config(tmp, "sft_smollm2_cpu.yaml", "sft", **tiny, base_model=str(smollm2_hf_dir()),
                           make_base=False, backend="trl", max_steps=2, output_dir=str(tmp / "sft")),
        "qat": step_config(tmp, "qat_smollm2_cpu.yaml", "qat", **tiny, max_steps=1, output_dir=str(tmp / "qat")),
        "export": step_config(tmp, "export_smollm2.yaml", "export", output_dir=str(tmp / "gguf"), model_id="tiny",
                              quantizations=["q8_0"], n_ctx=2048, models_out=str(tmp / "out-models.yaml")),
    }
    pair = {"candidate": "{candidate}", "baseline": "{baseline}"}
    config = {
        "version": 1, "suite": str(short_suite(tmp)), "models": str(ROOT / "models.yaml"),
        "models_out": str(tmp / "out-models.yaml"), "work_dir": str(tmp / "work"),
        "reports_dir": str(tmp / "reports"), "store": str(tmp / "bench.sqlite"), "sample": 3, "judge": "none",
        "steps": steps,
        "gates": {
            # required: what three cases and no judge can settle; advisory: the judge's own scores
            "sft": [{"type": "not_worse", "axis": "checks", **pair, "margin": 0.5},
                    {"type": "beats", "metric": "judge", **pair, "required": False}],
            "exports": ["fidelity:{candidate}:{baseline}:0.1:0.8",
                        {"type": "not_worse", "axis": "checks", **pair, "margin": 0.5},
                        {"type": "not_worse", "axis": "judge", **pair, "margin": 0.1, "required": False}]},
        "fidelity": {"texts": "suite"},
        "base_export_id": "base", "sft_export_id": "sft", "promote_id": "promoted",
        "promote_to": str(tmp / "promoted.yaml"),
    }
    path = tmp / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def git_status() -> str:
    done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT, capture_output=True,
                          text=True)
    return done.stdout if done.returncode == 0 else ""


def test_the_pipeline_trains_exports_gates_and_promotes_a_real_model(tmp_path):
    path = pipeline_config(tmp_path)
    before = git_status()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "UNSLOTH_SKIP_TORCHVISION_CHECK": "1"}
    done = subprocess.run([sys.executable, "-m", "harness", "pipeline", str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=1500)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    assert git_status() == before  # nothing written into the repository
    work = tmp_path / "work"
    state = json.loads((work / "pipeline.json").read_text())
    assert [(s["step"], s["status"]) for s in state["steps"]] == [
        ("sft", "ran"), ("export-base", "ran"), ("export-sft", "ran"), ("qat", "ran"), ("export", "ran")]

    # promoted: the smallest export whose gates and whose parent's gates passed, as a GGUF file that exists
    assert state["promoted"] == "tiny-q8_0" and state["promote_id"] == "promoted"
    promoted = yaml.safe_load((tmp_path / "promoted.yaml").read_text())["models"]["promoted"]
    gguf = tmp_path / promoted["path"]  # relative to the directory the pipeline ran in
    assert promoted["kind"] == "gguf" and gguf.name == "tiny-q8_0.gguf"
    assert gguf.is_file() and gguf.stat().st_size > 100 * 2**20
    assert "promoted tiny-q8_0 as 'promoted'" in out

    # the gates: the required ones established and passed; the advisory judge gates reported, not established
    gates = {(g["step"], g["name"]): g for g in state["gates"]}
    required = {("sft vs base", "not-worse:checks:sft-f16:base-f16"),
                ("ladder", "fidelity:tiny-f16:sft-f16"), ("ladder", "not-worse:checks:tiny-f16:sft-f16"),
                ("ladder", "fidelity:tiny-q8_0:tiny-f16"), ("ladder", "not-worse:checks:tiny-q8_0:tiny-f16")}
    advisory = {("sft vs base", "beats:sft-f16:base-f16:judge"), ("ladder", "not-worse:judge:tiny-f16:sft-f16"),
                ("ladder", "not-worse:judge:tiny-q8_0:tiny-f16")}
    assert set(gates) == required | advisory, sorted(gates)
    for key in required:
        gate = gates[key]
        assert gate["required"] and gate["established"] and gate["verdict"] == "pass", gate
        assert gate["rests_on"] == (["fidelity"] if gate["type"] == "fidelity" else ["checks"])
        assert math.isfinite(gate["estimate"]) and len(gate["interval"]) == 2
    for key in advisory:
        gate = gates[key]
        assert not gate["required"] and not gate["established"] and gate["not_established"], gate
        assert gate["rests_on"] == ["judge"] and gate["verdict"] != "pass"
    q8 = gates[("ladder", "fidelity:tiny-q8_0:tiny-f16")]
    assert q8["interval_of"] == "mean KL (nats)" and 0 <= q8["interval"][1] <= 0.1
    gates_md = (work / "gates.md").read_text()
    assert "| Gate | Rests on | Required |" in gates_md and "### Summary" in gates_md
    assert "| fidelity:tiny-q8\\_0:tiny-f16 | fidelity | required |" in gates_md
    assert "| beats:sft-f16:base-f16:judge | judge | advisory |" in gates_md
    assert "Could not be established:\n- beats:sft-f16:base-f16:judge (sft vs base, advisory): " in gates_md
    assert "5 of 5 required gates passed; 3 advisory" in gates_md

    # the SFT manifest: held-out perplexity of the base and of the SFT model on the same two held-out answers
    sft = json.loads((tmp_path / "sft" / "manifest.json").read_text())
    assert sft["steps"] == 2
    for model in ("base", "sft"):
        figure = sft["heldout_perplexity"][model]
        assert figure["n_texts"] == 2 and figure["n_tokens"] > 0
        assert 1 < figure["perplexity"] < 1000 and math.isfinite(figure["perplexity"])

    # the ladder: q8_0 against its f16 parent, a finite KL and top-1 agreement
    ladder = {row["id"]: row for row in state["ladder"]}
    assert list(ladder) == ["sft-f16", "tiny-f16", "tiny-q8_0"]
    q8_row = ladder["tiny-q8_0"]
    assert q8_row["parent"] == "tiny-f16" and q8_row["gates"] == "pass"
    assert math.isfinite(q8_row["mean_kl"]) and 0 <= q8_row["mean_kl"] < 0.1
    assert 0.8 <= q8_row["top1"] <= 1 and q8_row["size_mib"] < ladder["tiny-f16"]["size_mib"]
    assert q8_row["mean_kl"] == pytest.approx(q8["estimate"])

    page = (work / "pipeline.html").read_text()
    assert "tiny-q8_0" in page and "advisory" in page
