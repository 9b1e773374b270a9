"""Render the self-contained HTML pages (one run's report, the index of all runs) with jinja2.

Every value is escaped: answers are untrusted model output and may hold markup. autoescape=True (not
`select_autoescape`, which decides by file name and leaves `from_string` templates unescaped) and
StrictUndefined, so a template that reads a field the view does not provide fails loudly instead of
printing an empty cell.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment():
    import jinja2

    from .formatting import FILTERS

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def render_html(results) -> str:
    """One run's report page, from a Results."""
    from .. import __version__
    from ..results.model import as_results
    from .view import build_view

    view = build_view(as_results(results))
    return environment().get_template("report.html").render(view=view, bench_version=__version__)


def render_runs_index(runs: list[dict]) -> str:
    """The page listing every run under a reports folder; `runs` as made by runs.run_summary."""
    from .. import __version__

    return environment().get_template("runs_index.html").render(runs=runs, bench_version=__version__)
