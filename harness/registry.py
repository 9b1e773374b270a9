"""Model kind -> adapter class, imported only when a model of that kind is used.

Each entry names where the adapter lives and the Python packages its backend needs, with the extra that
installs them: the factory checks for them once and turns a missing one into a one-line install hint, so no
adapter repeats a try-import.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ConfigError, MissingDependency

if TYPE_CHECKING:  # pragma: no cover
    from .adapters.base import Adapter
    from .config import ModelEntry


@dataclass(frozen=True)
class Kind:
    target: str  # "module:Class"
    needs: tuple[str, ...] = ()  # import names of the backend packages
    pip: str | None = None  # what to install when there is no extra for it
    extra: str | None = None  # the bench-harness extra that installs them
    purpose: str = ""


KINDS: dict[str, Kind] = {
    "mock": Kind("harness.adapters.mock:MockAdapter"),
    "answers": Kind("harness.adapters.answers:AnswersAdapter"),  # answers read from a file
    "gguf": Kind("harness.adapters.gguf:GGUFAdapter", ("llama_cpp",), pip="llama-cpp-python", purpose="GGUF models"),
    "hf": Kind("harness.adapters.hf:HFAdapter", ("torch", "transformers"), extra="hf", purpose="the 'hf' model kind"),
    "lora": Kind("harness.adapters.lora:LoRAAdapter", ("torch", "transformers", "peft"), extra="hf",
                 purpose="the 'lora' model kind"),
    "qat": Kind("harness.adapters.qat:QATAdapter", ("torch", "transformers", "torchao"), extra="hf",
                purpose="QAT checkpoints"),
    "openai": Kind("harness.adapters.openai:OpenAIAdapter", ("openai",), extra="api",
                   purpose="the 'openai' model kind"),
    "anthropic": Kind("harness.adapters.anthropic:AnthropicAdapter", ("anthropic",), extra="api",
                      purpose="the 'anthropic' model kind"),
    "gemini": Kind("harness.adapters.gemini:GeminiAdapter", ("google.genai",), pip="google-genai", extra="api",
                   purpose="the 'gemini' model kind"),
    "ollama": Kind("harness.adapters.ollama:OllamaAdapter"),  # httpx, a core dependency
    "bedrock": Kind("harness.adapters.bedrock:BedrockAdapter", ("boto3",), extra="api",
                    purpose="the 'bedrock' model kind"),
}


def adapter_class(kind: str, *, path: str | None = None, line: int | None = None, key: str | None = None):
    """The adapter class of a kind (its module imports no backend until a model is used)."""
    entry = KINDS.get(kind)
    if entry is None:
        known = ", ".join(sorted(KINDS))
        raise ConfigError(f"unknown model kind '{kind}' (known kinds: {known})", path=path, line=line, key=key)
    module_name, class_name = entry.target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def require_backend(kind: str) -> None:
    """Raise MissingDependency (one line, with the install command) when the kind's backend is missing."""
    entry = KINDS[kind]
    for package in entry.needs:
        if importlib.util.find_spec(package) is None:
            raise MissingDependency(entry.pip or package.replace("_", "-"), extra=entry.extra, purpose=entry.purpose)


def create_adapter(entry: "ModelEntry") -> "Adapter":
    """The one adapter factory: the entry's validated options, prices, concurrency and family."""
    cls = adapter_class(entry.kind)
    require_backend(entry.kind)
    return cls(entry.id, entry.options, prices=entry.prices, max_concurrency=entry.max_concurrency,
               family=entry.family)
