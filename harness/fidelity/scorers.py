"""Next-token logits from a model, teacher-forced: the one thing a fidelity run asks of a model.

A scorer renders a conversation with the model's chat template, tokenizes it (with the character offset
where each token starts, so the answer's tokens can be found), and returns the logits at chosen positions.
Two backends:
- `GGUFScorer`: a GGUF file in this process through llama-cpp-python (`Llama(logits_all=True)`, `eval`,
  `scores`). The tokenizer and template load first with `vocab_only=True` (a fraction of a second), so the
  tokenizer check runs before any weights are read; the weights load with a context just long enough for
  the longest text.
- `TransformersScorer`: the hf, lora and qat kinds, loaded the way their adapters load them, or a model and
  tokenizer already in memory (a training recipe's).

Only the requested rows of logits are kept, one text at a time.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, MissingDependency

MIB = 1024 * 1024
TRANSFORMERS_KINDS = ("hf", "lora", "qat")


class TokenScorer(ABC):
    """One model's tokenizer, chat template and logits."""

    model_id: str
    kind: str

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """The width of a row of logits."""

    @property
    def max_context(self) -> int | None:
        """The longest token sequence the model takes (None: no known limit)."""
        return None

    @property
    def size_mib(self) -> float | None:
        """The size of the weights on disk, where one file or folder holds them."""
        return None

    @abstractmethod
    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        """The conversation as the chat template writes it."""

    @abstractmethod
    def encode(self, text: str) -> tuple[list[int], list[int]]:
        """(token ids, character offset where each token starts) of already-rendered text; special-token
        text such as <|im_start|> is read as the special token, and nothing is added in front."""

    @abstractmethod
    def logits(self, ids: list[int], rows: list[int]) -> np.ndarray:
        """(len(rows), vocab_size) logits after reading all of `ids`: row r is the distribution that
        predicts ids[r + 1]."""

    def close(self) -> None:
        pass

    def answer_span(self, messages: list[dict[str, str]]) -> tuple[str, tuple[int, int]]:
        """The rendered conversation and the characters of its final answer (content and end of turn):
        from where the template's prompt for the answer ends to the end of the conversation."""
        try:
            before = self.render(messages[:-1], add_generation_prompt=True)
            text = self.render(messages, add_generation_prompt=False)
        except ConfigError:
            raise
        except Exception as exc:  # a Jinja template raises what it likes (e.g. "roles must alternate")
            raise ConfigError(f"{self.model_id}: the chat template cannot render this conversation: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        if not text.startswith(before) or len(text) == len(before):
            raise ConfigError(f"{self.model_id}: the chat template does not write the conversation before the "
                              "answer as a prefix of the whole, so the answer's tokens cannot be found")
        return text, (len(before), len(text))


def answer_positions(offsets: list[int], span: tuple[int, int]) -> list[int]:
    """Indices of the tokens that start inside the answer span (a token straddling its start is context).
    Position 0 has nothing before it to predict it, so it is never scored."""
    start, end = span
    return [i for i, offset in enumerate(offsets) if start <= offset < end and i > 0]


# ---------------------------------------------------------------- GGUF through llama-cpp-python

class GGUFScorer(TokenScorer):
    kind = "gguf"

    def __init__(self, model_id: str, options):
        from ..adapters.gguf import resolve_model_file

        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            raise MissingDependency("llama-cpp-python", purpose="GGUF models") from None
        self.model_id = model_id
        self.options = options
        self.path: Path = resolve_model_file(options)
        self._vocab = self._open(vocab_only=True)
        self._llm = None
        self._n_ctx = 0

    def _open(self, vocab_only: bool, n_ctx: int = 0):
        import llama_cpp

        opts = self.options
        kwargs: dict[str, Any] = dict(model_path=str(self.path), verbose=False, vocab_only=vocab_only)
        if vocab_only:
            kwargs["n_ctx"] = 16  # the tokenizer needs no context; llama.cpp creates a small one anyway
        else:
            # Teacher forcing is all prompt processing, which llama.cpp runs on n_threads_batch.
            threads = opts.n_threads or batch_threads()
            kwargs.update(n_ctx=n_ctx, n_batch=min(opts.n_batch, n_ctx), logits_all=True, n_threads=threads,
                          n_threads_batch=threads)
        return llama_cpp.Llama(**kwargs)

    @property
    def vocab_size(self) -> int:
        return int(self._vocab.n_vocab())

    @property
    def max_context(self) -> int | None:
        meta = self._vocab.metadata
        value = meta.get(f"{meta.get('general.architecture', '')}.context_length")
        return int(value) if value else None

    @property
    def size_mib(self) -> float | None:
        return self.path.stat().st_size / MIB

    def _formatter(self, add_generation_prompt: bool):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self._vocab.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigError(f"{self.model_id}: the GGUF file carries no chat template; a fidelity run renders "
                              "conversations with the reference model's own template (chat_format "
                              f"{self.options.chat_format!r} is not one)")
        vocab = self._vocab

        def token_text(token_id: int) -> str:
            return vocab.detokenize([token_id], special=True).decode("utf-8", errors="replace") if token_id >= 0 else ""

        return Jinja2ChatFormatter(template=template, eos_token=token_text(vocab.token_eos()),
                                   bos_token=token_text(vocab.token_bos()),
                                   add_generation_prompt=add_generation_prompt)

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        if self.options.fold_system:
            from ..adapters.gguf import fold_system_messages

            messages = fold_system_messages(messages)
        return self._formatter(add_generation_prompt)(messages=messages).prompt

    def encode(self, text: str) -> tuple[list[int], list[int]]:
        data = text.encode("utf-8")
        ids = list(self._vocab.tokenize(data, add_bos=False, special=True))
        # Each token's bytes, in order, must spell the text: that gives each token's start.
        byte_starts, position = [], 0
        for token_id in ids:
            piece = self._vocab.detokenize([token_id], special=True)
            byte_starts.append(position)
            position += len(piece)
        if position != len(data):
            raise ConfigError(f"{self.model_id}: the tokenizer's pieces do not spell the text back, so the "
                              "answer's tokens cannot be located")
        char_at_byte = _char_index_of_bytes(text)
        return ids, [char_at_byte[b] for b in byte_starts]

    def prepare(self, longest: int) -> None:
        """Load the weights with a context that holds `longest` tokens."""
        need = max(64, -(-longest // 64) * 64)
        if self._llm is None or self._n_ctx < need:
            self.close_weights()
            self._llm, self._n_ctx = self._open(vocab_only=False, n_ctx=need), need

    def logits(self, ids: list[int], rows: list[int]) -> np.ndarray:
        self.prepare(len(ids))
        llm = self._llm
        llm.reset()
        llm.eval(ids)
        return np.array(llm.scores[rows, :], dtype=np.float32)

    def close_weights(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None

    def close(self) -> None:
        self.close_weights()
        if self._vocab is not None:
            self._vocab.close()
            self._vocab = None


def batch_threads() -> int:
    """Every core, unless the cores are already busy (a load average at or above their number): there
    llama.cpp's threads, which spin at each barrier waiting for one another, are several times slower than
    one thread (on the project's shared 2-core machine at load 8: 33 s against 11 s for a 222-token text).
    A model's `n_threads` overrides this."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0] >= cores
    except (AttributeError, OSError):  # no load average on this platform
        busy = False
    return 1 if busy else cores


def _char_index_of_bytes(text: str) -> list[int]:
    """For each byte offset of text.encode('utf-8') (and one past the end), the index of its character."""
    index = []
    for i, char in enumerate(text):
        index.extend([i] * len(char.encode("utf-8")))
    index.append(len(text))
    return index


# ---------------------------------------------------------------- transformers (hf, lora, qat)

class TransformersScorer(TokenScorer):
    """A transformers causal LM and its tokenizer; `chat_template` overrides the tokenizer's."""

    def __init__(self, model_id: str, model, tokenizer, device: str = "cpu", kind: str = "hf",
                 chat_template: str | None = None, size_mib: float | None = None, owner=None):
        self.model_id, self.kind = model_id, kind
        self._owner = owner  # the adapter that loaded the model, closed with this scorer
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.chat_template = chat_template
        self._size_mib = size_mib
        if not getattr(tokenizer, "is_fast", False):
            raise ConfigError(f"{model_id}: a fidelity run needs a fast tokenizer (one that gives offsets)")
        if not (chat_template or tokenizer.chat_template):
            raise ConfigError(f"{model_id}: the tokenizer has no chat template: give one with 'chat_template'")

    @property
    def vocab_size(self) -> int:
        return int(self.model.get_output_embeddings().weight.shape[0])

    @property
    def max_context(self) -> int | None:
        value = getattr(self.model.config, "max_position_embeddings", None)
        return int(value) if value else None

    @property
    def size_mib(self) -> float | None:
        return self._size_mib

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt,
                                                  chat_template=self.chat_template)

    def encode(self, text: str) -> tuple[list[int], list[int]]:
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        return list(encoded["input_ids"]), [start for start, _ in encoded["offset_mapping"]]

    def logits(self, ids: list[int], rows: list[int]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            tensor = torch.tensor([ids], dtype=torch.long, device=self.device)
            out = self.model(input_ids=tensor).logits[0, rows, :]
            return out.float().cpu().numpy()

    def close(self) -> None:
        self.model = None
        if self._owner is not None:
            self._owner.close()
            self._owner = None


def _weights_mib(folder: Path, patterns: tuple[str, ...]) -> float | None:
    files = [p for pattern in patterns for p in folder.glob(pattern) if p.is_file()]
    return sum(p.stat().st_size for p in files) / MIB if files else None


def open_scorer(entry) -> TokenScorer:
    """The scorer for a models.yaml entry (harness.config.ModelEntry)."""
    from ..registry import adapter_class

    cls = adapter_class(entry.kind)
    options = cls.Options.model_validate(entry.options)
    if entry.kind == "gguf":
        return GGUFScorer(entry.id, options)
    if entry.kind not in TRANSFORMERS_KINDS:
        raise ConfigError(f"model '{entry.id}' is of kind '{entry.kind}', which gives no logits (fidelity "
                          f"needs gguf or one of {', '.join(TRANSFORMERS_KINDS)})")
    adapter = cls(entry.id, options, prices=entry.prices, max_concurrency=entry.max_concurrency, family=entry.family)
    model, tokenizer, device = adapter.loaded()
    size = None
    if entry.kind == "hf":
        folder = Path(os.path.expanduser(options.path))
        size = (folder / options.gguf_file).stat().st_size / MIB if options.gguf_file else \
            _weights_mib(folder, ("*.safetensors", "pytorch_model*.bin"))
    elif entry.kind == "qat":
        size = _weights_mib(Path(os.path.expanduser(options.path)), ("model.pt",))
    return TransformersScorer(entry.id, model, tokenizer, device, kind=entry.kind,
                              chat_template=options.chat_template, size_mib=size, owner=adapter)
