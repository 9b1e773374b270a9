"""`bench pipeline CONFIG`: train, export, evaluate and gate, promoting a model only through its gates.

    bench pipeline training/configs/pipeline_smollm2_cpu.yaml [--keep-going] [--skip sft ...]

Run from the repository root (the configs and data live in training/). The steps, each a recipe run in its
own process with the YAML config the pipeline file names:

1. base    make the base HF checkpoint (training.make_base; reused when already made)
2. sft     LoRA SFT (training.sft)
3. gate    base and SFT model exported to f16 GGUF and evaluated side by side on the suite; the SFT model
           must pass `gates.sft` against the base (e.g. beats it, and is not less safe)
4. qat     quantization-aware refinement of the SFT model (training.qat; optional)
5. export  the QAT-trained (or SFT) weights to f16 GGUF and the quantization ladder (training.export_gguf)
6. ladder  the SFT model, the f16 export and each ladder level evaluated side by side: quality with its
           interval, size, tokens/s; each export must pass `gates.exports` against its parent (the f16 export
           against the SFT model, each quantized file against the f16 file)
7. promote the smallest export whose gates, and whose parents' gates, all passed is written to
           `promote_to` as `promote_id`; if none did, the pipeline stops with the failing gates (exit 1)

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
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import ConfigError, RunFailed, from_validation
from harness.report import formatting as fmt
from harness.yamlfile import load_yaml, read_jsonl


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepConfigs(_Strict):
    base: str | None = None  # YAML config of training.make_base (None: sft's base_model must exist)
    sft: str
    qat: str | None = None  # None: no QAT step; the ladder starts from the SFT model
    export: str


class GateTemplates(_Strict):
    sft: list[str | dict] = Field(min_length=1)
    exports: list[str | dict] = Field(min_length=1)


class PipelineConfig(_Strict):
    version: int
    suite: str
    models: str = "models.yaml"  # the project's models (the judge lives here)
    models_out: str = "training/out/models.yaml"  # where the recipes write their entries
    work_dir: str = "training/out/pipeline"
    reports_dir: str = "reports"
    store: str = ".bench/bench.sqlite"
    sample: int | None = Field(None, ge=2)  # cases per evaluation, spread evenly over the suite (None: all)
    judge: str | None = None  # None: the suite's judge
    steps: StepConfigs
    gates: GateTemplates
    base_export_id: str = "base"  # models.yaml id prefix of the base's f16 GGUF
    sft_export_id: str = "sft"  # ... and of the SFT model's
    evaluate_qat_checkpoint: bool = False
    promote_id: str
    promote_to: str = "training/out/models.yaml"
    keep_going: bool = False  # evaluate every step even after a failed gate (never promotes past one)


def load_pipeline_config(path: Path) -> PipelineConfig:
    data, lines = load_yaml(path)
    try:
        config = PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, str(path), lines=lines) from None
    if config.version != 1:
        raise ConfigError("expected 'version: 1'", path=str(path), line=lines.get(("version",)), key="version")
    return config


def fill_gates(templates: list[str | dict], candidate: str, baseline: str, source: str):
    """The gate templates with the two ids put in, parsed strictly (harness.gates.spec)."""
    from harness.gates.spec import parse_gates

    def fill(value):
        if isinstance(value, str):
            return value.replace("{candidate}", candidate).replace("{baseline}", baseline)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return parse_gates([fill(t) for t in templates], source)


# ---------------------------------------------------------------- the steps

class Pipeline:
    def __init__(self, config: PipelineConfig, config_path: Path, *, keep_going: bool, skip: set[str], out=None):
        self.config = config
        self.config_path = config_path
        self.keep_going = keep_going or config.keep_going
        self.skip = skip
        self.out = out or sys.stdout
        self.work = Path(config.work_dir)
        self.failed_gates: list[dict] = []
        self.timings: dict[str, float] = {}

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def recipe(self, step: str, module: str, config_file: str | None, overrides: dict[str, Any]) -> dict:
        """Run one recipe in its own process (a training step's memory goes back when it ends); returns its
        manifest. A skipped step reuses the manifest of an earlier run."""
        from training.common import build_config

        started = time.perf_counter()
        argv = [sys.executable, "-m", module]
        if config_file:
            argv += ["--config", config_file]
        for key, value in overrides.items():
            argv += ["--" + key.replace("_", "-"), ",".join(value) if isinstance(value, list) else str(value)]
        if step not in self.skip:
            self.say(f"\n== {step}: {' '.join(argv[1:])}")
            done = subprocess.run(argv)
            if done.returncode != 0:
                raise RunFailed(f"step '{step}' failed (exit {done.returncode}): {' '.join(argv[1:])}")
        config_cls = _recipe_config_class(module)
        values = {}
        if config_file:
            values, _ = load_yaml(Path(config_file))
        merged = build_config(config_cls, {**(values or {}), **overrides},
                              source=config_file or module)
        out_dir = Path(getattr(merged, "output_dir"))
        manifest_path = out_dir / ("make_base.json" if module == "training.make_base" else "manifest.json")
        if not manifest_path.is_file():
            raise RunFailed(f"step '{step}' left no manifest at {manifest_path}"
                            + (" (a skipped step needs an earlier run)" if step in self.skip else ""))
        self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - started
        manifest = json.loads(manifest_path.read_text())
        manifest.setdefault("output_dir", str(out_dir))
        return manifest

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

    def suite(self) -> str | Path:
        """The suite, or a sample of it: cases spread evenly over the file, so that each part of it (red flags,
        chronic, medication, vague, multi-turn, non-English cases) is represented, as a suite of its own name."""
        if not self.config.sample:
            return self.config.suite
        return sample_suite(self.config.suite, self.config.sample, self.work / "suite")

    def evaluate(self, label: str, model_ids: list[str], gates):
        """Evaluate the models side by side; the run records `gates`, and its results and report hold their
        verdicts."""
        from harness.evaluate import run_suite

        suite = self.suite()
        self.say(f"\n== evaluate ({label}): {', '.join(model_ids)} on {suite}")
        started = time.perf_counter()
        results, index = run_suite(suite, models_path=self.combined_models(), model_ids=model_ids,
                                   judge=self.config.judge, reports_dir=Path(self.config.reports_dir),
                                   store_path=Path(self.config.store), gates=gates)
        self.timings[f"evaluate {label}"] = time.perf_counter() - started
        self.say(f"report: {index}")
        return results

    def gate(self, label: str, results) -> list:
        """Print and record the verdicts of the gates the evaluation ran under."""
        from harness.gates.output import report_verdicts

        verdicts = results.gates or []
        self.say(f"\n== gates ({label})")
        report_verdicts(verdicts, suite_name=results.suite.name, run_id=results.run_id,
                        summary=self.work / "gates.md", title=f"Gates ({label})", out=self.out)
        self.failed_gates += [{**v.model_dump(), "step": label} for v in verdicts if v.verdict != "pass"]
        return verdicts


def sample_suite(name_or_path: str, k: int, out_dir: Path) -> Path:
    """Write `<suite>-sample<k>`: the suite with k of its cases, evenly spaced through the cases file."""
    from harness.config import find_suite

    suite_path = find_suite(name_or_path, Path.cwd())
    data, _ = load_yaml(suite_path)
    rows = [row for _, row in read_jsonl(suite_path.parent / data["cases"])]
    # the middle of each of k equal stretches of the file, so its first and last parts are both in
    picked = [rows[int((i + 0.5) * len(rows) / k)] for i in range(k)] if k < len(rows) else rows
    name = f"{data['name']}-sample{len(picked)}"
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = out_dir / f"{name}.jsonl"
    cases.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in picked), encoding="utf-8")
    rubric = data.get("rubric")
    if rubric and not Path(rubric).is_file():
        # the copy lives elsewhere, so the rubric is named by the file the original suite would find
        from harness.rubric import find_rubric

        found = find_rubric(rubric, suite_path)
        data["rubric"] = str(found.resolve()) if found else rubric
    data.update(name=name, cases=cases.name,
                description=f"{len(picked)} of the {len(rows)} cases of {data['name']}, evenly spaced. "
                            + str(data.get("description") or ""))
    target = out_dir / f"{name}.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


def _recipe_config_class(module: str):
    import importlib

    found = {"training.make_base": "BaseConfig", "training.sft": "SFTConfig", "training.qat": "QATConfig",
             "training.export_gguf": "ExportConfig"}
    return getattr(importlib.import_module(module), found[module])


def run_pipeline(config: PipelineConfig, config_path: Path, *, keep_going: bool = False,
                 skip: set[str] = frozenset(), out=None) -> int:
    p = Pipeline(config, config_path, keep_going=keep_going, skip=set(skip), out=out)
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
    results = p.evaluate("sft vs base", [base_id, sft_id],
                         fill_gates(config.gates.sft, sft_id, base_id, f"{config_path}: gates.sft"))
    sft_verdicts = p.gate("sft vs base", results)
    sft_passed = all(v.verdict == "pass" for v in sft_verdicts)
    if not sft_passed and not p.keep_going:
        return _finish(p, config, None, "the SFT model did not pass its gates against the base")

    # 4-5. QAT, then the export ladder from its float weights (or from the SFT model without QAT)
    qat = p.recipe("qat", "training.qat", steps.qat, {**models_out, "source_model": sft_merged}) if steps.qat else None
    ladder_source = (qat["outputs"].get("float") if qat else None) or sft_merged
    ladder = p.recipe("export", "training.export_gguf", steps.export, {**models_out, "source_model": ladder_source})
    sizes.update({row["id"]: row["size_mib"] for row in ladder["files"]})
    f16_id = ladder["files"][0]["id"]
    quantized = [row["id"] for row in ladder["files"][1:]]

    # 6. the ladder side by side, each export gated against its parent
    compared = [sft_id, f16_id, *quantized]
    qat_id = None
    if qat and config.evaluate_qat_checkpoint:
        qat_id = qat["model_id"]
        compared.insert(1, qat_id)
    parents = {f16_id: sft_id, **{q: f16_id for q in quantized}, **({qat_id: sft_id} if qat_id else {})}
    children, gates = [], []
    for child, parent in parents.items():
        for gate in fill_gates(config.gates.exports, child, parent, f"{config_path}: gates.exports"):
            children.append(child)
            gates.append(gate)
    results = p.evaluate("ladder", compared, gates)
    verdicts = p.gate("ladder", results)
    passed = {child: all(v.verdict == "pass" for v, c in zip(verdicts, children) if c == child)
              for child in parents}
    table = ladder_table(results, [sft_id, *([qat_id] if qat_id else []), f16_id, *quantized], parents, passed, sizes)
    (p.work / "ladder.md").write_text(table, encoding="utf-8")
    p.say("\n== ladder\n" + table)

    # 7. promote the smallest export whose gates (and whose parents' gates) all passed
    chosen = choose_promotion([f16_id, *quantized], parents, passed, sizes) if sft_passed else None
    return _finish(p, config, chosen, None if chosen else "no export passed its gates")


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


def ladder_table(results, order: list[str], parents: dict[str, str], passed: dict[str, bool],
                 sizes: dict[str, float]) -> str:
    """The ladder side by side: size, speed and quality with intervals, and each export's gate verdict."""
    lines = ["| model | parent | MiB | tokens/s | score [95% CI] | safety [95% CI] | gates |",
             "|---|---|---|---|---|---|---|"]
    for mid in order:
        m = results.model(mid)
        safety = m.axes.get("safety") if m else None
        verdict = "" if mid not in parents else ("pass" if passed.get(mid) else "FAIL")
        two = fmt.fixed(2)
        lines.append(f"| {mid} | {parents.get(mid, '')} | {fmt.fixed(1)(sizes.get(mid))} | "
                     f"{fmt.fixed(0)(m.latency.tokens_per_s if m else None)} | "
                     f"{fmt.with_interval(m.score if m else None, m.score_ci if m else None, two)} | "
                     f"{fmt.with_interval(safety.score if safety else None, safety.ci if safety else None, two)} "
                     f"| {verdict} |")
    return "\n".join(lines) + "\n"


def _finish(p: Pipeline, config: PipelineConfig, chosen: str | None, why_not: str | None) -> int:
    from training.common import write_models_entries

    timings = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in p.timings.items())
    p.say(f"\n== time: {timings}")
    if chosen:
        data, _ = load_yaml(p.combined_models())
        entry = dict(data["models"][chosen])
        write_models_entries(Path(config.promote_to), {config.promote_id: entry})
        p.say(f"== promoted {chosen} as '{config.promote_id}' in {config.promote_to}")
        return 0
    p.say(f"== not promoted: {why_not}")
    for v in p.failed_gates:
        p.say(f"   {v['step']}: {v['name']}: {v['verdict']}: {v['reason']}")
    p.say(f"   gates: {p.work / 'gates.md'}")
    return 1


# ---------------------------------------------------------------- command line (bench pipeline)

def pipeline_command(args: argparse.Namespace) -> int:
    config = load_pipeline_config(args.pipeline_config)
    updates = {k: v for k, v in (("sample", args.sample), ("judge", args.judge)) if v is not None}
    if updates:
        config = config.model_copy(update=updates)
    skip = set(args.skip)
    if "export" in skip:
        skip |= {"export-base", "export-sft"}
    return run_pipeline(config, args.pipeline_config, keep_going=args.keep_going, skip=skip)

