"""A comparison of two runs written out: an HTML page like the report, Markdown for a pull-request comment, and
JSON. The figures come from harness.compare; here they are only laid out (and formatted by the one formatter)."""

from __future__ import annotations

from pathlib import Path

from ..compare import Comparison
from . import formatting as fmt
from .markdown import escape_cell, table

MARKDOWN_REGRESSED = 5  # regressed cases listed per model in Markdown (the HTML page and JSON hold more)


def comparison_forest(comparison: Comparison):
    """The paired differences new - old (score and each axis) per model, as a forest plot; None without any."""
    from .plots import PairedDifference, forest_plot, model_colours

    rows = []
    for model in comparison.models:
        new, old = f"{model.id} (new)", f"{model.id} (old)"
        figures = [("score", model.score)] + list(model.axes.items())
        for metric, figure in figures:
            low, high = figure.ci if figure.ci else (None, None)
            rows.append(PairedDifference(new, old, metric, figure.diff, low, high))
    if not any(fmt.is_number(r.difference) for r in rows):
        return None
    colours = model_colours([f"{m.id} (new)" for m in comparison.models])
    return forest_plot(rows, colours=colours)


def render_comparison_html(comparison: Comparison) -> str:
    from markupsafe import Markup

    from .. import __version__
    from .html import environment

    forest = comparison_forest(comparison)
    figure = {"svg": Markup(forest.svg), "caption": forest.caption} if forest and forest.marks else None
    return environment().get_template("compare.html").render(c=comparison, forest=figure, bench_version=__version__)


def _delta(figure) -> str:
    return f"{fmt.signed(figure.diff)} {fmt.signed_interval(figure.ci)}" if figure.ci else fmt.signed(figure.diff)


def render_comparison_markdown(comparison: Comparison) -> str:
    c = comparison
    lines = [f"## bench compare: {escape_cell(c.new.suite)}, run {escape_cell(c.new.run_id)} against "
             f"{escape_cell(c.old.run_id)}", ""]
    lines.append(" · ".join([
        f"new {escape_cell(c.new.run_id)} ({fmt.timestamp(c.new.created_at)})",
        f"old {escape_cell(c.old.run_id)} ({fmt.timestamp(c.old.created_at)})",
        f"{fmt.count(c.shared_cases)} shared cases ({fmt.count(c.only_old_cases)} only in old, "
        f"{fmt.count(c.only_new_cases)} only in new)"]))
    lines.append("")
    breaking = [x for x in c.changes if x.breaks]
    if breaking:
        lines += ["**Not like for like:** these changed between the runs, so the differences below mix them in:"]
        lines += [_change_line(x) for x in breaking]
        lines.append("")
    other = [x for x in c.changes if not x.breaks]
    if other:
        lines += ["Changed between the runs:"]
        lines += [_change_line(x) for x in other]
        lines.append("")
    for ids, where in ((c.only_old_models, "only in the old run"), (c.only_new_models, "only in the new run")):
        if ids:
            lines += [f"Models {where}: {', '.join(escape_cell(i) for i in ids)}", ""]
    rows = []
    for m in c.models:
        rows.append([
            escape_cell(m.id), "yes" if m.changed else "no",
            fmt.with_interval(m.score.old, m.score.old_ci), fmt.with_interval(m.score.new, m.score.new_ci),
            _delta(m.score), fmt.count(m.score.n), _delta(m.win_rate),
            f"{fmt.seconds(m.latency_s.old)} → {fmt.seconds(m.latency_s.new)}",
            f"{fmt.count(m.regressed)} / {fmt.count(m.improved)}",
        ])
    lines += table(["Model", "Changed", "Score old", "Score new", "Δ score [95% CI]", "Cases paired",
                    "Δ win share [95% CI]", "Latency p50", "Cases worse / better"], rows, {2, 3, 4, 5, 6, 7, 8})
    lines.append("")
    lines.append("Δ: new − old, paired over the shared cases both runs scored, with a bootstrap interval. "
                 "Win share: the share of common opponents a model's answer beat in the judge's rankings.")
    for m in c.models:
        if not m.regressed_cases:
            continue
        lines += ["", f"### Regressed most: {escape_cell(m.id)}", ""]
        case_rows = [[escape_cell(r.case_id), fmt.score(r.old), fmt.score(r.new), fmt.signed(r.diff),
                      escape_cell(", ".join(r.new_flags) or (r.new_error and "error") or "")]
                     for r in m.regressed_cases[:MARKDOWN_REGRESSED]]
        lines += table(["Case", "Old", "New", "Δ", "New answer flagged"], case_rows, {1, 2, 3})
    return "\n".join(lines) + "\n"


def _change_line(change) -> str:
    old, new = _apart(change.old, change.new)
    return f"- {escape_cell(change.what)}: {escape_cell(_short(old))} → {escape_cell(_short(new))}"


def _apart(old: str | None, new: str | None, keep: int = 12) -> tuple[str | None, str | None]:
    """Two long values that share a long start (fingerprints, settings) cut to where they differ."""
    if old is None or new is None:
        return old, new
    common = 0
    while common < min(len(old), len(new)) and old[common] == new[common]:
        common += 1
    if common <= 2 * keep:
        return old, new
    return "…" + old[common - keep:], "…" + new[common - keep:]


def _short(text: str | None, limit: int = 80) -> str:
    if text is None:
        return "none"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def write_comparison(comparison: Comparison, out_dir: Path) -> dict[str, Path]:
    """compare.html, compare.md and compare.json in out_dir, each written atomically after all are rendered."""
    from ..files import atomic_write_text

    out_dir = Path(out_dir)
    texts = {"json": comparison.model_dump_json(indent=2) + "\n", "md": render_comparison_markdown(comparison),
             "html": render_comparison_html(comparison)}
    return {kind: atomic_write_text(out_dir / f"compare.{kind}", text) for kind, text in texts.items()}
