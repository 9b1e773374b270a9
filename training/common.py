"""What the recipes share: config from YAML + command-line flags, models.yaml entries, hashes, chat data.

A recipe's config is a dataclass. `parse_config` fills it from `--config FILE` (strict: an unknown key or a
wrong type is a ConfigError naming the file, line and key), then lets `--some-field VALUE` flags override
single fields, so the YAML file says what a run is and the command line says how this run differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from harness.errors import BenchError, ConfigError, from_validation
from harness.files import atomic_write_text, stable_hash

SEVEN_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


# ---------------------------------------------------------------- config

def parse_config(config_cls: type, argv: list[str] | None = None, description: str = "") -> Any:
    """The recipe's dataclass, from `--config FILE` and then any `--field value` overrides."""
    hints = typing.get_type_hints(config_cls)
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="YAML file that fills the config")
    for f in dataclasses.fields(config_cls):
        kind = _describe_type(hints[f.name])
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, default=None, metavar=kind.upper(),
                            help=f"{kind}; default {_default_text(f)}")
    args = parser.parse_args(argv)
    values: dict[str, Any] = {}
    lines: dict[tuple, int] = {}
    source = "--config"
    if args.config is not None:
        values, lines, source = *_read_yaml_config(args.config, config_cls), str(args.config)
    overrides = {name: _cli_value(raw, hints[name]) for name, raw in vars(args).items()
                 if name != "config" and raw is not None}
    return build_config(config_cls, {**values, **overrides}, source=source, lines=lines,
                        from_cli=set(overrides))


def build_config(config_cls: type, values: dict[str, Any], *, source: str = "config",
                 lines: dict[tuple, int] | None = None, from_cli: set[str] = frozenset()) -> Any:
    names = {f.name for f in dataclasses.fields(config_cls)}
    for key in values:
        if key not in names:
            raise ConfigError(f"unknown key (known: {', '.join(sorted(names))})", path=source,
                              line=(lines or {}).get((key,)), key=key)
    try:
        return TypeAdapter(config_cls).validate_python(values)
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        if loc and str(loc[0]) in from_cli:
            raise from_validation(exc, "command line") from None
        raise from_validation(exc, source, lines=lines or {}) from None


def _read_yaml_config(path: Path, config_cls: type) -> tuple[dict, dict]:
    from harness.yamlfile import load_yaml

    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping of {config_cls.__name__} fields", path=str(path), line=1)
    return data, lines


def _describe_type(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return "list (comma separated)"
    if origin is typing.Union or str(origin) == "types.UnionType":
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _describe_type(inner[0]) if len(inner) == 1 else "value"
    return getattr(tp, "__name__", str(tp))


def _cli_value(raw: str, tp: Any) -> Any:
    """Command-line text to the shape pydantic validates: lists split on commas, 'none' to None."""
    optional = type(None) in typing.get_args(tp)
    if optional and raw.lower() in ("none", "null", ""):
        return None
    inner = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    if typing.get_origin(inner[0]) in (list, tuple) or typing.get_origin(tp) in (list, tuple):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _default_text(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return repr(f.default)
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return repr(f.default_factory())  # type: ignore[misc]
    return "required"


def config_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_hash(config: Any) -> str:
    """What a recipe was asked, as one hash: a manifest records it, and `bench pipeline --resume` reuses the
    output only when the config it would run now has the same hash."""
    return stable_hash(config_dict(config))


# ---------------------------------------------------------------- models.yaml entries

def write_models_entries(path: Path, entries: dict[str, dict[str, Any]]) -> Path:
    """Merge entries into a models.yaml file: the ids given are written, every other entry is kept."""
    path = Path(path)
    data: dict[str, Any] = {"version": 1, "models": {}}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        if loaded is not None:
            if not isinstance(loaded, dict) or loaded.get("version") != 1 or not isinstance(loaded.get("models"), dict):
                raise ConfigError("expected 'version: 1' and a 'models' mapping; not overwriting", path=str(path))
            data = loaded
    data["models"].update(entries)
    return atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


# ---------------------------------------------------------------- hashes and files

def hf_fingerprint(directory: Path | str) -> str:
    """The fingerprint the `hf` kind gives this checkpoint folder (config, weights, tokenizer), so a manifest
    and a results.json name the same model the same way."""
    from harness.adapters.hf import HFAdapter, HFOptions

    return HFAdapter("fingerprint", HFOptions(path=str(directory))).fingerprint()


def data_hash(examples: list[Any]) -> str:
    return "sha256:" + stable_hash(examples)


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def read_chat_jsonl(path: Path) -> list[list[dict[str, str]]]:
    """Chat-format training data: one {"messages": [{"role", "content"}, ...]} per line, each ending with
    an assistant turn (that is what the loss is taken on)."""
    from harness.leakage import load_chat_jsonl

    examples = load_chat_jsonl(Path(path))
    for i, messages in enumerate(examples, start=1):
        roles = [m["role"] for m in messages]
        if not roles or roles[-1] != "assistant" or "user" not in roles:
            raise ConfigError("an example needs a user turn and must end with an assistant turn",
                              path=str(path), key=f"example {i}")
        if any(r not in ("system", "user", "assistant") for r in roles):
            raise ConfigError(f"unknown role in {roles}", path=str(path), key=f"example {i}")
    return examples


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def recipe_main(config_cls: type, run, description: str, argv: list[str] | None = None) -> int:
    """A recipe's command line: its config from --config and flags, then `run(config)`; a BenchError becomes a
    one-line message and its exit code."""
    try:
        run(parse_config(config_cls, argv, description=description))
        return 0
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


def package_versions(*names: str) -> dict[str, str | None]:
    from importlib import metadata

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
