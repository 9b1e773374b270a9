"""`hf` kind: a transformers causal LM in this process, from a checkpoint folder or from a GGUF file.

models.yaml:
    smollm2-hf:
      kind: hf
      path: ~/models/smollm2-135m-instruct        # a folder with config.json, *.safetensors, tokenizer
    smollm2-hf-from-gguf:
      kind: hf
      path: ~/models/smollm2                       # the folder holding the file
      gguf_file: SmolLM2-135M-Instruct.Q4_1.gguf   # dequantized to `dtype` at load (about 30 s for 135M)

The chat template is the tokenizer's (or `chat_template`); decoding is greedy unless the suite's
temperature is above 0. The fingerprint hashes what decides the answers: config, weights, tokenizer and
chat template files (or the GGUF file), plus the dtype the weights are computed in.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ._hfcommon import (DTYPES, LocalModelOptions, LocalTransformersAdapter, checkpoint_hashes,
                        fingerprint_of, load_causal_lm, load_tokenizer, require_dir)
from ..files import cached_file_hash


class HFOptions(LocalModelOptions):
    path: str
    gguf_file: str | None = None  # a .gguf file inside `path`, loaded through transformers
    dtype: DTYPES = "float32"


class HFAdapter(LocalTransformersAdapter):
    Options = HFOptions

    def fingerprint(self) -> str:
        opts: HFOptions = self.options
        folder = require_dir(opts.path, "path")
        if opts.gguf_file:
            gguf = folder / opts.gguf_file
            if not gguf.is_file():
                raise ConfigError(f"file not found: {gguf}", key="gguf_file")
            files = {gguf.name: cached_file_hash(gguf)}  # the tokenizer and template are inside it too
        else:
            files = checkpoint_hashes(folder, "path")
        parts: dict[str, Any] = {"files": files, "dtype": opts.dtype}
        return fingerprint_of("hf", parts, opts.chat_template)

    def _load(self, device: str):
        opts: HFOptions = self.options
        folder = require_dir(opts.path, "path")
        tokenizer = load_tokenizer(folder, opts.gguf_file)
        model = load_causal_lm(folder, opts.gguf_file, opts.dtype, device)
        return model, tokenizer
