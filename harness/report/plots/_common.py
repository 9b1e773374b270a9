"""Helpers every plot shares: missing figures, model colours, short names, labels that do not overlap."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Okabe & Ito's palette, which stays distinguishable under the common colour-vision deficiencies.
# Yellow is last: it is the hardest to see on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
NEUTRAL = "#7F7F7F"
REFERENCE = "#444444"
NAME_LIMIT = 22


def finite(value: Any) -> float | None:
    """The figure as a float, or None when it is missing (None, NaN, infinite, not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def model_colours(model_ids: Iterable[str], given: Mapping[str, str] | None = None) -> dict[str, str]:
    """A colour per model id, stable across plots: pass the same ordered ids (or this mapping) to each plot.

    Models already in `given` keep their colour; the others take the palette's colours in order, skipping
    colours already taken while any are left (past 8 models colours repeat).
    """
    colours = dict(given or {})
    used = set(colours.values())
    free = [c for c in PALETTE if c not in used]
    position = 0
    for model in dict.fromkeys(model_ids):
        if model in colours:
            continue
        if free:
            colours[model] = free.pop(0)
        else:
            colours[model] = PALETTE[position % len(PALETTE)]
            position += 1
    return colours


def short_names(names: Iterable[str], limit: int = NAME_LIMIT) -> dict[str, str]:
    """Each name cut to `limit` characters with an ellipsis in the middle (the start and the end of a model id
    are what tell models apart: family and quantization); names that would collide keep more characters."""
    unique = list(dict.fromkeys(names))
    result: dict[str, str] = {}
    for name in unique:
        width = limit
        candidate = _middle_ellipsis(name, width)
        while candidate in result.values() and candidate != name:
            width += 2
            candidate = _middle_ellipsis(name, width)
        result[name] = candidate
    return result


def _middle_ellipsis(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    head = (limit - 1) // 2
    tail = limit - 1 - head
    return f"{name[:head]}…{name[-tail:]}"


def name_list(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def not_shown(missing: Sequence[tuple[str, str]]) -> str:
    """`not shown: a (no tokens/s), b (no score)`, or '' when nothing is missing."""
    if not missing:
        return ""
    return "not shown: " + ", ".join(f"{what} ({why})" for what, why in missing)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 model`, `8 models`."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def sentence(*parts: str) -> str:
    """Join caption parts into one line; empty parts are skipped."""
    text = "; ".join(p for p in parts if p)
    return text + "." if text and not text.endswith(".") else text


def error_extent(value: float, low: float | None, high: float | None) -> tuple[float, float] | None:
    """Distances below and above `value` for an error bar, or None when the interval is incomplete."""
    if low is None or high is None:
        return None
    return max(value - low, 0.0), max(high - value, 0.0)


def interval_text(low: float | None, high: float | None, one) -> str:
    return f" [{one(low)}, {one(high)}]" if low is not None and high is not None else ""


# Offsets in points tried in turn around a point, with the text alignment that keeps the text clear of it;
# then positions further out, joined to their point by a thin leader line.
_NEAR = ((6, 2, "left", "bottom"), (6, -2, "left", "top"), (-6, 2, "right", "bottom"), (-6, -2, "right", "top"),
         (0, 7, "center", "bottom"), (0, -7, "center", "top"), (10, 9, "left", "bottom"),
         (-10, -9, "right", "top"), (10, -9, "left", "top"), (-10, 9, "right", "bottom"))
_FAR = ((22, 16, "left", "bottom"), (-22, -16, "right", "top"), (22, -16, "left", "top"),
        (-22, 16, "right", "bottom"), (0, 24, "center", "bottom"), (0, -24, "center", "top"),
        (28, 0, "left", "center"), (-28, 0, "right", "center"))
# Crossing a thin line costs less than covering a point or another label; a far position costs a little
# more than a near one whose only flaw is a small overlap, so near labels win ties.
_LINE_WEIGHT, _LABEL_WEIGHT, _OUTSIDE_WEIGHT, _FAR_COST = 0.25, 1.5, 4.0, 40.0


def place_point_labels(drawing, ax, points: Sequence[tuple[float, float, str, str]],
                       avoid: Sequence[tuple[float, float, float, float]] = (),
                       line: Sequence[tuple[float, float]] = (), layout: bool = True) -> None:
    """Label each (x, y, short text, full text) point at the first position around it that overlaps no other
    label, no point, no box in `avoid` (x0, y0, x1, y1 in data units: interval bars), no part of `line` (a
    polyline in data units) and stays inside the axes; where none is free, at the least costly one, further
    out with a leader line if that is clearer. Full names go in a tooltip when shortened. `layout=False`
    skips laying the figure out first, for a later panel of a figure already laid out (layout is most of a
    plot's time)."""
    if not points:
        return
    renderer = drawing.figure.canvas.get_renderer()
    if layout:
        drawing.figure.draw_without_rendering()
    to_display = ax.transData.transform
    frame = tuple(ax.get_window_extent(renderer).extents)
    obstacles = []  # (box, weight)
    for x, y, _text, _full in points:
        px, py = to_display((x, y))
        obstacles.append(((px - 5, py - 5, px + 5, py + 5), 1.0))
    for x0, y0, x1, y1 in avoid:
        (ax0, ay0), (ax1, ay1) = to_display((x0, y0)), to_display((x1, y1))
        obstacles.append(((min(ax0, ax1) - 2, min(ay0, ay1) - 2, max(ax0, ax1) + 2, max(ay0, ay1) + 2), 1.0))
    corners = [to_display(p) for p in line]
    for (x0, y0), (x1, y1) in zip(corners, corners[1:]):
        for k in range(1, 12):  # the line as a row of small boxes, in display space so log axes work too
            x, y = x0 + (x1 - x0) * k / 12, y0 + (y1 - y0) * k / 12
            obstacles.append(((x - 1.5, y - 1.5, x + 1.5, y + 1.5), _LINE_WEIGHT))
    for x, y, text, full in points:
        style = {"textcoords": "offset points", "fontsize": 7.5, "color": REFERENCE, "annotation_clip": False}
        annotation = ax.annotate(text, (x, y), xytext=(0, 0), **style)
        best, best_cost = None, math.inf
        for far, (dx, dy, ha, va) in [(False, c) for c in _NEAR] + [(True, c) for c in _FAR]:
            annotation.xyann = (dx, dy)
            annotation.set_horizontalalignment(ha)
            annotation.set_verticalalignment(va)
            box = tuple(annotation.get_window_extent(renderer).extents)
            cost = sum(_overlap(box, other) * weight for other, weight in obstacles)
            cost += _outside(box, frame) * _OUTSIDE_WEIGHT + (_FAR_COST if far else 0.0)
            if cost < best_cost:
                best, best_cost = (far, dx, dy, ha, va, box), cost
            if cost == 0:
                break
        far, dx, dy, ha, va, box = best
        annotation.remove()  # measured without a leader line: computing one for every candidate is slow
        leader = {"arrowstyle": "-", "color": "#9a9a9a", "linewidth": 0.6, "shrinkA": 1, "shrinkB": 4}
        ax.annotate(text, (x, y), xytext=(dx, dy), ha=ha, va=va, gid=drawing.label(full) if text != full else None,
                    arrowprops=leader if far else None, **style)
        obstacles.append((box, _LABEL_WEIGHT))


def logarithmic(ax, which: str) -> None:
    """Make the x or y axis logarithmic, labelled with plain numbers (matplotlib's default labels are
    mathtext, which stays off so that a `$` in a model name is shown as it is)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def fitted_legend(drawing, entries: int):
    """A legend below the axes with as many columns (up to 4) as fit the figure's width."""
    renderer = drawing.figure.canvas.get_renderer()
    width = drawing.figure.bbox.width
    for columns in range(min(4, entries), 0, -1):
        legend = drawing.figure.legend(loc="outside lower center", ncols=columns, frameon=False)
        if columns == 1 or legend.get_window_extent(renderer).width <= width * 0.98:
            return legend
        legend.remove()
    return legend


def _overlap(a, b) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


def _outside(box, frame) -> float:
    area = (box[2] - box[0]) * (box[3] - box[1])
    return area - _overlap(box, frame)
