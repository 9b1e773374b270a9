"""Write one run's report folder: results.json, summary.md and index.html, each atomically.

Everything is rendered before anything is written, so a template or data error leaves the folder as it
was; each file goes to a temporary name beside its target and is renamed over it, so a reader (or an
interrupted run) never sees half a file. index.html is written last: its presence means the folder is
complete.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .html import render_html
from .jsonsafe import dumps, json_safe
from .markdown import render_markdown
from .view import check_results


def atomic_write_text(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file private to its owner; a report is meant to be read by others.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return path


def write_report(results: dict, out_dir: Path) -> Path:
    """Write out_dir/results.json, out_dir/summary.md and out_dir/index.html; return the index.html path."""
    out_dir = Path(out_dir)
    safe = json_safe(results)
    check_results(safe)
    results_text = dumps(safe)
    summary_text = render_markdown(safe)
    html_text = render_html(safe)
    atomic_write_text(out_dir / "results.json", results_text)
    atomic_write_text(out_dir / "summary.md", summary_text)
    return atomic_write_text(out_dir / "index.html", html_text)
