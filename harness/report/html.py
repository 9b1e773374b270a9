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
    env.globals["script_text"] = _script_text
    return env


def _script_text(name: str):
    """A script file of the templates folder, to be written inline: checked to hold nothing that would end
    the <script> element early."""
    from markupsafe import Markup

    text = (TEMPLATES / name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "<!--" in text:
        raise ValueError(f"{name} must not contain '</script' or '<!--'")
    return Markup(text)


def render_html(results, training_manifests=()) -> str:
    """One run's report page, from a Results; `training_manifests` (the recipes' manifest.json files of the
    models compared) add the training loss curves."""
    from .. import __version__
    from ..results.model import as_results
    from .casedata import embedded_cases, is_static
    from .figures import report_figures
    from .view import build_view

    results = as_results(results)
    view = build_view(results, case_details=is_static(results))
    view["figures"] = report_figures(results, training_manifests)
    view["case_data"] = embedded_cases(results, [m["id"] for m in view["leaderboard"]])
    return environment().get_template("report.html").render(view=view, bench_version=__version__)


def render_runs_index(runs: list[dict], boards: list[dict] = ()) -> str:
    """The page listing every run under a reports folder; `runs` as made by runs.run_summary, `boards` by
    trends.leaderboards."""
    from .. import __version__

    return environment().get_template("runs_index.html").render(runs=runs, boards=list(boards),
                                                                 bench_version=__version__)
