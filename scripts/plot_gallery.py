"""Render every report plot for N made-up models, print each one's size and time, write an HTML page of them.

    PYTHONPATH=$PWD python scripts/plot_gallery.py --models 8 --out /tmp/plots.html

The figures are invented (a fixed formula per model, long names and names holding markup included) to check
how the pictures look and how long they take; they are not results of any run.
"""

from __future__ import annotations

import argparse
import html
import importlib
import time
from pathlib import Path


def render_all(n_models: int) -> list[tuple[str, object, float]]:
    from harness.report import plots
    from tests.helpers.plot_examples import example_inputs

    rendered = []
    for name, args in example_inputs(n_models).items():
        started = time.perf_counter()
        plot = getattr(plots, name)(*args)
        rendered.append((name, plot, time.perf_counter() - started))
    return rendered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None, help="write an HTML page of the plots here")
    args = parser.parse_args()
    started = time.perf_counter()
    importlib.import_module("matplotlib.figure")  # timed apart: paid once per process
    import_s = time.perf_counter() - started
    rendered = render_all(args.models)
    total = sum(seconds for *_rest, seconds in rendered)
    print(f"matplotlib import {import_s:.2f} s")
    for name, plot, seconds in rendered:
        print(f"{name:26s} {len(plot.svg.encode()) / 1024:6.1f} KB {seconds:6.3f} s {plot.marks:4d} marks")
    print(f"{'all plots':26s} {sum(len(p.svg.encode()) for _n, p, _s in rendered) / 1024:6.1f} KB {total:6.3f} s")
    if args.out:
        body = "\n".join(f"<figure>{plot.svg}<figcaption>{html.escape(plot.caption)}</figcaption></figure>"
                         for _name, plot, _s in rendered)
        args.out.write_text(f"<!doctype html><meta charset=utf-8><title>plots</title>"
                            f"<style>figure{{max-width:720px}}</style>{body}", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
