"""`lora` kind: a base transformers checkpoint plus a peft (LoRA) adapter folder, in this process.

models.yaml:
    smollm2-sft:
      kind: lora
      base: ~/models/smollm2-135m-instruct   # the HF checkpoint folder the adapter was trained on
      adapter: training/out/sft/adapter       # the folder peft's save_pretrained wrote
      merge: true                             # fold the adapter into the weights at load: faster answers

The tokenizer (and so the chat template) comes from the adapter folder when the training run saved one
there, else from the base. The fingerprint hashes both folders; `merge` is left out of it because a merged
adapter computes the same function as an unmerged one.
"""

from __future__ import annotations

from ..errors import AdapterError
from ._hfcommon import (ADAPTER_FILES, DTYPES, TOKENIZER_FILES, LocalModelOptions, LocalTransformersAdapter,
                        checkpoint_hashes, fingerprint_of, folder_hashes, load_causal_lm, load_tokenizer,
                        matching_files, require_dir)


class LoRAOptions(LocalModelOptions):
    base: str
    adapter: str
    merge: bool = False
    dtype: DTYPES = "float32"


class LoRAAdapter(LocalTransformersAdapter):
    Options = LoRAOptions

    def fingerprint(self) -> str:
        opts: LoRAOptions = self.options
        base = checkpoint_hashes(require_dir(opts.base, "base"), "base")
        adapter_dir = require_dir(opts.adapter, "adapter")
        adapter = folder_hashes(adapter_dir, ADAPTER_FILES + TOKENIZER_FILES)
        if "adapter_config.json" not in adapter:
            raise AdapterError(f"{adapter_dir} is not a peft adapter folder (no adapter_config.json)")
        parts = {"base": base, "adapter": adapter, "dtype": opts.dtype}
        return fingerprint_of("lora", parts, opts.chat_template)

    def _load(self, device: str):
        opts: LoRAOptions = self.options
        base_dir = require_dir(opts.base, "base")
        adapter_dir = require_dir(opts.adapter, "adapter")
        from peft import PeftModel
        has_own_tokenizer = bool(matching_files(adapter_dir, ["tokenizer.json", "tokenizer_config.json"]))
        tokenizer = load_tokenizer(adapter_dir if has_own_tokenizer else base_dir)
        model = load_causal_lm(base_dir, dtype=opts.dtype, device=device)
        if len(tokenizer) > model.get_input_embeddings().num_embeddings:
            model.resize_token_embeddings(len(tokenizer))  # the fine-tune added tokens (peft saved their rows)
        try:
            model = PeftModel.from_pretrained(model, str(adapter_dir))
        except (OSError, ValueError) as exc:
            raise AdapterError(f"cannot load the adapter from {adapter_dir}: {str(exc).splitlines()[0]}") from None
        if opts.merge:
            model = model.merge_and_unload()
        return model.to(device).eval(), tokenizer
