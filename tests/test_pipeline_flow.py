"""`bench pipeline` end to end through promotion on check-only and fidelity gates, with real evaluations (mock
models answering, a character-level fake giving the logits) and the recipes replaced by a fake process that
writes what each recipe writes (its manifest, with the config hash, and its models.yaml entries); and
`--resume`, which reuses a step only when its manifest matches the config it would run with now."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from tests.conftest import BAD, GOOD, write_project
from tests.test_fidelity_run import PrintableScorer, row
from training import pipeline as pl

# Logits of the models that have them: the f16 export drifts a little from the SFT model, q8_0 hardly from
# the f16 file, q4_k_m a lot.
LOGITS = {"sft-f16": row(e=2.0), "sbar-f16": row(e=2.0, a=0.05), "sbar-q8_0": row(e=2.0, a=0.1),
          "sbar-q4_k_m": row(e=0.5, t=2.5)}
SIZES = {"f16": 258.0, "q8_0": 138.0, "q4_k_m": 101.0}


class FakeRecipes:
    """Stands in for `python -m training.<recipe>` in its own process: reads the same flags, writes the same
    manifest (with its config hash) and models.yaml entries, and records each call."""

    def __init__(self):
        self.calls: list[str] = []

    def __call__(self, argv, *args, **kwargs):
        from training.common import config_dict, config_hash, parse_config, write_json, write_models_entries

        module = argv[2]
        cls = pl._recipe_config_class(module)
        config = parse_config(cls, argv[3:])
        out = Path(config.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        step = module.split(".")[1]
        self.calls.append(f"{step}:{getattr(config, 'model_id', '')}")
        manifest = {"recipe": step, "config": config_dict(config), "config_hash": config_hash(config),
                    "model_id": getattr(config, "model_id", None)}
        if step == "sft":
            (out / "loss.csv").write_text("step,loss,learning_rate,grad_norm\n1,2.8,,\n2,2.5,,\n3,2.3,,\n")
            manifest.update(base={"path": config.base_model}, outputs={"merged": str(out / "merged"),
                                                                       "loss_csv": str(out / "loss.csv")},
                            steps=3, held_out_answer_loss={"before": 2.7, "after": 2.3},
                            heldout_perplexity={"base": {"model": "base", "n_texts": 4, "n_tokens": 300,
                                                         "perplexity": 14.9, "perplexity_ci": [12.0, 18.0]},
                                                "sft": {"model": "sft", "n_texts": 4, "n_tokens": 300,
                                                        "perplexity": 9.97, "perplexity_ci": [8.5, 11.5]}})
        elif step == "qat":
            manifest.update(outputs={"float": str(out / "float")}, steps=2)
        elif step == "export_gguf":
            levels = ["f16", *config.quantizations]
            files = [{"id": f"{config.model_id}-{lv}", "level": lv, "size_mib": SIZES[lv]} for lv in levels]
            manifest.update(files=files, source={"path": config.source_model})
            # the base answers badly (a diagnosis, no SBAR headings); everything trained answers well
            answer = BAD if config.model_id == "base" else GOOD.replace("\\n", "\n")
            # a rule that never fires makes each file's fingerprint its own, as a file's hash would
            write_models_entries(Path(config.models_out), {
                f["id"]: {"kind": "mock", "responses": [answer], "rules": [{"contains": f["id"], "response": "-"}]}
                for f in files})
        write_json(out / ("make_base.json" if step == "make_base" else "manifest.json"), manifest)
        return SimpleNamespace(returncode=0)


def project(tmp: Path, **overrides) -> Path:
    """The mini suite (with reference answers), recipe configs under tmp, and a pipeline config whose
    required gates rest on checks and fidelity, with the judge's win rate advisory."""
    suite = write_project(tmp, n_cases=6)
    cases = [json.loads(line) for line in (tmp / "suites" / "mini.jsonl").read_text().splitlines()]
    (tmp / "suites" / "mini.jsonl").write_text("".join(
        json.dumps({**c, "reference": f"Situation: case {i}. Recommendation: see a clinician."}) + "\n"
        for i, c in enumerate(cases)))
    configs = {"sft": {"base_model": str(tmp / "base"), "make_base": False, "output_dir": str(tmp / "sft"),
                       "model_id": "sft-hf"},
               "qat": {"output_dir": str(tmp / "qat"), "max_steps": 2},
               "export": {"output_dir": str(tmp / "gguf"), "model_id": "sbar", "quantizations": ["q8_0", "q4_k_m"]}}
    for name, values in configs.items():
        (tmp / f"{name}.yaml").write_text(yaml.safe_dump(values))
    config = {
        "version": 1, "suite": str(suite), "models": str(tmp / "models.yaml"),
        "models_out": str(tmp / "out-models.yaml"), "work_dir": str(tmp / "work"),
        "reports_dir": str(tmp / "reports"), "store": str(tmp / "bench.sqlite"), "sample": None,
        "steps": {"base": None, "sft": str(tmp / "sft.yaml"), "qat": str(tmp / "qat.yaml"),
                  "export": str(tmp / "export.yaml")},
        "gates": {"sft": [{"type": "beats", "candidate": "{candidate}", "baseline": "{baseline}", "metric": "checks"},
                          {"type": "not_worse", "axis": "checks:safety", "candidate": "{candidate}",
                           "baseline": "{baseline}", "margin": 0.1},
                          {"type": "beats", "candidate": "{candidate}", "baseline": "{baseline}",
                           "required": False}],
                  "exports": ["fidelity:{candidate}:{baseline}:0.05:0.9",
                              "not-worse:checks:{candidate}:{baseline}:0.1"]},
        "base_export_id": "base", "sft_export_id": "sft", "promote_id": "promoted",
        "promote_to": str(tmp / "promoted.yaml"), **overrides,
    }
    path = tmp / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
def fakes(monkeypatch):
    recipes = FakeRecipes()
    monkeypatch.setattr(pl.subprocess, "run", recipes)
    opened: list[str] = []

    def open_scorer(entry):
        from harness.errors import ConfigError

        if entry.id not in LOGITS:
            raise ConfigError(f"model '{entry.id}' is of kind '{entry.kind}', which gives no logits")
        return LadderScorer(entry.id, opened)

    monkeypatch.setattr("harness.fidelity.stage.open_scorer", open_scorer)
    return recipes


class LadderScorer(PrintableScorer):
    def __init__(self, model_id: str, opened: list):
        self.model_id, self.row = model_id, LOGITS[model_id]
        opened.append(model_id)


def kl(ref: np.ndarray, cand: np.ndarray) -> float:
    import scipy.special

    return float(scipy.special.rel_entr(scipy.special.softmax(ref), scipy.special.softmax(cand)).sum())


def run(path: Path, **kwargs) -> tuple[int, str]:
    out = io.StringIO()
    code = pl.run_pipeline(pl.load_pipeline_config(path), path, out=out, **kwargs)
    return code, out.getvalue()


def test_a_small_pipeline_promotes_on_check_only_and_fidelity_gates(tmp_path, monkeypatch, fakes):
    monkeypatch.chdir(tmp_path)
    path = project(tmp_path)
    code, out = run(path)
    assert code == 0, out
    assert fakes.calls == ["sft:sft-hf", "export_gguf:base", "export_gguf:sft", "qat:smollm2-135m-qat",
                           "export_gguf:sbar"]
    # q4_k_m drifts past 0.05 nats: the smallest export that passed is q8_0
    assert kl(LOGITS["sbar-f16"], LOGITS["sbar-q4_k_m"]) > 0.05 > kl(LOGITS["sbar-f16"], LOGITS["sbar-q8_0"])
    promoted = yaml.safe_load((tmp_path / "promoted.yaml").read_text())["models"]["promoted"]
    assert promoted["kind"] == "mock" and "promoted sbar-q8_0 as 'promoted'" in out

    state = json.loads((tmp_path / "work" / "pipeline.json").read_text())
    gates = {(g["step"], g["name"]): g for g in state["gates"]}
    checks = gates[("sft vs base", "beats:sft-f16:base-f16:checks")]
    assert checks["verdict"] == "pass" and checks["required"] and checks["rests_on"] == ["checks"]
    assert checks["established"] and checks["interval_of"] == "paired difference, checks:score"
    win_rate = gates[("sft vs base", "beats:sft-f16:base-f16")]
    assert not win_rate["required"] and win_rate["rests_on"] == ["judge"] and not win_rate["established"]
    q4 = gates[("ladder", "fidelity:sbar-q4_k_m:sbar-f16")]
    assert q4["verdict"] == "fail" and q4["established"] and q4["rests_on"] == ["fidelity"]
    assert q4["estimate"] == pytest.approx(kl(LOGITS["sbar-f16"], LOGITS["sbar-q4_k_m"]), rel=1e-9)
    f16 = gates[("ladder", "fidelity:sbar-f16:sft-f16")]
    assert f16["verdict"] == "pass" and f16["figure"] == pytest.approx(kl(LOGITS["sft-f16"], LOGITS["sbar-f16"]))

    # the summary says which gates were advisory and which could not be established
    assert "Advisory (reported, never blocking): beats:sft-f16:base-f16 (sft vs base): fail" in out
    assert "Could not be established:\n- beats:sft-f16:base-f16 (sft vs base, advisory): " in out
    gates_md = (tmp_path / "work" / "gates.md").read_text()
    assert "### Summary" in gates_md and "Could not be established:" in gates_md
    assert "7 of 8 required gates passed; 1 advisory" in gates_md

    # the ladder: size, speed, check-only score with its interval, KL and top-1 against the parent, perplexity
    ladder = {r["id"]: r for r in state["ladder"]}
    assert list(ladder) == ["sft-f16", "sbar-f16", "sbar-q8_0", "sbar-q4_k_m"]
    assert ladder["sbar-q4_k_m"]["parent"] == "sbar-f16" and ladder["sbar-q4_k_m"]["size_mib"] == 101.0
    assert ladder["sbar-q4_k_m"]["top1"] == 0.0 and ladder["sbar-q8_0"]["top1"] == 1.0
    assert ladder["sft-f16"]["perplexity"] is not None and ladder["sft-f16"]["mean_kl"] is None
    assert ladder["sbar-q8_0"]["checks"] == ladder["sft-f16"]["checks"] and ladder["sbar-q8_0"]["checks_ci"]
    assert "| sbar-q4\\_k\\_m | sbar-f16 | 101.0 |" in (tmp_path / "work" / "ladder.md").read_text()

    page = (tmp_path / "work" / "pipeline.html").read_text()
    assert "Promoted <span class=\"mono\">sbar-q8_0</span>" in page
    for text in ("fidelity:sbar-q4_k_m:sbar-f16", "advisory", "14.900", "Loss per optimizer step", "<svg",
                 "quantization level"):
        assert text in page
    assert "<script" not in page and 'src="http' not in page and "<link" not in page


def test_resume_reuses_the_steps_whose_manifest_matches(tmp_path, monkeypatch, fakes):
    monkeypatch.chdir(tmp_path)
    path = project(tmp_path)
    assert run(path)[0] == 0
    fakes.calls.clear()
    code, out = run(path, resume=True)
    assert code == 0 and fakes.calls == [], out  # every recipe step reused; the evaluations come from the store
    assert "== qat: reusing" in out
    # the QAT config changes: QAT and the export made from it run again, nothing before them
    (tmp_path / "qat.yaml").write_text(yaml.safe_dump({"output_dir": str(tmp_path / "qat"), "max_steps": 3}))
    code, out = run(path, resume=True)
    assert code == 0 and fakes.calls == ["qat:smollm2-135m-qat", "export_gguf:sbar"]
    # a step that did not finish (no manifest) runs, and so does what was made from it
    fakes.calls.clear()
    (tmp_path / "sft" / "manifest.json").unlink()
    assert run(path, resume=True)[0] == 0
    assert fakes.calls == ["sft:sft-hf", "export_gguf:base", "export_gguf:sft", "qat:smollm2-135m-qat",
                           "export_gguf:sbar"]
    state = json.loads((tmp_path / "work" / "pipeline.json").read_text())
    assert [s["status"] for s in state["steps"]] == ["ran"] * 5
    # without --resume every step runs
    fakes.calls.clear()
    assert run(path)[0] == 0 and len(fakes.calls) == 5


def test_the_shipped_configs_make_judge_gates_advisory_on_cpu_only():
    from harness.gates.spec import parse_gates

    root = Path(__file__).resolve().parents[1] / "training" / "configs"

    def gates(name: str) -> list:
        config = pl.load_pipeline_config(root / name)
        return [g for templates in (config.gates.sft, config.gates.exports)
                for g in pl.fill_gates(templates, "cand", "base", name)]

    def on_judge(gate) -> bool:
        return gate.type == "beats" and not gate.metric.startswith("checks") or \
            gate.type == "not_worse" and not gate.axis.startswith("checks")

    cpu = gates("pipeline_smollm2_cpu.yaml")
    assert any(on_judge(g) for g in cpu) and all(not g.required for g in cpu if on_judge(g))
    assert all(g.required for g in cpu if not on_judge(g))
    assert {g.type for g in cpu if g.required} == {"beats", "not_worse", "fidelity"}
    gpu = gates("pipeline_qwen2.5_0.5b_gpu.yaml")
    assert all(g.required for g in gpu) and any(on_judge(g) for g in gpu)
    assert parse_gates(["fidelity:a:b:0.1"], "x")[0].required
