"""`qat` kind: a checkpoint from a torchao quantization-aware-training run, loaded and answered on CPU.

The QAT recipe (training/qat.py) prepares, trains, converts and writes the model; this module defines the
checkpoint format it writes and loads it (the only part of QAT that answering needs):

    <out_dir>/
      qat.json                 {"format": "bench-qat", "version": 1, "scheme": "int8-dynamic-act-int4-weight",
                                "group_size": 32, "dtype": "float32", "skip": ["lm_head"],
                                "torch": "2.13.0", "torchao": "0.18.0"}
      config.json              the transformers config of the architecture (no quantization_config)
      generation_config.json
      tokenizer files, chat template
      model.pt                 torch.save(model.state_dict()) after convert: the quantized linear weights are
                               torchao tensor subclasses (IntxUnpackedToInt8Tensor), the rest plain tensors

Loading builds the architecture from config.json and assigns the saved tensors into it; `torch.load` runs with
`weights_only=True` (torchao registers its tensor classes as safe), so a checkpoint cannot run code.

Schemes (both convert and run on CPU with torchao 0.18; its Int4WeightOnlyConfig needs a GPU kernel package):
  int4-weight-only               IntxWeightOnlyConfig(int4, PerGroup(group_size))
  int8-dynamic-act-int4-weight   Int8DynamicActivationIntxWeightConfig(int4 weights, PerGroup(group_size))
The output layer (`lm_head`, tied to the embeddings in small models) stays in full precision.

models.yaml:
    smollm2-qat:
      kind: qat
      path: training/out/qat
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import AdapterError, ConfigError
from ._hfcommon import (CONFIG_FILES, TOKENIZER_FILES, LocalModelOptions, LocalTransformersAdapter,
                        fingerprint_of, folder_hashes, import_transformers, load_tokenizer, require_dir,
                        torch_dtype)

FORMAT = "bench-qat"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.pt"
META_FILE = "qat.json"
SCHEMES = ("int4-weight-only", "int8-dynamic-act-int4-weight")
DEFAULT_SCHEME = "int8-dynamic-act-int4-weight"
SKIPPED_MODULES = ("lm_head",)


# ---------------------------------------------------------------- the loading side

def read_meta(folder: Path) -> dict[str, Any]:
    path = folder / META_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{folder} is not a QAT checkpoint (no {META_FILE})", key="path") from None
    except ValueError as exc:
        raise AdapterError(f"{path}: invalid JSON: {exc}") from None
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise AdapterError(f"{path}: expected format '{FORMAT}' version {FORMAT_VERSION}, "
                           f"found {meta.get('format')!r} version {meta.get('version')!r}")
    return meta


def load_qat_checkpoint(folder, device: str = "cpu"):
    """(model, tokenizer) from a folder written by `save_qat_checkpoint`."""
    import torch

    folder = Path(folder)
    meta = read_meta(folder)
    transformers = import_transformers()
    import torchao  # noqa: F401 - registers torchao's tensor classes for weights_only loading
    config = transformers.AutoConfig.from_pretrained(str(folder))
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch_dtype(meta.get("dtype", "float32")))
    try:
        state = torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True, mmap=True)
    except FileNotFoundError:
        raise AdapterError(f"{folder / WEIGHTS_FILE} is missing") from None
    except Exception as exc:  # unpickling errors have many types; each means the same here
        raise AdapterError(f"cannot read {folder / WEIGHTS_FILE}: {str(exc).splitlines()[0]}") from None
    result = model.load_state_dict(state, assign=True, strict=False)
    for problem, keys in (("lacks weights for", result.missing_keys), ("has unknown weights", result.unexpected_keys)):
        if keys:
            more = " ..." if len(keys) > 3 else ""
            raise AdapterError(f"{folder / WEIGHTS_FILE} {problem} {', '.join(keys[:3])}{more} "
                               f"(it does not match {folder / 'config.json'})")
    return model.to(device).eval(), load_tokenizer(folder)


class QATOptions(LocalModelOptions):
    path: str


class QATAdapter(LocalTransformersAdapter):
    Options = QATOptions

    def fingerprint(self) -> str:
        folder = require_dir(self.options.path, "path")
        read_meta(folder)
        files = folder_hashes(folder, [META_FILE, WEIGHTS_FILE] + CONFIG_FILES + TOKENIZER_FILES)
        if WEIGHTS_FILE not in files:
            raise ConfigError(f"no {WEIGHTS_FILE} in {folder}", key="path")
        parts: dict[str, Any] = {"files": files}
        return fingerprint_of("qat", parts, self.options.chat_template)

    def _load(self, device: str):
        return load_qat_checkpoint(require_dir(self.options.path, "path"), device)
