"""Write one run's report folder: results.json, summary.md and index.html, each atomically.

Everything is rendered before anything is written, so a template or data error leaves the folder as it
was; index.html is written last: its presence means the folder is complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..files import atomic_write_text
from ..results.model import as_results
from .html import render_html
from .markdown import render_markdown


def write_report(results: Any, out_dir: Path, training_manifests: Sequence[Path] = ()) -> Path:
    """Write out_dir/results.json, out_dir/summary.md and out_dir/index.html; return the index.html path.
    `results` is a Results (a dict is validated into one first); `training_manifests` (recipe manifest.json
    files) add the training loss curves to the page."""
    out_dir = Path(out_dir)
    results = as_results(results)
    results_text = results.to_json()
    summary_text = render_markdown(results)
    html_text = render_html(results, training_manifests)
    atomic_write_text(out_dir / "results.json", results_text)
    atomic_write_text(out_dir / "summary.md", summary_text)
    return atomic_write_text(out_dir / "index.html", html_text)
