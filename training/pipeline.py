"""`bench pipeline CONFIG`: train, export, evaluate and gate, promoting a model only through its gates.

    bench pipeline training/configs/pipeline_smollm2_cpu.yaml [--keep-going] [--skip sft ...] [--resume]

Run from the repository root (the configs and data live in training/). The steps, each a recipe run in its
own process with the YAML config the pipeline file names:

1. base    make the base HF checkpoint (training.make_base; reused when already made)
2. sft     LoRA SFT (training.sft); its manifest holds the held-out perplexity of the base and the SFT model
3. gate    base and SFT model exported to f16 GGUF and evaluated side by side on the suite; the SFT model
           must pass the required gates of `gates.sft` against the base
4. qat     quantization-aware refinement of the SFT model (training.qat; optional)
5. export  the QAT-trained (or SFT) weights to f16 GGUF and the quantization ladder (training.export_gguf)
6. ladder  the SFT model, the f16 export and each ladder level evaluated side by side: size, tokens/s, the
           check-only score with its interval, and (the `fidelity` settings) each export's KL divergence and
           top-1 agreement against its parent and its perplexity; each export must pass the required gates of
           `gates.exports` against its parent (the f16 export against the SFT model, each quantized file
           against the f16 file)
7. promote the smallest export whose required gates, and whose parents', all passed is written to
           `promote_to` as `promote_id`; if none did, the pipeline stops with the failing gates (exit 1)

A gate is required (the default) or advisory (`required: false`): an advisory gate is evaluated and reported
the same way but never blocks. The summary (stdout, work_dir/gates.md) lists which gates were advisory and
which could not be established; work_dir/pipeline.json holds every figure and work_dir/pipeline.html shows the
lineage, each gate, the loss curves and the ladder. `--resume` reuses each recipe step whose manifest records
the config it would run with now (`config_hash`) and is newer than the manifests it was made from, so a
stopped pipeline picks up at the step that did not finish; the evaluations resume from the store.

Models are evaluated as GGUF files because that is what runs at a usable speed on CPU: on the project's
2-core machine the f16 GGUF answers at about 100 tokens/s, the same weights through transformers at about 6,
and the torchao int4 QAT checkpoint at under 1. The QAT checkpoint itself (`kind: qat`) is evaluated too when
`evaluate_qat_checkpoint: true` (meant for a GPU).

Gate templates use `{candidate}` and `{baseline}`, filled with the models.yaml ids of each comparison.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError, RunFailed
from harness.yamlfile import load_yaml
from training.pipeline_config import PipelineConfig, fill_gates, load_pipeline_config  # noqa: F401
from training.suite_sample import sample_suite  # noqa: F401 - the pipeline's evaluations read the suite through it


# The recipe steps whose output each step reads: a step is reused on --resume only when its own manifest
# matches its config and is newer than theirs.
DEPENDS_ON = {"sft": ("base",), "export-base": ("base", "sft"), "export-sft": ("sft",), "qat": ("sft",),
              "export": ("sft", "qat")}


# ---------------------------------------------------------------- the steps

class Pipeline:
    def __init__(self, config: PipelineConfig, config_path: Path, *, keep_going: bool, skip: set[str],
                 resume: bool = False, out=None):
        self.config = config
        self.config_path = config_path
        self.keep_going = keep_going or config.keep_going
        self.skip = skip
        self.resume = resume
        self.out = out or sys.stdout
        self.work = Path(config.work_dir)
        self.failed_gates: list[dict] = []
        self.timings: dict[str, float] = {}
        self.manifests: dict[str, Path] = {}
        self.state: dict[str, Any] = {"config": str(config_path), "steps": [], "evaluations": [], "gates": [],
                                      "ladder": [], "lineage": [], "manifests": {}, "promoted": None}

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def recipe(self, step: str, module: str, config_file: str | None, overrides: dict[str, Any]) -> dict:
        """Run one recipe in its own process (a training step's memory goes back when it ends); returns its
        manifest. A skipped step, or on --resume a step whose manifest matches, reuses an earlier run's."""
        from training.common import build_config, config_hash

        started = time.perf_counter()
        argv = [sys.executable, "-m", module]
        if config_file:
            argv += ["--config", config_file]
        for key, value in overrides.items():
            argv += ["--" + key.replace("_", "-"), ",".join(value) if isinstance(value, list) else str(value)]
        values = {}
        if config_file:
            values, _ = load_yaml(Path(config_file))
        merged = build_config(_recipe_config_class(module), {**(values or {}), **overrides},
                              source=config_file or module)
        out_dir = Path(getattr(merged, "output_dir"))
        manifest_path = out_dir / ("make_base.json" if module == "training.make_base" else "manifest.json")
        reused = step in self.skip or (self.resume and self._still_valid(step, manifest_path, config_hash(merged)))
        if reused:
            self.say(f"\n== {step}: reusing {manifest_path}" + ("" if step in self.skip else " (its config matches)"))
        else:
            self.say(f"\n== {step}: {' '.join(argv[1:])}")
            done = subprocess.run(argv)
            if done.returncode != 0:
                raise RunFailed(f"step '{step}' failed (exit {done.returncode}): {' '.join(argv[1:])}")
        if not manifest_path.is_file():
            raise RunFailed(f"step '{step}' left no manifest at {manifest_path}"
                            + (" (a skipped step needs an earlier run)" if step in self.skip else ""))
        seconds = time.perf_counter() - started
        self.timings[step] = self.timings.get(step, 0.0) + seconds
        self.manifests[step] = manifest_path
        self.state["steps"].append({"step": step, "status": "reused" if reused else "ran",
                                    "seconds": round(seconds, 1), "manifest": str(manifest_path)})
        self.save_state()
        manifest = json.loads(manifest_path.read_text())
        manifest.setdefault("output_dir", str(out_dir))
        return manifest

    def _still_valid(self, step: str, manifest_path: Path, expected_hash: str) -> bool:
        """The step's output may be reused: its manifest records the config it would run with now, and it was
        written after the manifests of the steps whose output it read (none of them ran again since)."""
        if not manifest_path.is_file():
            return False
        try:
            recorded = json.loads(manifest_path.read_text()).get("config_hash")
        except (OSError, json.JSONDecodeError):
            return False
        if recorded != expected_hash:
            return False
        written = manifest_path.stat().st_mtime
        return all(self.manifests[d].stat().st_mtime <= written for d in DEPENDS_ON.get(step, ())
                   if d in self.manifests)

    def combined_models(self) -> Path:
        """The project's models (the judge) and the recipes' entries in one models file for `bench run`."""
        merged: dict[str, Any] = {}
        for path in (Path(self.config.models), Path(self.config.models_out)):
            if path.is_file():
                data, _ = load_yaml(path)
                merged.update((data or {}).get("models") or {})
        target = self.work / "models.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump({"version": 1, "models": merged}, sort_keys=False), encoding="utf-8")
        return target

    def suite(self, label: str, fidelity: dict | None = None) -> str | Path:
        """The suite, or a sample of it: cases spread evenly over the file, so that each part of it (red flags,
        chronic, medication, vague, multi-turn, non-English cases) is represented, as a suite of its own name;
        with the evaluation's fidelity settings when it has some."""
        if not self.config.sample and not fidelity:
            return self.config.suite
        folder = self.work / "suite" / label.replace(" ", "-")
        return sample_suite(self.config.suite, self.config.sample, folder, {"fidelity": fidelity} if fidelity else {})

    def evaluate(self, label: str, model_ids: list[str], gates, fidelity: dict | None = None):
        """Evaluate the models side by side; the run records `gates`, and its results and report hold their
        verdicts."""
        from harness.evaluate import run_suite

        suite = self.suite(label, fidelity)
        self.say(f"\n== evaluate ({label}): {', '.join(model_ids)} on {suite}")
        started = time.perf_counter()
        results, index = run_suite(suite, models_path=self.combined_models(), model_ids=model_ids,
                                   judge=self.config.judge, reports_dir=Path(self.config.reports_dir),
                                   store_path=Path(self.config.store), gates=gates)
        self.timings[f"evaluate {label}"] = time.perf_counter() - started
        self.state["evaluations"].append({"label": label, "run_id": results.run_id, "report": str(index),
                                          "models": model_ids, "seconds": round(time.perf_counter() - started, 1)})
        self.say(f"report: {index}")
        return results

    def gate(self, label: str, results, gates) -> list:
        """Print and record the verdicts of the gates the evaluation ran under: figure, interval, required or
        advisory, what each rests on and whether it could be established."""
        from training.pipeline_summary import gate_rows, gates_markdown, summary_lines

        verdicts = results.gates or []
        rows = gate_rows(label, results, gates, verdicts)
        self.state["gates"] += rows
        text = gates_markdown(rows)
        self.say(f"\n== gates ({label})\n" + text + "\n".join(summary_lines(rows)))
        with (self.work / "gates.md").open("a", encoding="utf-8") as handle:
            handle.write(f"### Gates ({label}): {results.suite.name} (run {results.run_id})\n\n{text}\n"
                         + "".join(f"{line}\n" for line in summary_lines(rows)) + "\n")
        self.failed_gates += [{**r, "step": label} for r in rows if r["verdict"] != "pass" and r["required"]]
        self.save_state()
        return verdicts

    def save_state(self) -> None:
        from harness.files import atomic_write_text

        self.state["manifests"] = {step: str(path) for step, path in self.manifests.items()}
        self.state["timings"] = {step: round(seconds, 1) for step, seconds in self.timings.items()}
        atomic_write_text(self.work / "pipeline.json", json.dumps(self.state, indent=2, default=str) + "\n")


def passed_required(verdicts) -> bool:
    """Only required gates decide; an advisory one is reported and never blocks."""
    return all(v.verdict == "pass" for v in verdicts if v.required)


def _recipe_config_class(module: str):
    import importlib

    found = {"training.make_base": "BaseConfig", "training.sft": "SFTConfig", "training.qat": "QATConfig",
             "training.export_gguf": "ExportConfig"}
    return getattr(importlib.import_module(module), found[module])


def run_pipeline(config: PipelineConfig, config_path: Path, *, keep_going: bool = False,
                 skip: set[str] = frozenset(), resume: bool = False, out=None) -> int:
    p = Pipeline(config, config_path, keep_going=keep_going, skip=set(skip), resume=resume, out=out)
    steps, models_out = config.steps, {"models_out": config.models_out}
    p.work.mkdir(parents=True, exist_ok=True)
    (p.work / "gates.md").write_text(f"# Pipeline gates ({config_path})\n\n", encoding="utf-8")

    if steps.base:
        p.recipe("base", "training.make_base", steps.base, models_out)
    sft = p.recipe("sft", "training.sft", steps.sft, models_out)
    sft_merged = sft["outputs"].get("merged")
    if not sft_merged:
        raise ConfigError("the sft step must save the merged model (save_merged: true)", path=steps.sft)

    # 3. the SFT model against its base, both as f16 GGUF files
    base_export = p.recipe("export-base", "training.export_gguf", steps.export, {
        **models_out, "source_model": sft["base"]["path"], "model_id": config.base_export_id,
        "output_dir": str(p.work / "gguf-base"), "quantizations": []})
    sft_export = p.recipe("export-sft", "training.export_gguf", steps.export, {
        **models_out, "source_model": sft_merged, "model_id": config.sft_export_id,
        "output_dir": str(p.work / "gguf-sft"), "quantizations": []})
    base_id, sft_id = base_export["files"][0]["id"], sft_export["files"][0]["id"]
    sizes = {row["id"]: row["size_mib"] for m in (base_export, sft_export) for row in m["files"]}
    p.state["lineage"] = [{"id": base_id, "parent": None, "step": "base"},
                          {"id": sft_id, "parent": base_id, "step": "sft"}]
    sft_gates = fill_gates(config.gates.sft, sft_id, base_id, f"{config_path}: gates.sft")
    results = p.evaluate("sft vs base", [base_id, sft_id], sft_gates)
    sft_passed = passed_required(p.gate("sft vs base", results, sft_gates))
    if not sft_passed and not p.keep_going:
        return _finish(p, config, None, "the SFT model did not pass its required gates against the base", sizes)

    # 4-5. QAT, then the export ladder from its float weights (or from the SFT model without QAT)
    qat = p.recipe("qat", "training.qat", steps.qat, {**models_out, "source_model": sft_merged}) if steps.qat else None
    ladder_source = (qat["outputs"].get("float") if qat else None) or sft_merged
    ladder = p.recipe("export", "training.export_gguf", steps.export, {**models_out, "source_model": ladder_source})
    sizes.update({row["id"]: row["size_mib"] for row in ladder["files"]})
    f16_id = ladder["files"][0]["id"]
    quantized = [row["id"] for row in ladder["files"][1:]]

    # 6. the ladder side by side, each export gated against its parent (fidelity: its token probabilities)
    compared = [sft_id, f16_id, *quantized]
    qat_id = None
    if qat and config.evaluate_qat_checkpoint:
        qat_id = qat["model_id"]
        compared.insert(1, qat_id)
    parents = {f16_id: sft_id, **{q: f16_id for q in quantized}, **({qat_id: sft_id} if qat_id else {})}
    p.state["lineage"] += [{"id": child, "parent": parent, "step": "qat" if child == qat_id else "export",
                            "via_qat": bool(qat) and child == f16_id} for child, parent in parents.items()]
    children, gates = [], []
    for child, parent in parents.items():
        for gate in fill_gates(config.gates.exports, child, parent, f"{config_path}: gates.exports"):
            children.append(child)
            gates.append(gate)
    fidelity = None
    if config.fidelity:
        fidelity = {"reference": f16_id, "texts": config.fidelity.texts, "limit": config.fidelity.limit,
                    "models": list(parents), "references": dict(parents)}
    results = p.evaluate("ladder", compared, gates, fidelity)
    verdicts = p.gate("ladder", results, gates)
    passed = {child: passed_required([v for v, c in zip(verdicts, children) if c == child]) for child in parents}
    from training.pipeline_summary import ladder_markdown, ladder_rows

    order = [sft_id, *([qat_id] if qat_id else []), f16_id, *quantized]
    p.state["ladder"] = ladder_rows(results, order, parents, passed, sizes)
    table = ladder_markdown(p.state["ladder"])
    (p.work / "ladder.md").write_text(table, encoding="utf-8")
    p.say("\n== ladder\n" + table)

    # 7. promote the smallest export whose gates (and whose parents' gates) all passed
    chosen = choose_promotion([f16_id, *quantized], parents, passed, sizes) if sft_passed else None
    return _finish(p, config, chosen, None if chosen else "no export passed its required gates", sizes)


def choose_promotion(exports: list[str], parents: dict[str, str], passed: dict[str, bool],
                     sizes: dict[str, float]) -> str | None:
    """The smallest export whose own gates and every ancestor's gates passed (an ancestor outside `passed`,
    such as the SFT model, was gated before the ladder)."""
    def cleared(model_id: str) -> bool:
        while model_id in passed:
            if not passed[model_id]:
                return False
            model_id = parents[model_id]
        return True

    eligible = [e for e in exports if cleared(e)]
    return min(eligible, key=lambda e: sizes.get(e, float("inf"))) if eligible else None


def _finish(p: Pipeline, config: PipelineConfig, chosen: str | None, why_not: str | None,
            sizes: dict[str, float]) -> int:
    from training.common import write_models_entries
    from training.pipeline_page import write_page
    from training.pipeline_summary import summary_lines

    timings = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in p.timings.items())
    p.say(f"\n== time: {timings}")
    lines = summary_lines(p.state["gates"])
    p.say("== summary of all gates\n" + "\n".join(lines))
    with (p.work / "gates.md").open("a", encoding="utf-8") as handle:
        handle.write("### Summary\n\n" + "".join(f"{line}\n" for line in lines))
    p.state.update(promoted=chosen, promote_id=config.promote_id if chosen else None, why_not=why_not, sizes=sizes)
    code = 0
    if chosen:
        data, _ = load_yaml(p.combined_models())
        entry = dict(data["models"][chosen])
        write_models_entries(Path(config.promote_to), {config.promote_id: entry})
        p.say(f"== promoted {chosen} as '{config.promote_id}' in {config.promote_to}")
    else:
        code = 1
        p.say(f"== not promoted: {why_not}")
        for v in p.failed_gates:
            p.say(f"   {v['step']}: {v['name']}: {v['verdict']}: {v['reason']}")
    p.save_state()
    page = write_page(p.state, p.work / "pipeline.html")
    p.say(f"   gates: {p.work / 'gates.md'}\n   page: {page}")
    return code


# ---------------------------------------------------------------- command line (bench pipeline)

def pipeline_command(args: argparse.Namespace) -> int:
    config = load_pipeline_config(args.pipeline_config)
    updates = {k: v for k, v in (("sample", args.sample), ("judge", args.judge)) if v is not None}
    if updates:
        config = config.model_copy(update=updates)
    skip = set(args.skip)
    if "export" in skip:
        skip |= {"export-base", "export-sft"}
    return run_pipeline(config, args.pipeline_config, keep_going=args.keep_going, skip=skip,
                        resume=getattr(args, "resume", False))
