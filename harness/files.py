"""Files written whole or not at all, and the content hashes that name what answers.

A report, results.json or a training manifest goes to a temporary name beside its target and is renamed over
it, so a reader (or an interrupted run) never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any


def atomic_write_text(path: Path | str, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file private to its owner; reports and manifests are meant to be read by others.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_json(path: Path | str, data: Any) -> Path:
    """Pretty JSON, UTF-8 characters kept, ending with a newline; written atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def portable_path(path: Path | str) -> str:
    """A path for a models file or a report: relative to the working directory when under it, so it can move
    with the checkout (and never shows a home folder); absolute otherwise."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def text_hash(text: str) -> str:
    """How a label names the very answer a person read: "sha256:" and the hex digest of its UTF-8 text."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def stable_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of `obj` (sorted keys): the same data always gives the same name."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


_HASH_CACHE = Path(os.environ.get("BENCH_HASH_CACHE", Path.home() / ".cache" / "bench" / "file-hashes.json"))
_HASH_LOCK = threading.Lock()


def cached_file_hash(path: Path) -> str:
    """sha256 of a weights file, remembered by (path, size, mtime) so a second start does not rehash."""
    path = Path(path)
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    with _HASH_LOCK:
        try:
            cache = json.loads(_HASH_CACHE.read_text())
        except (OSError, ValueError):
            cache = {}
        if key in cache:
            return cache[key]
        digest = sha256_file(path)
        cache[key] = digest
        try:
            atomic_write_text(_HASH_CACHE, json.dumps(cache, indent=0))
        except OSError:
            pass  # a read-only home only costs a rehash next time
        return digest
