"""What the in-process transformers kinds (hf, lora, qat) share: options, hashing a checkpoint folder,
loading, and one streamed generation.

Timing follows base.py: the clock starts before the chat template is applied (as llama.cpp's
`create_chat_completion` does for the gguf kind), `ttft_s` is the first decoded piece of text, and the
streamer hands over text token by token (transformers' own TextIteratorStreamer waits for a whole word,
which would make the first token look later than it is).
"""

from __future__ import annotations

import fnmatch
import os
import threading
import time
from abc import abstractmethod
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ..errors import AdapterError, ConfigError, MissingDependency
from ..files import cached_file_hash, stable_hash
from .base import Adapter, Completion, GenerationSettings, Message, StrictOptions, StreamClock

# Files whose bytes decide what a checkpoint answers: weights, config, tokenizer and chat template.
# Training leftovers (optimizer state, trainer logs, README) are left out so they do not change the name.
CONFIG_FILES = ["config.json", "generation_config.json"]
WEIGHT_FILES = ["*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin", "pytorch_model.bin.index.json"]
TOKENIZER_FILES = ["tokenizer*", "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt",
                   "chat_template*"]
ADAPTER_FILES = ["adapter_config.json", "adapter_model.safetensors", "adapter_model.bin"]

DTYPES = Literal["float32", "bfloat16", "float16"]


class LocalModelOptions(StrictOptions):
    """Settings the in-process kinds share (models.yaml keys)."""

    chat_template: str | None = None  # a Jinja chat template to use instead of the tokenizer's own
    torch_threads: int | None = Field(None, ge=1)  # torch's intra-op threads (process-wide); None: torch's default
    device: Literal["cpu", "cuda", "auto"] = "cpu"  # auto: cuda when a GPU is there, else cpu


# ---------------------------------------------------------------- hashing

def require_dir(path: str, key: str) -> Path:
    folder = Path(os.path.expanduser(path))
    if not folder.is_dir():
        raise ConfigError(f"folder not found: {folder}", key=key)
    return folder


def matching_files(folder: Path, patterns: list[str]) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and any(fnmatch.fnmatch(p.name, pattern) for pattern in patterns))


def folder_hashes(folder: Path, patterns: list[str]) -> dict[str, str]:
    """{file name: sha256} for the files in `folder` that match; hashes are cached by (path, size, mtime)."""

    return {p.name: cached_file_hash(p) for p in matching_files(folder, patterns)}


def checkpoint_hashes(folder: Path, key: str, weight_patterns: list[str] = WEIGHT_FILES) -> dict[str, str]:
    hashes = folder_hashes(folder, CONFIG_FILES + weight_patterns + TOKENIZER_FILES)
    if not any(any(fnmatch.fnmatch(name, p) for p in weight_patterns) for name in hashes):
        raise ConfigError(f"no weights in {folder} (looked for {', '.join(weight_patterns)})", key=key)
    return hashes


def fingerprint_of(kind: str, parts: dict[str, Any], chat_template: str | None = None) -> str:
    """`kind:sha256:<hash of what answers>`; a chat template given in models.yaml changes the answers too."""
    if chat_template:
        parts = {**parts, "chat_template": chat_template}
    return f"{kind}:sha256:{stable_hash(parts)}"


# ---------------------------------------------------------------- loading

def import_transformers():
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError as exc:
        raise MissingDependency(exc.name or "transformers", extra="hf",
                                purpose="in-process transformers models") from None
    return transformers


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise AdapterError("device 'cuda' was asked for but torch sees no GPU (use device: cpu or auto)")
    return device


def torch_dtype(name: str):
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def load_tokenizer(folder: Path, gguf_file: str | None = None):
    transformers = import_transformers()
    try:
        if gguf_file:
            return transformers.AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf_file)
        return transformers.AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise AdapterError(f"cannot load the tokenizer from {folder}: {_first_line(exc)}") from None


def load_causal_lm(folder: Path, gguf_file: str | None = None, dtype: str = "float32", device: str = "cpu"):
    """A transformers causal LM from a checkpoint folder, or from a GGUF file in it (dequantized to `dtype`).

    A model loaded from GGUF is marked as GGUF-quantized although its weights are plain tensors now;
    the mark is removed so that it can be trained and saved like any checkpoint.
    """
    transformers = import_transformers()
    kwargs: dict[str, Any] = {"dtype": torch_dtype(dtype)}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)
    except ImportError as exc:
        if "gguf" in str(exc):  # transformers needs the `gguf` package to read GGUF files
            raise MissingDependency("gguf", purpose="loading GGUF files into transformers") from None
        raise AdapterError(f"cannot load the model from {folder}: {_first_line(exc)}") from None
    except (OSError, ValueError) as exc:
        raise AdapterError(f"cannot load the model from {folder}: {_first_line(exc)}") from None
    if gguf_file:
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None
    return model.to(device).eval()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ---------------------------------------------------------------- generation

def make_token_streamer(tokenizer):
    """A TextIteratorStreamer that hands over text per token rather than per word (text is held back only
    while it ends in an incomplete UTF-8 sequence, decoded as U+FFFD). The pieces time the stream; the
    answer's text is decoded from the whole output at the end."""
    from transformers import TextIteratorStreamer

    class TokenStreamer(TextIteratorStreamer):
        def put(self, value):
            if len(value.shape) > 1:
                value = value[0]
            if self.skip_prompt and self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            self.token_cache.extend(value.tolist())
            text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
            if text.endswith("\ufffd"):
                return
            piece = text[self.print_len:]
            self.print_len = len(text)
            if text.endswith("\n"):  # decoding restarts after a line, so long answers stay linear
                self.token_cache, self.print_len = [], 0
            if piece:
                self.on_finalized_text(piece)

    return TokenStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """Text up to the first stop string (which is not part of the answer, as with the API kinds)."""
    cuts = [text.find(s) for s in stops if s and s in text]
    if not cuts:
        return text, False
    return text[: min(cuts)], True


def eos_ids(model, tokenizer) -> set[int]:
    ids = getattr(model.generation_config, "eos_token_id", None)
    found = set(ids if isinstance(ids, (list, tuple)) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        found.add(tokenizer.eos_token_id)
    return found


def stream_chat(model, tokenizer, messages: list[Message], settings: GenerationSettings, *, device: str,
                chat_template: str | None = None, prices=None) -> Completion:
    """Answer one chat with `model.generate` in a thread, reading its streamer here to time the pieces."""
    import torch

    clock = StreamClock().start()
    if not (chat_template or tokenizer.chat_template):
        raise AdapterError("the tokenizer has no chat template: give one with 'chat_template' in models.yaml")
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                           return_dict=True, chat_template=chat_template)
    inputs = {name: tensor.to(device) for name, tensor in inputs.items()}
    prompt_len = int(inputs["input_ids"].shape[1])
    streamer = make_token_streamer(tokenizer)
    kwargs: dict[str, Any] = dict(inputs, streamer=streamer, max_new_tokens=settings.max_tokens,
                                  pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None
                                  else tokenizer.eos_token_id)
    if settings.temperature > 0:
        kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p)
        torch.manual_seed(settings.seed)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    if settings.repeat_penalty != 1.0:
        kwargs["repetition_penalty"] = settings.repeat_penalty
    if settings.stop:
        kwargs.update(stop_strings=list(settings.stop), tokenizer=tokenizer)

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with torch.inference_mode():
                outcome["sequences"] = model.generate(**kwargs)
        except BaseException as exc:  # handed to the caller below; end() unblocks its loop
            outcome["error"] = exc
            streamer.end()

    worker = threading.Thread(target=run, name="bench-generate", daemon=True)
    worker.start()
    for piece in streamer:
        clock.piece(piece)
    worker.join()
    if "error" in outcome:
        exc = outcome["error"]
        return Completion.failed(f"generation failed: {type(exc).__name__}: {_first_line(exc)}",
                                 latency_s=time.perf_counter() - clock.started)
    generated = outcome["sequences"][0, prompt_len:].tolist()
    ended_by_eos = bool(generated) and generated[-1] in eos_ids(model, tokenizer)
    # Counted like the API kinds: the end-of-sequence token is not part of the answer.
    output_tokens = len(generated) - (1 if ended_by_eos else 0)
    completion = clock.finish(input_tokens=prompt_len, output_tokens=output_tokens, finish_reason=None,
                              prices=prices)
    text = tokenizer.decode(generated[:output_tokens], skip_special_tokens=True)
    completion.text, stopped = cut_at_stop(text, settings.stop)
    hit_limit = len(generated) >= settings.max_tokens and not ended_by_eos and not stopped
    completion.finish_reason = "length" if hit_limit else "stop"
    return completion


# ---------------------------------------------------------------- the adapter base

class LocalTransformersAdapter(Adapter):
    """Loads on first use (the fingerprint needs only file hashes, so a fully cached run never loads);
    answers one request at a time under a lock: generate() may be called from several threads."""

    local = True
    structured = None  # no constrained decoding here: the prompt asks for JSON and the parser checks

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._model = None
        self._tokenizer = None
        self._device = "cpu"

    @abstractmethod
    def _load(self, device: str) -> tuple[Any, Any]:
        """Return (model, tokenizer), the model on `device` and in eval mode."""

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        import_transformers()
        set_threads(self.options.torch_threads)
        self._device = resolve_device(self.options.device)
        try:
            self._model, self._tokenizer = self._load(self._device)
        except (AdapterError, ConfigError):
            raise
        except Exception as exc:  # out of memory, a broken file, an unsupported architecture: no retry helps
            raise AdapterError(f"{self.model_id}: cannot load the model: {type(exc).__name__}: "
                               f"{_first_line(exc)}") from None

    def loaded(self) -> tuple[Any, Any, str]:
        """(model, tokenizer, device), loaded on first use: for callers that need logits rather than text."""
        with self._lock:
            self._ensure_loaded()
            return self._model, self._tokenizer, self._device

    def generate(self, messages: list[Message], settings: GenerationSettings,
                 json_schema: dict[str, Any] | None = None) -> Completion:
        with self._lock:
            self._ensure_loaded()
            return stream_chat(self._model, self._tokenizer, messages, settings, device=self._device,
                               chat_template=self.options.chat_template, prices=self.prices)

    def close(self) -> None:
        with self._lock:
            self._model = None
            self._tokenizer = None
