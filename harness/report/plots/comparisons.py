"""Model against model: paired differences (forest plot), per-axis scores, the win-rate matrix, ratings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .. import formatting as fmt
from ._common import (REFERENCE, counted, error_extent, finite, fitted_legend, interval_text, model_colours,
                      name_list, not_shown, sentence, short_names)
from ._svg import Plot, canvas, empty_plot
from .inputs import AxisScore, GateMargin, PairedDifference, PairWinRate, Rating

MINUS = "\u2212"
LISTED = 6  # names listed in a caption before "and N more"


def forest_plot(rows: Sequence[PairedDifference], margins: Sequence[GateMargin] = (),
                colours: Mapping[str, str] | None = None) -> Plot:
    """One row per (pair, metric): the paired difference `first - second` with its interval, grouped by pair,
    a line at zero and each gate margin as a dashed line with its label."""
    kind = "forest"
    drawn, missing = [], []
    for row in rows:
        value = finite(row.difference)
        if value is None:
            missing.append((f"{row.first} {MINUS} {row.second} {row.metric}", "no difference"))
        else:
            drawn.append((row, value, finite(row.low), finite(row.high)))
    margins = [m for m in margins if finite(m.value) is not None]
    if not drawn:
        why = "fewer than two models" if not rows else "no difference could be computed"
        return empty_plot(kind, sentence(f"No paired differences to draw ({why})", not_shown(missing)),
                          f"no paired differences: {why}")

    pairs = list(dict.fromkeys((row.first, row.second) for row, *_ in drawn))
    names = short_names([m for pair in pairs for m in pair])
    colours = model_colours([m for pair in pairs for m in pair], colours)
    height = 0.75 + 0.19 * (len(drawn) + len(pairs))
    with canvas(6.4, height) as drawing:
        ax = drawing.figure.add_subplot()
        y = 0
        for first, second in pairs:
            header = f"{names[first]} {MINUS} {names[second]}"
            full = f"{first} {MINUS} {second}"
            ax.text(0.0, y, header, transform=ax.get_yaxis_transform(), ha="left", va="center",
                    fontweight="bold", gid=drawing.label(full) if header != full else None,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5}, zorder=4)
            y += 1
            for row, value, low, high in [d for d in drawn if (d[0].first, d[0].second) == (first, second)]:
                tip = f"{full}, {row.metric}: {fmt.signed(value)}{interval_text(low, high, fmt.signed)}"
                bars = error_extent(value, low, high)
                container = ax.errorbar([value], [y], xerr=None if bars is None else [[bars[0]], [bars[1]]],
                                        fmt="o", markersize=4.5, color=colours[first], elinewidth=1.4,
                                        capsize=0, zorder=3)
                container.lines[0].set_gid(drawing.mark("point", tip))
                metric = short_names([row.metric], 18)[row.metric]
                ax.text(-0.01, y, metric, transform=ax.get_yaxis_transform(), ha="right", va="center",
                        gid=drawing.label(row.metric) if metric != row.metric else None)
                y += 1
        ax.set_ylim(y - 0.4, -0.6)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.axvline(0.0, color=REFERENCE, linewidth=0.8, zorder=1)
        for k, margin in enumerate(margins):
            ax.axvline(margin.value, color="#D55E00", linestyle="--", linewidth=1.0, zorder=2)
            # alternate heights so the labels of two close margins do not overprint
            ax.annotate(f"{margin.label} {fmt.signed(margin.value)}", (margin.value, 1.0),
                        xycoords=ax.get_xaxis_transform(), xytext=(0, 2 + 10 * (k % 2)), textcoords="offset points",
                        ha="center", va="bottom", color="#D55E00", fontsize=7.5, annotation_clip=False)
        ends = [0.0] + [m.value for m in margins] + [v for _r, v, *_ in drawn]
        ends += [b for *_r, lo, hi in drawn for b in (lo, hi) if b is not None]
        span = max(ends) - min(ends) or 1.0
        ax.set_xlim(min(ends) - 0.06 * span, max(ends) + 0.06 * span)
        ax.set_xlabel(f"difference (first {MINUS} second), with interval")
        ax.grid(axis="x", color="#e6e6e6", linewidth=0.6)
        ax.set_axisbelow(True)

        above = [f"{r.first} {MINUS} {r.second} {r.metric} ({fmt.signed(v)})" for r, v, lo, hi in drawn
                 if lo is not None and lo > 0]
        below = [f"{r.first} {MINUS} {r.second} {r.metric} ({fmt.signed(v)})" for r, v, lo, hi in drawn
                 if hi is not None and hi < 0]
        caption = sentence(
            f"Paired differences (first model {MINUS} second, same cases) with intervals, {counted(len(drawn), 'row')}",
            f"interval above 0: {_capped(above)}", f"interval below 0: {_capped(below)}",
            "dashed: " + ", ".join(f"{m.label} {fmt.signed(m.value)}" for m in margins) if margins else "",
            not_shown(missing))
        return drawing.to_plot(kind, caption)


def axis_scores_plot(scores: Sequence[AxisScore], colours: Mapping[str, str] | None = None) -> Plot:
    """Grouped bars: one group per rubric axis, one bar per model, each with its interval."""
    kind = "axes"
    models = list(dict.fromkeys(s.model for s in scores))
    axes = list(dict.fromkeys(s.axis for s in scores))
    missing = [(f"{s.model} {s.axis}", "no score") for s in scores if finite(s.score) is None]
    drawn = [s for s in scores if finite(s.score) is not None]
    if not drawn:
        return empty_plot(kind, sentence("No per-axis scores to draw", not_shown(missing)), "no per-axis scores")
    names = short_names(models)
    axis_names = short_names(axes, 22)
    colours = model_colours(models, colours)
    width = 0.8 / len(models)
    with canvas(6.4, 3.0 + 0.12 * ((len(models) + 3) // 4)) as drawing:
        ax = drawing.figure.add_subplot()
        for m, model in enumerate(models):
            first_bar = True
            for s in (s for s in drawn if s.model == model):
                value = finite(s.score)
                low, high = finite(s.low), finite(s.high)
                x = axes.index(s.axis) - 0.4 + width * (m + 0.5)
                bars = error_extent(value, low, high)
                tip = f"{model}, {s.axis}: {fmt.score(value)}{interval_text(low, high, fmt.score)}"
                patch = ax.bar([x], [value], width=width * 0.92, color=colours[model],
                               label=names[model] if first_bar else None)[0]
                patch.set_gid(drawing.mark("bar", tip))
                if bars is not None:
                    ax.errorbar([x], [value], yerr=[[bars[0]], [bars[1]]], fmt="none", ecolor=REFERENCE,
                                elinewidth=0.9, capsize=0)
                first_bar = False
        ax.set_xticks(range(len(axes)), [axis_names[a] for a in axes])
        for axis, tick in zip(axes, ax.get_xticklabels()):
            if axis_names[axis] != axis:
                tick.set_gid(drawing.label(axis))
        if len(axes) > 4:
            ax.tick_params(axis="x", labelrotation=20)
        if all(finite(s.score) >= 0 for s in drawn):
            ax.set_ylim(bottom=0)
        ax.set_ylabel("score, with interval")
        ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)
        ax.set_axisbelow(True)
        shown = [m for m in models if any(s.model == m for s in drawn)]
        legend = fitted_legend(drawing, len(shown))
        _name_tooltips(drawing, legend.get_texts(), shown, names)

        best = []
        for axis in axes:
            on_axis = [s for s in drawn if s.axis == axis]
            if on_axis:
                top = max(on_axis, key=lambda s: finite(s.score))
                best.append(f"{axis} {top.model} ({fmt.score(top.score)})" if len(models) > 1
                            else f"{axis} {fmt.score(top.score)}")
        caption = sentence(f"Score per rubric axis with intervals, {counted(len(models), 'model')} over "
                           f"{counted(len(axes), 'axis', 'axes')}",
                           f"{'highest' if len(models) > 1 else models[0]}: {_capped(best, 8)}", not_shown(missing))
        return drawing.to_plot(kind, caption)


def win_rate_matrix_plot(rates: Sequence[PairWinRate], models: Sequence[str] | None = None) -> Plot:
    """Heat map of how often the row model beat the column model; the rate written in each cell, its interval
    in the cell's tooltip, and no cell where a pair was not compared."""
    kind = "winrate"
    order = list(dict.fromkeys(list(models or []) + [m for r in rates for m in (r.row, r.column)]))
    missing = [(f"{r.row} over {r.column}", "no win rate") for r in rates if finite(r.win_rate) is None]
    cells = {(r.row, r.column): r for r in rates if finite(r.win_rate) is not None and r.row != r.column}
    if not cells:
        why = "fewer than two models" if len(order) < 2 else "no pair was compared"
        return empty_plot(kind, sentence(f"No win rates to draw ({why})", not_shown(missing)), f"no win rates: {why}")
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    cmap = colormaps["RdBu"]
    names = short_names(order, 16)
    size = 1.6 + 0.55 * len(order)
    with canvas(size + 1.2, size) as drawing:
        ax = drawing.figure.add_subplot()
        for k in range(len(order)):  # the diagonal in light grey, so it reads apart from pairs not compared
            ax.add_patch(Rectangle((k - 0.5, k - 0.5), 1, 1, facecolor="#eeeeee", edgecolor="white", linewidth=1.0))
        for (row, column), r in cells.items():
            i, j = order.index(row), order.index(column)
            rate = finite(r.win_rate)
            low, high = finite(r.low), finite(r.high)
            cases = f" over {r.n} cases" if r.n is not None else ""
            tip = f"{row} beats {column}: {fmt.pct(rate)}{interval_text(low, high, fmt.pct)}{cases}"
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=cmap(0.1 + 0.8 * min(max(rate, 0), 1)),
                                   edgecolor="white", linewidth=1.0, gid=drawing.mark("cell", tip)))
            ax.text(j, i, f"{rate * 100:.0f}%", ha="center", va="center", fontsize=7.5,
                    color="white" if abs(rate - 0.5) > 0.3 else "black")
        ax.set_xlim(-0.5, len(order) - 0.5)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.set_aspect("equal")
        ax.set_xticks(range(len(order)), [names[m] for m in order], rotation=40, ha="left",
                      rotation_mode="anchor")
        ax.set_yticks(range(len(order)), [names[m] for m in order])
        ax.xaxis.tick_top()
        for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
            _name_tooltips(drawing, ticks, order, names)
        for side in ("left", "bottom", "top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(length=0)
        ax.set_ylabel("row model beats \u2026")
        ax.set_xlabel("\u2026 column model")

        ordered = len(order) * (len(order) - 1)
        strongest = max(cells.values(), key=lambda r: finite(r.win_rate))
        strongest_interval = interval_text(finite(strongest.low), finite(strongest.high), fmt.pct)
        caption = sentence(f"Win rate of the row model over the column model; {len(cells)} of {ordered} ordered "
                           "pairs compared, empty cells were not",
                           f"highest: {strongest.row} over {strongest.column} {fmt.pct(strongest.win_rate)}"
                           f"{strongest_interval}", not_shown(missing))
        return drawing.to_plot(kind, caption)


def ratings_plot(ratings: Sequence[Rating], colours: Mapping[str, str] | None = None) -> Plot:
    """Bradley-Terry rating per model with its interval, highest first."""
    kind = "ratings"
    missing = [(r.model, "no rating") for r in ratings if finite(r.rating) is None]
    drawn = sorted((r for r in ratings if finite(r.rating) is not None), key=lambda r: -finite(r.rating))
    if not drawn:
        why = "fewer than two models" if len(ratings) < 2 else "no rating could be computed"
        return empty_plot(kind, sentence(f"No ratings to draw ({why})", not_shown(missing)), f"no ratings: {why}")
    models = [r.model for r in drawn]
    names = short_names(models)
    colours = model_colours(models, colours)
    with canvas(6.4, 0.8 + 0.26 * len(drawn)) as drawing:
        ax = drawing.figure.add_subplot()
        for y, r in enumerate(drawn):
            value, low, high = finite(r.rating), finite(r.low), finite(r.high)
            bars = error_extent(value, low, high)
            tip = f"{r.model}: {value:.0f}" + (f" [{low:.0f}, {high:.0f}]" if bars else "")
            container = ax.errorbar([value], [y], xerr=None if bars is None else [[bars[0]], [bars[1]]], fmt="o",
                                    markersize=5, color=colours[r.model], elinewidth=1.6, capsize=0)
            container.lines[0].set_gid(drawing.mark("point", tip))
        ax.set_yticks(range(len(drawn)), [names[m] for m in models])
        _name_tooltips(drawing, ax.get_yticklabels(), models, names)
        ax.set_ylim(len(drawn) - 0.5, -0.5)
        ax.set_xlabel("Bradley-Terry rating, with interval")
        ax.grid(axis="x", color="#e6e6e6", linewidth=0.6)
        ax.set_axisbelow(True)

        top = drawn[0]
        facts = [f"highest {top.model} {finite(top.rating):.0f}" + _rating_interval(top)]
        if len(drawn) > 1:
            overlapping = [r.model for r in drawn[1:] if _overlaps(top, r)]
            facts.append(f"its interval overlaps {_capped(overlapping)}" if overlapping
                         else "its interval is clear of every other")
            low = drawn[-1]
            facts.append(f"lowest {low.model} {finite(low.rating):.0f}{_rating_interval(low)}")
        caption = sentence(f"Bradley-Terry ratings with intervals, {counted(len(drawn), 'model')}, highest first",
                           *facts, not_shown(missing))
        return drawing.to_plot(kind, caption)


def _rating_interval(r: Rating) -> str:
    low, high = finite(r.low), finite(r.high)
    return f" [{low:.0f}, {high:.0f}]" if low is not None and high is not None else ""


def _overlaps(a: Rating, b: Rating) -> bool:
    """True when the intervals overlap, or when either is missing (nothing shows them apart)."""
    a_low, b_high = finite(a.low), finite(b.high)
    if a_low is None or b_high is None:
        return True
    return b_high >= a_low


def _name_tooltips(drawing, texts, full_names: Sequence[str], names: Mapping[str, str]) -> None:
    for text, full in zip(texts, full_names):
        if names[full] != full:
            text.set_gid(drawing.label(full))


def _capped(items: Sequence[str], limit: int = LISTED) -> str:
    if len(items) <= limit:
        return name_list(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"
