"""Reading the project's text files: YAML with the line of every key, and JSONL rows with their line numbers.

Every problem is a ConfigError naming the file and the line (exit code 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import yaml

from .errors import ConfigError


class _LineLoader(yaml.SafeLoader):
    pass


def load_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML and return (data, lines) where lines maps a key path such as ("criteria", 2, "points")
    to its 1-based line number."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(path)) from None
    try:
        node = yaml.compose(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"invalid YAML: {problem}", path=str(path), line=mark.line + 1 if mark else None) from None
    if node is None:
        raise ConfigError("the file is empty", path=str(path))
    lines: dict[tuple, int] = {}
    data = _construct(node, (), lines, path, _LineLoader(""))
    return data, lines


def _construct(node: yaml.Node, at: tuple, lines: dict[tuple, int], path: Path, loader: yaml.SafeLoader) -> Any:
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if key in out:
                raise ConfigError(f"duplicate key '{key}'", path=str(path), line=key_node.start_mark.line + 1)
            lines[at + (key,)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, at + (key,), lines, path, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(child, at + (i,), lines, path, loader) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def read_jsonl(path: Path, what: str = "cases file") -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; bad JSON or a non-object names the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} not found", path=str(path))
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=str(path), line=lineno) from None
            if not isinstance(row, dict):
                raise ConfigError("expected a JSON object", path=str(path), line=lineno)
            yield lineno, row
