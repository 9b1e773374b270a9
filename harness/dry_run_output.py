"""`bench run --dry-run`: the plan (harness.plan_cost) as a table, or as JSON with `--json`."""

from __future__ import annotations

import json
import sys

from .plan_cost import DryRun, dry_run


def dry_run_command(args, options) -> int:
    """`options`: the command's harness.run_options.RunOptions (cases, overrides, --no-cache, --repeat)."""
    plan = dry_run(args.suite, models_path=args.models_file, model_ids=args.models, judge=args.judge,
                   options=options, fidelity_reference=args.fidelity_reference, store_path=args.store)
    if args.json:
        print(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_plan(plan)
    return 0


def print_plan(plan: DryRun, console=None) -> None:
    from rich.console import Console

    from .report import formatting as fmt

    # Off a terminal (a log, a pipe) rich assumes 80 columns, too few for the table: give it room.
    console = console or Console(width=None if sys.stdout.isatty() else 150)
    samples = f", {plan.samples} samples of each case" if plan.samples > 1 else ""
    title = (f"dry run: {plan.suite}, {plan.cases} cases x {len(plan.models)} models{samples}, judge "
             f"{'+'.join(plan.judges) or 'none'}")
    rows = []
    for r in plan.rows:
        mean = r["cached_mean_output_tokens"]
        rows.append((r["name"], r["model"], fmt.count(r["calls"]), fmt.count(r["cached"]), fmt.count(r["to_make"]),
                     fmt.count(r["input_tokens"]), fmt.count(r["output_tokens_max"]),
                     "-" if mean is None else f"{mean:.0f}", fmt.usd(r["usd_max"]), fmt.usd(r["usd_expected"])))
    console.print(_table(title, ("stage", "model", "calls", "cached", "new", "in tok~", "out tok max",
                                 "out/call cached", "USD max", "USD exp."), rows, left=2))
    rows = [(m["model"], ", ".join(m["roles"]), fmt.count(m["to_make"]), fmt.count(m["cached"]),
             fmt.usd(m["usd_max"]) if m["priced"] else "no prices",
             fmt.usd(m["usd_expected"]) if m["priced"] else "no prices", fmt.usd(m["cached_usd"]))
            for m in plan.per_model]
    console.print(_table("per model", ("model", "roles", "new", "cached", "USD max", "USD exp.", "USD of cached"),
                         rows, left=2))
    if plan.resumes:
        console.print(f"this command would resume the unfinished run {plan.resumes}", markup=False, highlight=False)
    console.print("columns: new = calls to make; in tok~ = estimated input tokens of those; out tok max = their "
                  "max_tokens; out/call cached = mean output tokens of this model's cached calls of the stage; "
                  "USD exp. = at that mean; USD of cached = what the cached calls cost when they were made (not spent "
                  "again)", markup=False, highlight=False)
    for note in plan.notes:
        console.print("note: " + note, markup=False, highlight=False)


def _table(title: str, columns: tuple[str, ...], rows: list[tuple], left: int):
    """A rich table whose cells are never cut: each column at least as wide as its widest cell (headers wrap)."""
    from rich.table import Table

    from .progress import plain

    table = Table(title=plain(title))
    for i, column in enumerate(columns):
        widest = max((len(str(row[i])) for row in rows), default=1)
        table.add_column(plain(column), justify="left" if i < left else "right", min_width=widest, overflow="fold")
    for row in rows:
        table.add_row(*map(plain, map(str, row)))
    return table
