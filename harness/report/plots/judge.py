"""Can the judge be trusted: its position preference and flips, and its exam on corrupted answers."""

from __future__ import annotations

from collections.abc import Sequence

from .. import formatting as fmt
from ._common import PALETTE, REFERENCE, error_extent, finite, interval_text, not_shown, sentence, short_names
from ._svg import Plot, canvas, empty_plot
from .inputs import ExamCorruption, JudgeBias

LIMIT_COLOUR = "#D55E00"


def judge_audit_plot(bias: JudgeBias | None, exam: Sequence[ExamCorruption] = (),
                     exam_threshold: float | None = None) -> Plot:
    """Left: the first-position rate against the chance level 1/k and its limit, and the flip rate against its
    limit. Right (when an exam was run): accuracy per corruption with intervals and the pass threshold."""
    kind = "judge"
    missing = []
    rates = []
    if bias is not None:
        chance = 1.0 / bias.positions if bias.positions and bias.positions > 0 else None
        for name, value, low, high, reference, limit in [
                ("first-position rate", bias.first_position_rate, bias.first_position_low,
                 bias.first_position_high, chance, bias.max_first_position_rate),
                ("flip rate", bias.flip_rate, bias.flip_low, bias.flip_high, None, bias.max_flip_rate)]:
            if finite(value) is None:
                missing.append((name, "not measured"))
            else:
                rates.append((name, finite(value), finite(low), finite(high), reference, finite(limit)))
    missing += [(c.corruption, "no exam accuracy") for c in exam if finite(c.accuracy) is None]
    graded = [c for c in exam if finite(c.accuracy) is not None]
    threshold = finite(exam_threshold)
    if not rates and not graded:
        return empty_plot(kind, sentence("Judge audit: nothing measured", not_shown(missing)),
                          "no judge figure was measured")

    panels = [p for p in ("bias", "exam") if (p == "bias" and rates) or (p == "exam" and graded)]
    height = 1.0 + 0.28 * max(len(rates) * 2.2, len(graded))
    with canvas(6.4, max(height, 1.9)) as drawing:
        axes = drawing.figure.subplots(1, len(panels), squeeze=False,
                                       width_ratios=[1.0] * len(panels))[0]
        for ax, panel in zip(axes, panels):
            if panel == "bias":
                _bias_panel(drawing, ax, rates)
            else:
                _exam_panel(drawing, ax, graded, threshold)

        facts = []
        for name, value, low, high, reference, limit in rates:
            fact = f"{name} {fmt.pct(value)}{interval_text(low, high, fmt.pct)}"
            if reference is not None:
                fact += f" against chance {fmt.pct(reference)}"
            if limit is not None:
                fact += f" (limit {fmt.pct(limit)})"
            facts.append(fact)
        if graded:
            exam_fact = f"exam accuracy per corruption, {len(graded)} kinds"
            if threshold is not None:
                below = [f"{c.corruption} {fmt.pct(c.accuracy)}" for c in graded if finite(c.accuracy) < threshold]
                exam_fact += (f", threshold {fmt.pct(threshold)}: {len(graded) - len(below)} at or above"
                              + (f", below: {', '.join(below)}" if below else ""))
            facts.append(exam_fact)
        who = f" of {bias.judge}" if bias is not None and bias.judge else ""
        caption = sentence(f"Judge audit{who}: " + facts[0], *facts[1:], not_shown(missing))
        return drawing.to_plot(kind, caption)


def _bias_panel(drawing, ax, rates) -> None:
    for y, (name, value, low, high, reference, limit) in enumerate(rates):
        bars = error_extent(value, low, high)
        tip = f"{name}: {fmt.pct(value)}{interval_text(low, high, fmt.pct)}"
        patch = ax.barh([y], [value], height=0.55, color=PALETTE[0])[0]
        patch.set_gid(drawing.mark("bar", tip))
        if bars is not None:
            ax.errorbar([value], [y], xerr=[[bars[0]], [bars[1]]], fmt="none", ecolor=REFERENCE, elinewidth=1.0)
        # chance labelled above the bar, the limit below it, so the two never overprint
        for line_value, text, style, colour, end, va, dy in [
                (reference, "chance", "-", "black", y - 0.42, "bottom", 1),
                (limit, "limit", "--", LIMIT_COLOUR, y + 0.42, "top", -1)]:
            if line_value is None:
                continue
            ax.plot([line_value, line_value], [y - 0.42, y + 0.42], linestyle=style, color=colour, linewidth=1.3)
            ax.annotate(f"{text} {fmt.pct(line_value)}", (line_value, end), xytext=(0, dy),
                        textcoords="offset points", ha="center", va=va, fontsize=7, color=colour)
    ax.set_yticks(range(len(rates)), [r[0] for r in rates])
    ax.set_ylim(len(rates) - 0.25, -0.8)
    ax.set_xlim(0, 1.0)
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v * 100:.0f}%")
    ax.set_title("position preference and flips", fontsize=8.5)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)


def _exam_panel(drawing, ax, graded: Sequence[ExamCorruption], threshold: float | None) -> None:
    names = short_names([c.corruption for c in graded], 20)
    for y, c in enumerate(graded):
        value, low, high = finite(c.accuracy), finite(c.low), finite(c.high)
        bars = error_extent(value, low, high)
        passed = threshold is None or value >= threshold
        tip = f"{c.corruption}: {fmt.pct(value)}{interval_text(low, high, fmt.pct)} over {c.n} items"
        patch = ax.barh([y], [value], height=0.6, color=PALETTE[2] if passed else LIMIT_COLOUR)[0]
        patch.set_gid(drawing.mark("bar", tip))
        if bars is not None:
            ax.errorbar([value], [y], xerr=[[bars[0]], [bars[1]]], fmt="none", ecolor=REFERENCE, elinewidth=1.0)
    ax.set_yticks(range(len(graded)), [f"{names[c.corruption]} (n={c.n})" for c in graded])
    for c, tick in zip(graded, ax.get_yticklabels()):
        if names[c.corruption] != c.corruption:
            tick.set_gid(drawing.label(c.corruption))
    ax.set_ylim(len(graded) - 0.5, -0.5)
    ax.set_xlim(0, 1.0)
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v * 100:.0f}%")
    if threshold is not None:
        ax.axvline(threshold, linestyle="--", color=LIMIT_COLOUR, linewidth=1.2)
        ax.annotate(f"threshold {fmt.pct(threshold)}", (threshold, 1.0), xycoords=ax.get_xaxis_transform(),
                    xytext=(0, 1), textcoords="offset points", ha="center", va="bottom", fontsize=7,
                    color=LIMIT_COLOUR, annotation_clip=False)
    ax.set_title("exam: corruptions caught", fontsize=8.5, pad=12 if threshold is not None else 4)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
