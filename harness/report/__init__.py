"""Report writers: one run's folder (results.json, index.html, summary.md) and the index of all runs.

The HTML pages are self-contained (inline CSS, no external resource) so a report folder can be copied,
attached to a CI job or opened from disk as it is.
"""

from __future__ import annotations

from .markdown import render_markdown
from .runs import write_runs_index
from .writers import write_report

__all__ = ["write_report", "write_runs_index", "render_markdown"]
