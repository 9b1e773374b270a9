"""The `bench` command. Imports stay inside the commands so `bench --help` is fast (no torch, no llama_cpp)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import BenchError

EPILOG = """exit codes: 0 success (gates pass), 1 a gate failed, 2 bad input or configuration, 3 run failed,
130 interrupted (run the same command again to resume)"""


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="Evaluate small fine-tuned models honestly: rubric "
                                     "suites, a blinded judge, statistics with intervals, HTML reports, CI gates.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=Path("models.yaml"), metavar="FILE",
                        help="models file (default: models.yaml)")
    common.add_argument("--store", type=Path, default=Path(".bench/bench.sqlite"), metavar="FILE",
                        help="SQLite store and cache (default: .bench/bench.sqlite)")

    run = sub.add_parser("run", parents=[common], help="run a suite: answers, grades, judge, statistics, report",
                         description="Run SUITE (a name under suites/ or a path to a suite YAML) over its models, "
                         "grade the answers, have the judge rank them blind, and write the report. Finished model "
                         "calls are cached: the same command again makes no new calls, and an interrupted run "
                         "resumes.", epilog=EPILOG)
    run.add_argument("suite")
    run.add_argument("--models", type=_csv, default=None, metavar="A,B", help="models to compare (default: the suite's)")
    run.add_argument("--judge", default=None, metavar="M", help="judge model id, a,b for a panel, or none (default: the suite's)")
    run.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N cases")
    run.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                     help="reports root; the report goes to DIR/<suite>/<run-id>/ (default: reports)")
    run.add_argument("--gate", action="append", nargs="?", const="", default=None, metavar="EXPR",
                     help="after the run, evaluate the suite's gates, or EXPR instead (repeatable); exit 1 if one fails")
    run.add_argument("--junit", type=Path, metavar="FILE", help="with --gate: write the verdicts as JUnit XML")
    run.add_argument("--summary", type=Path, metavar="FILE",
                     help="with --gate: append the verdicts as Markdown to FILE (e.g. $GITHUB_STEP_SUMMARY)")
    run.add_argument("--quiet", action="store_true", help="no progress output")

    report = sub.add_parser("report", help="write the report of a finished run again (HTML, results.json, summary)")
    report.add_argument("run", help="run directory, results.json, or run id under reports/")
    report.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR", help="reports root")

    models = sub.add_parser("models", parents=[common], help="list the configured models")
    models.add_argument("--check", action="store_true", help="ask each model for a one-word answer")

    sub.add_parser("suites", help="list the suites under suites/")

    try:
        from .gate import add_gate_arguments
    except ImportError:  # pragma: no cover - the gate module ships with the package
        add_gate_arguments = None
    if add_gate_arguments is not None:
        gate = sub.add_parser("gate", help="evaluate gates on a finished run (exit 0 pass, 1 fail, 2 bad input)")
        add_gate_arguments(gate)
    try:
        from .pipeline import add_pipeline_arguments
    except ImportError:  # pragma: no cover
        add_pipeline_arguments = None
    if add_pipeline_arguments is not None:
        pipeline = sub.add_parser("pipeline", help="train, export, evaluate and gate: the whole loop")
        add_pipeline_arguments(pipeline)

    # bench fidelity: token-probability drift of quantized files (harness/fidelity/command.py)
    from .fidelity.command import add_fidelity_arguments
    add_fidelity_arguments(sub.add_parser("fidelity", help="KL divergence, top-1 agreement and perplexity "
                                          "against a reference model (no judge)"))
    return parser


def cmd_run(args) -> int:
    from .runner import run_suite

    results, index = run_suite(args.suite, models_path=args.config, model_ids=args.models, judge=args.judge,
                               limit=args.limit, reports_dir=args.out, store_path=args.store, quiet=args.quiet)
    _print_summary(results)
    print(f"report: {index}")
    if args.gate is not None:
        from .gate import apply_gates
        from .report import write_report

        code = apply_gates(results, results_path=index.parent / "results.json",
                           cli_specs=[g for g in args.gate if g], junit=args.junit, summary=args.summary)
        write_report(results, index.parent)  # the report shows the verdicts too
        return code
    return 0


def _print_summary(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    def fmt(x, ci=None, pct=False):
        if x is None:
            return "-"
        text = f"{x:.1%}" if pct else f"{x:.3f}"
        if ci:
            text += f" [{ci[0]:.1%}, {ci[1]:.1%}]" if pct else f" [{ci[0]:.3f}, {ci[1]:.3f}]"
        return text

    table = Table(title=f"{results['suite']['name']} - run {results['run_id']}")
    for col in ("model", "n", "err", "score [95% CI]", "win rate [95% CI]", "TTFT p50", "tok/s"):
        table.add_column(col)
    for m in sorted(results["models"], key=lambda m: -(m["score"] or 0)):
        lat = m["latency"]
        table.add_row(m["id"], str(m["n"]), str(m["errors"]), fmt(m["score"], m["score_ci"]),
                      fmt(m["win_rate"], m["win_rate_ci"], pct=True),
                      "-" if lat["ttft_p50_s"] is None else f"{lat['ttft_p50_s']:.2f}s",
                      "-" if lat["tokens_per_s"] is None else f"{lat['tokens_per_s']:.0f}")
    console = Console()
    console.print(table)
    gen, judge = results["generation"], results["judge"]
    console.print(f"model calls: {gen['calls']} new, {gen['cached']} cached, {gen.get('failed', 0)} failed; "
                  f"wall time {results['wall_time_s']:.1f}s")
    if judge.get("id"):
        pc = judge.get("position_consistency")
        audit = judge.get("audit") or {}
        trust = "" if "trusted" not in audit else (" - trusted" if audit["trusted"] else
                                                   " - UNTRUSTED: " + "; ".join(audit.get("reasons", [])))
        console.print(f"judge {judge['id']}: position consistency {'-' if pc is None else f'{pc:.0%}'}, "
                      f"{judge.get('errors', 0)} unparsed verdicts{trust}")


def find_results(run: str, reports_root: Path) -> Path:
    candidate = Path(run)
    if candidate.is_file():
        return candidate
    if (candidate / "results.json").is_file():
        return candidate / "results.json"
    matches = sorted(reports_root.glob(f"*/{run}/results.json"))
    if matches:
        return matches[-1]
    from .errors import ConfigError
    raise ConfigError(f"no run '{run}' (looked for a results.json there and under {reports_root}/<suite>/{run}/)")


def cmd_report(args) -> int:
    import json

    from .report import write_report, write_runs_index

    path = find_results(args.run, args.out)
    results = json.loads(path.read_text(encoding="utf-8"))
    index = write_report(results, path.parent)
    write_runs_index(args.out)
    print(f"report: {index}")
    return 0


def cmd_models(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from .adapters.base import GenerationSettings
    from .config import load_models
    from .runner import build_adapter

    entries = load_models(args.config)
    table = Table(title=str(args.config))
    for col in ("id", "kind", "fingerprint", *(("TTFT", "status") if args.check else ())):
        table.add_column(col, overflow="fold")
    failed = 0
    for mid, entry in entries.items():
        if not args.check:
            table.add_row(mid, entry.kind, "-")
            continue
        try:
            adapter = build_adapter(entry)
            fingerprint = adapter.fingerprint()
            c = adapter.generate([{"role": "user", "content": "Reply with one word: ready"}],
                                 GenerationSettings(max_tokens=8))
            adapter.close()
            status = "ok: " + repr(c.text.strip()[:30]) if c.error is None else f"error: {c.error}"
            failed += c.error is not None
            ttft = "-" if c.ttft_s is None else f"{c.ttft_s:.2f}s"
        except BenchError as exc:
            fingerprint, ttft, status = "-", "-", f"error: {exc}"
            failed += 1
        table.add_row(mid, entry.kind, fingerprint, ttft, status)
    Console().print(table)
    return 3 if failed else 0


def cmd_suites(args) -> int:
    from .config import load_suite

    root = Path("suites")
    paths = sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml"))
    if not paths:
        print("no suites under ./suites")
        return 0
    for path in paths:
        loaded = load_suite(path)
        s = loaded.suite
        print(f"{s.name:<24} v{s.version}  {len(loaded.cases):>4} cases  models: {', '.join(s.models)}  "
              f"judge: {s.judge or '-'}  {s.description.strip().splitlines()[0] if s.description else ''}")
    return 0


COMMANDS = {"run": cmd_run, "report": cmd_report, "models": cmd_models, "suites": cmd_suites}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "gate":
            from .gate import gate_command
            return gate_command(args)
        if args.command == "fidelity":
            from .fidelity.command import fidelity_command
            return fidelity_command(args)
        if args.command == "pipeline":
            from .pipeline import pipeline_command
            return pipeline_command(args)
        return COMMANDS[args.command](args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bench: interrupted; finished work is saved - run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
