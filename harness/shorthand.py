"""Shorthand model ids: `kind/name` names a default entry of that kind, so a model can be compared, or used as
a judge, without writing it into models.yaml first.

    openai/gpt-4.1-mini          kind: openai,    model: gpt-4.1-mini
    anthropic/claude-haiku-4-5   kind: anthropic, model: claude-haiku-4-5
    gemini/gemini-2.5-flash      kind: gemini,    model: gemini-2.5-flash
    ollama/qwen2.5:0.5b          kind: ollama,    model: qwen2.5:0.5b
    bedrock/amazon.nova-micro-v1:0   kind: bedrock, model: amazon.nova-micro-v1:0
    gguf/models/x.gguf           kind: gguf,      path: models/x.gguf   (gguf//abs/x.gguf for /abs/x.gguf)
    hf/checkpoints/base          kind: hf,        path: checkpoints/base
    qat/checkpoints/qat          kind: qat,       path: checkpoints/qat
    mock/Some text.              kind: mock,      responses: ["Some text."]

Everything after the first `/` is the name, so names that hold `/` or `:` themselves stay whole. The entry is
exactly the one models.yaml would hold with these keys (built by the same code, harness.config), so its
fingerprint, and with it the cache, is the same either way. An id that models.yaml holds always means that
entry; only an id it does not hold is read as a shorthand. `lora` takes two paths and has no shorthand.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError

# prefix -> the kind's setting the rest of the id fills
SHORTHAND_KINDS: dict[str, str] = {
    "openai": "model", "anthropic": "model", "gemini": "model", "ollama": "model", "bedrock": "model",
    "gguf": "path", "hf": "path", "qat": "path", "mock": "responses",
}
# Hosted APIs serve many requests at once (429s are retried with backoff); one at a time would make a cloud
# model the slowest lane of every run. Servers and in-process models keep their kind's default of 1.
HOSTED_CONCURRENCY = 4
HOSTED = ("openai", "anthropic", "gemini", "bedrock")


def known_prefixes() -> str:
    return ", ".join(f"{prefix}/" for prefix in sorted(SHORTHAND_KINDS))


def is_shorthand(model_id: str) -> bool:
    """Whether the id has the shape of a shorthand (`prefix/name`), known prefix or not."""
    return "/" in model_id


def shorthand_body(model_id: str, *, key: str | None = None, path: str | None = None,
                   line: int | None = None) -> dict[str, Any] | None:
    """The models.yaml body (`kind` and settings) a shorthand id stands for; None for an id without a `/`. An
    unknown prefix or an empty name is a ConfigError at `path`/`line`/`key`."""
    if not is_shorthand(model_id):
        return None
    prefix, name = model_id.split("/", 1)
    if prefix not in SHORTHAND_KINDS:
        raise ConfigError(f"'{model_id}' is not in the models file and '{prefix}/' is no shorthand prefix "
                          f"(known: {known_prefixes()})", path=path, line=line, key=key)
    if not name.strip():
        raise ConfigError(f"'{model_id}' names no model after '{prefix}/'", path=path, line=line, key=key)
    setting = SHORTHAND_KINDS[prefix]
    body: dict[str, Any] = {"kind": prefix, setting: [name] if setting == "responses" else name}
    if prefix in HOSTED:
        body["max_concurrency"] = HOSTED_CONCURRENCY
    return body
