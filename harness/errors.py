"""One exception hierarchy; the CLI turns each into a one-line message and an exit code.

Validation errors from pydantic are translated here, once, into `ConfigError`s that name the file, the line
and the key (`from_validation`).
"""

from __future__ import annotations

import re
from typing import Any, Sequence


class BenchError(Exception):
    """An error meant for the user. `exit_code` follows DESIGN.md."""

    exit_code = 3


class ConfigError(BenchError):
    """Bad input or configuration: a file, a key, a value. Exit code 2."""

    exit_code = 2

    def __init__(self, message: str, path: str | None = None, line: int | None = None, key: str | None = None):
        self.path, self.line, self.key, self.detail = path, line, key, message
        where = ""
        if path:
            where = str(path)
            if line:
                where += f":{line}"
            where += ": "
        if key:
            message = f"{key}: {message}"
        super().__init__(where + message)


class AdapterError(BenchError):
    """A model backend failed in a way retrying will not fix (bad key, unknown model, missing package)."""

    exit_code = 3


class MissingDependency(AdapterError):
    exit_code = 2

    def __init__(self, package: str, extra: str | None = None, purpose: str = ""):
        hint = f'pip install "bench-harness[{extra}]"' if extra else f"pip install {package}"
        what = f" for {purpose}" if purpose else ""
        super().__init__(f"the Python package '{package}' is needed{what}: {hint}")


class RunFailed(BenchError):
    exit_code = 3


# A model validator may name the field it complains about by starting its message with a dotted key path.
_KEYED_MESSAGE = re.compile(r"(?:Value error, )?([\w]+(?:\.[\w]+)+): (.*)", re.DOTALL)


def line_for(lines: dict[tuple, int], loc: Sequence) -> int | None:
    """The line of the deepest key path in `lines` that `loc` starts with (the file's first line at worst)."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def from_validation(exc: Any, path: str | None, *, lines: dict[tuple, int] | None = None, prefix: tuple = (),
                    line: int | None = None, skip: Sequence[str] = ()) -> ConfigError:
    """The first error of a pydantic ValidationError as a ConfigError naming file, line and key.

    `prefix` is where the validated object sits in the file; `lines` maps key paths to lines (YAML), `line`
    is a fixed line (a JSONL row); `skip` drops location parts that are not keys (discriminator tags)."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")) and p not in skip)
    kind = err["type"]
    msg = str(err["msg"])
    wording = {"extra_forbidden": "unknown key", "missing": "missing required field"}
    if kind in wording:
        msg = wording[kind]
    else:
        keyed = _KEYED_MESSAGE.fullmatch(msg)
        if keyed:
            loc = tuple(int(p) if p.isdigit() else p for p in keyed.group(1).split("."))
            msg = keyed.group(2)
        msg = msg.removeprefix("Value error, ")
    full = tuple(prefix) + loc
    if line is None and lines is not None:
        line = line_for(lines, full)
    return ConfigError(msg, path=path, line=line, key=".".join(str(p) for p in full) or None)
