"""One exception hierarchy; the CLI turns each into a one-line message and an exit code."""

from __future__ import annotations


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
