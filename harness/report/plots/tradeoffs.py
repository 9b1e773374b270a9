"""What quality costs: score against speed and price (with the Pareto front), and a quantization ladder."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from .. import formatting as fmt
from ._common import (NEUTRAL, PALETTE, counted, error_extent, finite, interval_text, logarithmic, model_colours,
                      name_list, not_shown, place_point_labels, sentence, short_names)
from ._svg import Plot, canvas, empty_plot
from .inputs import ModelPoint, QuantLevel
from .pareto import pareto_front

# Above this ratio between the largest and smallest figure a linear axis crowds the small ones together.
LOG_AXIS_RATIO = 20.0


def quality_speed_plot(points: Sequence[ModelPoint], colours: Mapping[str, str] | None = None) -> Plot:
    """Score (with interval) against decode tokens/s per model; the Pareto front (higher score and faster)
    marked and named in the caption; a model without tokens/s or score is listed, never placed at 0."""
    return _quality_against(points, colours, kind="speed", figure=lambda p: p.tokens_per_s, higher_better=True,
                            axis_label="decode tokens/s", lack="no tokens/s", better="higher score and faster")


def quality_cost_plot(points: Sequence[ModelPoint], colours: Mapping[str, str] | None = None) -> Plot:
    """Score (with interval) against USD per 1,000 cases for the models with a price; the Pareto front
    (higher score and cheaper) marked and named; models without a price are listed in the caption."""
    return _quality_against(points, colours, kind="cost", figure=lambda p: p.cost_per_1k_cases,
                            higher_better=False, axis_label="USD per 1,000 cases", lack="no price",
                            better="higher score and cheaper")


def _quality_against(points: Sequence[ModelPoint], colours: Mapping[str, str] | None, *, kind: str,
                     figure: Callable[[ModelPoint], float | None], higher_better: bool, axis_label: str,
                     lack: str, better: str) -> Plot:
    missing, drawn = [], []
    for p in points:
        x, score = finite(figure(p)), finite(p.score)
        if x is None or (not higher_better and x < 0):
            missing.append((p.model, lack))
        elif score is None:
            missing.append((p.model, "no score"))
        else:
            drawn.append((p, x, score))
    if not drawn:
        return empty_plot(kind, sentence(f"Score against {axis_label}: nothing to draw", not_shown(missing)),
                          f"no model has both a score and {axis_label}")
    front = pareto_front([(p.model, score, x) for p, x, score in drawn], higher_x_better=higher_better)
    models = [p.model for p, _x, _s in drawn]
    names = short_names(models, 18)
    colours = model_colours([p.model for p in points], colours)
    with canvas(6.4, 3.6) as drawing:
        ax = drawing.figure.add_subplot()
        xs = [x for _p, x, _s in drawn]
        if min(xs) > 0 and max(xs) / min(xs) > LOG_AXIS_RATIO:
            logarithmic(ax, "x")
        on_front = sorted(((x, s) for p, x, s in drawn if p.model in front))
        if len(on_front) > 1:
            ax.plot([x for x, _s in on_front], [s for _x, s in on_front], linestyle="--", color=NEUTRAL,
                    linewidth=1.0, zorder=1, label="Pareto front")
        for p, x, score in drawn:
            low, high = finite(p.score_low), finite(p.score_high)
            bars = error_extent(score, low, high)
            tip = (f"{p.model}: score {fmt.score(score)}{interval_text(low, high, fmt.score)}, "
                   f"{_x_text(kind, x)}" + (" (Pareto front)" if p.model in front else ""))
            container = ax.errorbar([x], [score], yerr=None if bars is None else [[bars[0]], [bars[1]]], fmt="o",
                                    markersize=7 if p.model in front else 5, color=colours[p.model],
                                    markeredgecolor="black" if p.model in front else colours[p.model],
                                    markeredgewidth=1.2, elinewidth=1.2, capsize=0, zorder=3)
            container.lines[0].set_gid(drawing.mark("point", tip))
        ax.margins(x=0.12, y=0.12)
        ax.set_xlabel(axis_label + ("" if higher_better else " (lower is better)"))
        ax.set_ylabel("score, with interval")
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        place_point_labels(drawing, ax, [(x, s, names[p.model], p.model) for p, x, s in drawn],
                           avoid=_interval_boxes((x, finite(p.score_low), finite(p.score_high)) for p, x, _s in drawn),
                           line=on_front)
        caption = sentence(f"Score with interval against {axis_label}, {counted(len(drawn), 'model')}",
                           f"Pareto front ({better}; point estimates, black rings): {name_list(front)}",
                           not_shown(missing))
        return drawing.to_plot(kind, caption)


def _interval_boxes(intervals) -> list[tuple[float, float, float, float]]:
    """Vertical interval bars (x, low, high) as boxes that labels should not cover."""
    return [(x, low, x, high) for x, low, high in intervals if low is not None and high is not None]


def _x_text(kind: str, x: float) -> str:
    return f"{fmt.rate(x)} tokens/s" if kind == "speed" else f"{fmt.usd(x)} per 1,000 cases"


def quantization_ladder_plot(levels: Sequence[QuantLevel]) -> Plot:
    """Per quantization, against file size in MiB: score with interval, decode tokens/s, and mean KL against
    the float model when any level has it; each point labelled with its level."""
    kind = "quantization"
    sized = [lv for lv in levels if finite(lv.size_mib) is not None]
    missing = [(lv.label, "no size") for lv in levels if finite(lv.size_mib) is None]
    panels = [("score", "score, with interval", lambda lv: lv.score),
              ("tokens/s", "decode tokens/s", lambda lv: lv.tokens_per_s)]
    if any(finite(lv.mean_kl) is not None for lv in levels):
        panels.append(("mean KL", "mean KL to float", lambda lv: lv.mean_kl))
    for what, _label, value_of in panels:
        missing += [(f"{lv.label} {what}", "not measured") for lv in sized if finite(value_of(lv)) is None]
    if not any(finite(value_of(lv)) is not None for lv in sized for _w, _l, value_of in panels):
        return empty_plot(kind, sentence("Quantization ladder: nothing to draw", not_shown(missing)),
                          "no quantization level has a size and a figure")
    names = short_names([lv.label for lv in sized], 14)
    colour = PALETTE[0]
    with canvas(6.4, 2.8) as drawing:
        axes = drawing.figure.subplots(1, len(panels), squeeze=False)[0]
        labels = []
        for ax, (what, label, value_of) in zip(axes, panels):
            shown = sorted(((finite(lv.size_mib), finite(value_of(lv)), lv) for lv in sized
                            if finite(value_of(lv)) is not None), key=lambda t: t[0])
            if len(shown) > 1:
                ax.plot([s for s, _v, _l in shown], [v for _s, v, _l in shown], color=NEUTRAL, linewidth=0.8,
                        zorder=1)
            for size, value, lv in shown:
                low, high = (finite(lv.score_low), finite(lv.score_high)) if what == "score" else (None, None)
                bars = error_extent(value, low, high)
                tip = f"{lv.label}, {fmt.rate(size)} MiB: {what} {_level_value(what, value)}"
                tip += interval_text(low, high, fmt.score)
                container = ax.errorbar([size], [value], yerr=None if bars is None else [[bars[0]], [bars[1]]],
                                        fmt="o", markersize=5, color=colour, elinewidth=1.2, capsize=0, zorder=3)
                container.lines[0].set_gid(drawing.mark("point", tip))
            ax.margins(x=0.18, y=0.15)
            ax.set_xlabel("file size (MiB)")
            ax.set_title(label, fontsize=8.5)
            ax.grid(color="#eeeeee", linewidth=0.6)
            ax.set_axisbelow(True)
            intervals = ([(s, finite(lv.score_low), finite(lv.score_high)) for s, _v, lv in shown]
                         if what == "score" else [])
            labels.append((ax, [(s, v, names[lv.label], lv.label) for s, v, lv in shown], _interval_boxes(intervals),
                           [(s, v) for s, v, _l in shown]))
        for k, (ax, points, avoid, line) in enumerate(labels):
            place_point_labels(drawing, ax, points, avoid=avoid, line=line, layout=k == 0)
        facts = [f"{lv.label} {fmt.rate(lv.size_mib)} MiB" + (f" score {fmt.score(lv.score)}"
                 if finite(lv.score) is not None else "") for lv in sorted(sized, key=lambda lv: -lv.size_mib)]
        caption = sentence(f"{', '.join(w for w, _l, _v in panels)} against file size for "
                           f"{counted(len(sized), 'quantization level')}: {', '.join(facts)}", not_shown(missing))
        return drawing.to_plot(kind, caption)


def _level_value(what: str, value: float) -> str:
    if what == "score":
        return fmt.score(value)
    return fmt.rate(value) if what == "tokens/s" else f"{value:.4g}"
