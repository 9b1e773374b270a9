"""Model kind -> adapter class, imported only when a model of that kind is used."""

from __future__ import annotations

import importlib

from .errors import ConfigError

KINDS: dict[str, str] = {
    "mock": "harness.adapters.mock:MockAdapter",
    "gguf": "harness.adapters.gguf:GGUFAdapter",
    "hf": "harness.adapters.hf:HFAdapter",
    "lora": "harness.adapters.lora:LoRAAdapter",
    "qat": "harness.adapters.qat:QATAdapter",
    "openai": "harness.adapters.openai:OpenAIAdapter",
    "anthropic": "harness.adapters.anthropic:AnthropicAdapter",
    "gemini": "harness.adapters.gemini:GeminiAdapter",
    "ollama": "harness.adapters.ollama:OllamaAdapter",
    "bedrock": "harness.adapters.bedrock:BedrockAdapter",
}


def adapter_class(kind: str, *, path: str | None = None, line: int | None = None, key: str | None = None):
    target = KINDS.get(kind)
    if target is None:
        known = ", ".join(sorted(KINDS))
        raise ConfigError(f"unknown model kind '{kind}' (known kinds: {known})", path=path, line=line, key=key)
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)
