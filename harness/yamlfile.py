"""Reading the project's text files: YAML with the line of every key, and JSONL rows with their line numbers.

Every problem is a ConfigError naming the file and the line (exit code 2), found in well under a second
whatever the file holds: bytes that are not UTF-8 (a leading byte-order mark is allowed and dropped), a
folder where a file should be, YAML tags that would build objects (`!!python/object`), nesting deeper than
any of these files needs, and aliases that expand past a budget (a few hundred bytes of nested aliases can
otherwise expand to gigabytes). JSON's non-standard NaN and Infinity are refused too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import yaml

from .errors import ConfigError

MAX_YAML_BYTES = 8 * 2**20
MAX_DEPTH = 64  # mappings and lists inside each other; the deepest real file here needs under 10
MAX_VALUES = 100_000  # values a YAML file may expand to, aliases counted at their full size
_CORE_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("map", "seq", "str", "int", "float", "bool", "null")}


class _LineLoader(yaml.SafeLoader):
    pass


def read_text(path: Path, what: str = "file") -> str:
    """A whole text file as UTF-8 (a byte-order mark dropped); a folder, a missing file or other bytes are
    ConfigErrors."""
    return _decode(read_bytes(path, what), path)


def read_bytes(path: Path, what: str = "file") -> bytes:
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"is a folder; a {what} was expected", path=str(path))
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the {what}: {exc.strerror or exc}", path=str(path)) from None


def _decode(data: bytes, path: Path, first_line: int = 1) -> str:
    try:
        return data.decode("utf-8-sig" if first_line == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        raise ConfigError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", path=str(path), line=line) from None


def load_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML and return (data, lines) where lines maps a key path such as ("criteria", 2, "points")
    to its 1-based line number."""
    path = Path(path)
    data = read_bytes(path, "file")
    if len(data) > MAX_YAML_BYTES:
        raise ConfigError(f"{len(data):,} bytes: more than the {MAX_YAML_BYTES:,} a YAML file here may have "
                          "(cases belong in a JSONL file)", path=str(path))
    text = _decode(data, path)
    try:
        _check_shape(text, path)
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


def _check_shape(text: str, path: Path) -> None:
    """Walk the parser's events (no recursion, nothing built) and refuse what could not be built safely or
    quickly: tags outside YAML's core schema, nesting past MAX_DEPTH, more than MAX_VALUES values once
    aliases are expanded, and an alias inside the node it names."""
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (values, depth) of the node it names
    stack: list[list] = [[None, 0, 0]]  # open collections: [anchor, values so far, depth below]
    total = 0

    def fail(message: str, event) -> None:
        raise ConfigError(message, path=str(path), line=event.start_mark.line + 1)

    for event in yaml.parse(text, Loader=_LineLoader):
        if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)) and event.tag not in (None, "!"):
            if event.tag not in _CORE_TAGS:
                fail(f"YAML tag '{event.tag}' is not allowed: these files hold plain values only", event)
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 1, 0])
            total += 1
            if len(stack) - 1 > MAX_DEPTH:
                fail(f"nested more than {MAX_DEPTH} levels deep", event)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, values, below = stack.pop()
            stack[-1][1] += values
            stack[-1][2] = max(stack[-1][2], below + 1)
            if anchor:
                sizes[anchor] = (values, below + 1)
        elif isinstance(event, yaml.ScalarEvent):
            stack[-1][1] += 1
            total += 1
            if event.anchor:
                sizes[event.anchor] = (1, 0)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                if any(frame[0] == event.anchor for frame in stack):
                    fail(f"alias '*{event.anchor}' inside the node it names (a structure that never ends)", event)
                continue  # an undefined alias: the composer reports it with its line
            values, depth = sizes[event.anchor]
            stack[-1][1] += values
            stack[-1][2] = max(stack[-1][2], depth)
            total += values
            if len(stack) - 1 + depth > MAX_DEPTH:
                fail(f"alias '*{event.anchor}' nests more than {MAX_DEPTH} levels deep", event)
        if total > MAX_VALUES:
            fail(f"expands to more than {MAX_VALUES:,} values (aliases counted at their full size)", event)


def _construct(node: yaml.Node, at: tuple, lines: dict[tuple, int], path: Path, loader: yaml.SafeLoader) -> Any:
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError("a key must be a plain value, not a list or a mapping", path=str(path),
                                  line=key_node.start_mark.line + 1)
            key = _scalar(key_node, path, loader)
            if key in out:
                raise ConfigError(f"duplicate key '{key}'", path=str(path), line=key_node.start_mark.line + 1)
            lines[at + (key,)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, at + (key,), lines, path, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(child, at + (i,), lines, path, loader) for i, child in enumerate(node.value)]
    return _scalar(node, path, loader)


def _scalar(node: yaml.Node, path: Path, loader: yaml.SafeLoader) -> Any:
    # A date, or `<<` read as a merge key, stays the text it is: these files hold no dates, and merge keys
    # would hide which line a value came from.
    if node.tag not in _CORE_TAGS:
        return node.value
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise ConfigError(f"invalid value: {str(exc).splitlines()[0]}", path=str(path),
                          line=node.start_mark.line + 1) from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON (write a number, or null)")


def read_jsonl(path: Path, what: str = "cases file") -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; bad bytes or JSON, a non-object, NaN or Infinity, or
    nesting past MAX_DEPTH names the file and line."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"is a folder; a {what} was expected", path=str(path))
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the {what}: {exc.strerror or exc}", path=str(path)) from None
    with handle:
        for lineno, raw in enumerate(handle, start=1):
            line = _decode(raw, path, lineno)  # the first line may start with a byte-order mark
            if not line.strip():
                continue
            try:
                row = json.loads(line, parse_constant=_not_json)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=str(path), line=lineno) from None
            except RecursionError:
                raise ConfigError("invalid JSON: nested too deeply to read", path=str(path), line=lineno) from None
            except ValueError as exc:  # NaN/Infinity, or an integer too long to read
                raise ConfigError(f"invalid JSON: {str(exc).splitlines()[0]}", path=str(path), line=lineno) from None
            if not isinstance(row, dict):
                raise ConfigError("expected a JSON object", path=str(path), line=lineno)
            if _deeper_than(row, MAX_DEPTH):
                raise ConfigError(f"nested more than {MAX_DEPTH} levels deep", path=str(path), line=lineno)
            yield lineno, row


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values() if isinstance(child, (dict, list)))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
    return False
