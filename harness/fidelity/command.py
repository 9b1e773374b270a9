"""`bench fidelity`: KL divergence, top-1 agreement and perplexity of candidates against a reference.

    bench fidelity --reference smollm2-135m-f16 --models smollm2-135m-q8_0,smollm2-135m-q4_k_m sbar-intake
    bench fidelity --reference base-f16 --models base-q4_k_m held_out.jsonl --limit 16

Prints the table and writes OUT/fidelity/<name>/<timestamp>/fidelity.json and fidelity.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import shlex
import sys
from pathlib import Path


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add_fidelity_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Teacher-force the reference answers of SUITE (a suite name or file) or FILE (a JSONL of "
                          "chat examples ending with the assistant's answer) through a reference model and each "
                          "candidate, and report per candidate: mean and p99 KL(reference || candidate), top-1 "
                          "agreement and perplexity, with bootstrap intervals over texts. The models must share "
                          "the reference's tokenizer (checked). No judge is needed.")
    parser.add_argument("source", metavar="SUITE|FILE")
    parser.add_argument("--reference", required=True, metavar="ID", help="the full-precision model (models.yaml id)")
    parser.add_argument("--models", required=True, type=_csv, metavar="A,B", help="candidates to compare with it")
    parser.add_argument("--models-file", dest="models_file", type=Path, default=Path("models.yaml"), metavar="FILE",
                        help="models file (default: models.yaml)")
    parser.add_argument("--config", dest="models_file", type=Path, help=argparse.SUPPRESS)  # the older name
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N texts")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("BENCH_REPORTS_DIR") or "reports"),
                        metavar="DIR", help="reports root; files go to DIR/fidelity/<name>/<timestamp>/ (default: "
                                            "$BENCH_REPORTS_DIR, else reports)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument("--n-boot", type=int, default=2000, metavar="N", help="bootstrap resamples (default: 2000)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def print_table(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from .result import table_header, table_rows

    table = Table(title=f"fidelity against {result.reference.id}: {result.source.kind} {result.source.name}")
    for i, column in enumerate(table_header(result)):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in table_rows(result):
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:  # a log or a pipe: the full table rather than rich's 80 columns
        console = Console(width=200)
    console.print(table)
    skipped = "".join(f", {n} skipped ({reason})" for reason, n in result.source.skipped.items())
    console.print(f"{result.source.scored} texts of {result.source.read}{skipped}; wall time "
                  f"{result.wall_time_s:.1f}s")


def fidelity_command(args) -> int:
    from ..errors import ConfigError
    from .result import write_fidelity
    from .run import run_fidelity

    if args.n_boot < 100:
        raise ConfigError(f"--n-boot must be at least 100, not {args.n_boot}", key="n-boot")
    quiet = getattr(args, "quiet", False)
    progress = None if quiet else (lambda message: print(f"fidelity: {message}", file=sys.stderr, flush=True))
    command = "bench " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["fidelity"] else None
    result = run_fidelity(args.source, args.reference, args.models, models_path=args.models_file, limit=args.limit,
                          n_boot=args.n_boot, seed=args.seed, command=command, progress=progress)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out_dir = args.out / "fidelity" / result.source.name / stamp
    json_path, md_path = write_fidelity(result, out_dir)
    print_table(result)
    print(f"wrote {json_path} and {md_path.name}")
    return 0
