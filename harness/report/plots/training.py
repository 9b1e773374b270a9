"""Training loss curves, from the series the recipes log (loss.csv) and the held-out losses in their manifests."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from ...errors import ConfigError
from ._common import counted, finite, fitted_legend, logarithmic, model_colours, not_shown, sentence, short_names
from ._svg import Plot, canvas, empty_plot
from .inputs import LossSeries

# Held-out losses each recipe records before and after training, by manifest key.
HELD_OUT_KEYS = {"sft": ("before", "after"), "qat": ("fake_quantized_before", "fake_quantized_after")}


def loss_series_from_manifest(manifest_path: Path) -> list[LossSeries]:
    """The training series (the manifest's loss.csv) and the held-out loss before and after training, as
    (step 0, before) and (last step, after), of one recipe run. A recipe that does not train gives []."""
    manifest_path = Path(manifest_path)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the manifest: {exc}", path=str(manifest_path)) from None
    if not isinstance(manifest, dict):
        raise ConfigError("a manifest is a JSON object", path=str(manifest_path))
    run = str(manifest.get("model_id") or manifest_path.parent.name)
    series = []
    csv_name = (manifest.get("outputs") or {}).get("loss_csv")
    if csv_name:
        csv_path = Path(csv_name)
        if not csv_path.exists():  # a run folder that was moved or copied: the curve lies beside its manifest
            csv_path = manifest_path.parent / csv_path.name
        series.append(LossSeries(run, "train", _read_loss_csv(csv_path)))
    keys = HELD_OUT_KEYS.get(manifest.get("recipe"))
    held = manifest.get("held_out_answer_loss")
    steps = manifest.get("steps")
    if keys and isinstance(held, dict) and isinstance(steps, int):
        series.append(LossSeries(run, "held-out", ((0.0, _number(held.get(keys[0]))),
                                                   (float(steps), _number(held.get(keys[1]))))))
    return series


def _read_loss_csv(path: Path) -> tuple[tuple[float, float | None], ...]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"step", "loss"} <= set(reader.fieldnames):
                raise ConfigError("expected the columns step and loss", path=str(path), line=1)
            points = []
            for line, row in enumerate(reader, start=2):
                step = _number(row["step"])
                if step is None:
                    raise ConfigError(f"step {row['step']!r} is not a number", path=str(path), line=line)
                points.append((step, _number(row["loss"])))
    except OSError as exc:
        raise ConfigError(f"cannot read the loss curve: {exc.strerror}", path=str(path)) from None
    return tuple(points)


def _number(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def loss_curves_plot(series: Sequence[LossSeries], log_scale: bool = False,
                     colours: Mapping[str, str] | None = None) -> Plot:
    """Loss against step: one colour per run, solid for training and dashed with dots for held-out data.
    Missing or non-finite losses (and, on a log axis, losses at or below 0) are left out and counted."""
    kind = "loss"
    drawn, missing, dropped = [], [], 0
    for s in series:
        points = [(step, finite(loss)) for step, loss in s.points if finite(step) is not None]
        kept = [(step, loss) for step, loss in points if loss is not None and (loss > 0 or not log_scale)]
        if kept:
            dropped += len(s.points) - len(kept)
            drawn.append((s, sorted(kept)))
        else:
            missing.append((f"{s.run} {s.split}", "no loss"))
    if not drawn:
        return empty_plot(kind, sentence("No loss curve to draw", not_shown(missing)), "no loss was logged")
    runs = list(dict.fromkeys(s.run for s, _p in drawn))
    names = short_names(runs, 24)
    colours = model_colours(runs, colours)
    with canvas(6.4, 3.2 + 0.14 * ((len(drawn) + 3) // 4)) as drawing:
        ax = drawing.figure.add_subplot()
        for s, points in drawn:
            held_out = s.split != "train"
            tip = f"{s.run} {s.split}: {len(points)} points, {points[0][1]:.4g} at step {points[0][0]:g} to " \
                  f"{points[-1][1]:.4g} at step {points[-1][0]:g}"
            (line,) = ax.plot([p[0] for p in points], [p[1] for p in points], color=colours[s.run],
                              linestyle="--" if held_out else "-", marker="o" if held_out else None,
                              markersize=4, linewidth=1.3, label=f"{names[s.run]} {s.split}")
            line.set_gid(drawing.mark("line", tip))
        if log_scale:
            logarithmic(ax, "y")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss" + (" (log scale)" if log_scale else ""))
        ax.grid(color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        legend = fitted_legend(drawing, len(drawn))
        for (s, _points), text in zip(drawn, legend.get_texts()):
            if names[s.run] != s.run:
                text.set_gid(drawing.label(f"{s.run} {s.split}"))

        facts = [f"{s.run} {s.split} {p[0][1]:.3g} \u2192 {p[-1][1]:.3g} over steps {p[0][0]:g}\u2013{p[-1][0]:g}"
                 for s, p in drawn]
        dropped_text = f"{dropped} missing or non-finite losses left out" if dropped else ""
        if dropped and log_scale:
            dropped_text = f"{dropped} missing, non-finite or non-positive losses left out"
        caption = sentence(f"Loss per optimizer step, {counted(len(runs), 'run')} (solid: training, dashed: held-out)",
                           *facts, dropped_text, not_shown(missing))
        return drawing.to_plot(kind, caption)
