"""The `bench` command: argument parsing only; the work lives in the modules each command calls. Imports stay
inside the commands so `bench --help` is fast (no torch, no llama_cpp)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import BenchError, ConfigError

EPILOG = """exit codes: 0 success (gates pass), 1 a gate failed, 2 bad input or configuration, 3 run failed,
130 interrupted (run the same command again to resume)"""
PIPELINE_STEPS = ("base", "sft", "qat", "export")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _gate_options(parser: argparse.ArgumentParser, *, after_run: bool) -> None:
    """The options `bench gate` shares with `bench run --gate`."""
    if after_run:
        parser.add_argument("--gate", action="append", nargs="?", const="", default=None, metavar="EXPR",
                            help="record and evaluate the suite's gates, or EXPR instead (repeatable); exit 1 if "
                                 "one fails")
    else:
        parser.add_argument("--gate", dest="gate_specs", action="append", default=[], metavar="EXPR",
                            help="a gate expression (replaces the run's recorded gates when given): "
                                 "beats:CAND:BASE[:p[:ALPHA]], not-worse:AXIS:CAND:BASE:MARGIN, "
                                 "budget:METRIC:MODEL:LIMIT, or a YAML mapping")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write the verdicts as JUnit XML")
    parser.add_argument("--summary", type=Path, metavar="FILE",
                        help="append the verdicts as Markdown to FILE (e.g. $GITHUB_STEP_SUMMARY)")


def add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN",
                        help="a run directory, its results.json, or a run id under the reports directory")
    _gate_options(parser, after_run=False)
    parser.add_argument("--reports-dir", type=Path, default=Path("reports"), help="where run ids are looked up")


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline_config", metavar="CONFIG", type=Path,
                        help="pipeline YAML, e.g. training/configs/pipeline_smollm2_cpu.yaml")
    parser.add_argument("--keep-going", action="store_true",
                        help="run every step even after a failed gate (nothing past it is promoted)")
    parser.add_argument("--skip", action="append", default=[], choices=PIPELINE_STEPS, metavar="STEP",
                        help=f"reuse an earlier run's output of a training step ({', '.join(PIPELINE_STEPS)}); "
                             "repeatable")
    parser.add_argument("--resume", action="store_true",
                        help="reuse each training step whose manifest matches the config it would run with now "
                             "(config hash) and is newer than its inputs: a stopped pipeline picks up at the step "
                             "that did not finish")
    parser.add_argument("--sample", type=int, default=None,
                        help="cases per evaluation, spread over the suite (overrides the config)")
    parser.add_argument("--judge", default=None, help="judge model id (overrides the config and the suite)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="Evaluate small fine-tuned models honestly: rubric "
                                     "suites, a blinded judge, statistics with intervals, HTML reports, CI gates.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=Path("models.yaml"), metavar="FILE",
                        help="models file (default: models.yaml)")
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", type=Path, default=Path(".bench/bench.sqlite"), metavar="FILE",
                       help="SQLite store and cache (default: .bench/bench.sqlite)")

    run = sub.add_parser("run", parents=[common, store],
                         help="run a suite: answers, grades, judge, statistics, report",
                         description="Run SUITE (a name under suites/ or a path to a suite YAML) over its models, "
                         "grade the answers, have the judge rank them blind, and write the report. Finished model "
                         "calls are cached: the same command again makes no new calls, and an interrupted run "
                         "resumes.", epilog=EPILOG)
    run.add_argument("suite")
    run.add_argument("--models", type=_csv, default=None, metavar="A,B", help="models to compare (default: the suite's)")
    run.add_argument("--judge", default=None, metavar="M",
                     help="judge model id, a,b for a panel, or none (default: the suite's)")
    run.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N cases")
    run.add_argument("--fidelity-reference", default=None, metavar="ID",
                     help="after the answers, KL divergence, top-1 agreement and perplexity of every other model "
                          "against this one on the suite's reference answers (the suite's fidelity: settings)")
    run.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                     help="reports root; the report goes to DIR/<suite>/<run-id>/ (default: reports)")
    _gate_options(run, after_run=True)
    run.add_argument("--quiet", action="store_true", help="no progress output")

    report = sub.add_parser("report", parents=[store],
                            help="write the report of a finished run again, recomputed from the store",
                            description="Recompute a finished run's results from the store (or, when the store "
                            "no longer holds it, read its results.json) and write results.json, summary.md and "
                            "index.html again.")
    report.add_argument("run", help="run directory, results.json, or run id")
    report.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR", help="reports root")

    models = sub.add_parser("models", parents=[common], help="list the configured models")
    models.add_argument("--check", action="store_true", help="ask each model for a one-word answer")

    sub.add_parser("suites", help="list the suites under suites/")

    exam = sub.add_parser("judge-exam", parents=[common, store],
                          help="qualify a judge: its exam on a suite's known-answer pairs (exit 0 pass, 1 fail)",
                          description="Make known-worse twins of the suite's reference answers and ask the judge to "
                          "compare each with the reference in both orders, as a run would. Prints the accuracy "
                          "overall and per corruption with Wilson intervals; exit 0 when the lower bound reaches the "
                          "suite's exam.min_accuracy, 1 when it does not.")
    exam.add_argument("suite")
    exam.add_argument("--judge", default=None, metavar="M", help="judge model id, or a,b for a panel (default: the suite's)")
    exam.add_argument("--pairs", type=int, default=None, metavar="N", help="known-answer pairs (default: the suite's)")
    exam.add_argument("--quiet", action="store_true", help="no progress output")

    gate = sub.add_parser("gate", help="evaluate gates on a finished run (exit 0 pass, 1 fail, 2 bad input)",
                          description="Evaluate the gates the run recorded (or those given with --gate) on its "
                          "results. The suite file is not read again: editing it after the run changes nothing.")
    add_gate_arguments(gate)
    pipeline = sub.add_parser("pipeline", help="train, export, evaluate and gate: the whole loop")
    add_pipeline_arguments(pipeline)

    # bench fidelity: token-probability drift of quantized files (harness/fidelity/command.py)
    from .fidelity.command import add_fidelity_arguments
    add_fidelity_arguments(sub.add_parser("fidelity", help="KL divergence, top-1 agreement and perplexity "
                                          "against a reference model (no judge)"))
    return parser


def cmd_run(args) -> int:
    from .evaluate import run_suite
    from .gates.output import report_verdicts

    gates = None
    specs = [g for g in args.gate or [] if g]
    if specs:
        from .gates.spec import parse_gates

        gates = parse_gates(specs, "--gate")
    results, index = run_suite(args.suite, models_path=args.config, model_ids=args.models, judge=args.judge,
                               limit=args.limit, reports_dir=args.out, store_path=args.store, quiet=args.quiet,
                               gates=gates, fidelity_reference=args.fidelity_reference)
    _print_summary(results)
    print(f"report: {index}")
    if args.gate is None:
        return 0
    if not results.gates:
        raise ConfigError("no gates to evaluate: declare `gates:` in the suite or give --gate EXPR")
    report_verdicts(results.gates, suite_name=results.suite.name, run_id=results.run_id, junit=args.junit,
                    summary=args.summary)
    from .gates.evaluate import exit_code

    return exit_code(results.gates)


def _print_summary(results) -> None:
    from rich.console import Console
    from rich.table import Table

    from .report import formatting as fmt

    table = Table(title=f"{results.suite.name} - run {results.run_id}")
    for col in ("model", "n", "err", "score [95% CI]", "win rate [95% CI]", "TTFT p50", "tok/s"):
        table.add_column(col)
    for m in sorted(results.models, key=lambda m: -(m.score or 0)):
        table.add_row(m.id, str(m.n), str(m.errors), fmt.with_interval(m.score, m.score_ci),
                      fmt.with_interval(m.win_rate, m.win_rate_ci, fmt.pct), fmt.seconds(m.latency.ttft_p50_s),
                      fmt.rate(m.latency.tokens_per_s))
    console = Console()
    console.print(table)
    gen, judge = results.generation, results.judge
    console.print(f"model calls: {gen.calls} new, {gen.cached} cached, {gen.failed} failed; "
                  f"wall time {fmt.duration(results.wall_time_s)}", markup=False)
    if judge.id:
        audit = judge.audit
        trust = "" if audit is None or audit.trusted is None else (
            " - trusted" if audit.trusted else " - UNTRUSTED: " + "; ".join(audit.reasons))
        console.print(f"judge {judge.id}: position consistency {fmt.pct(judge.position_consistency)}, "
                      f"{judge.errors or 0} unparsed verdicts{trust}", markup=False)


def cmd_report(args) -> int:
    from .lookup import find_run
    from .report import write_report, write_runs_index

    results, out_dir = find_run(args.run, reports_dir=args.out, store_path=args.store)
    index = write_report(results, out_dir)
    write_runs_index(args.out)
    print(f"report: {index}")
    return 0


def cmd_gate(args) -> int:
    from .files import atomic_write_text
    from .gates.evaluate import evaluate_gates, exit_code
    from .gates.output import report_verdicts
    from .gates.spec import parse_gates
    from .lookup import read_results_file, resolve_results_path

    path = resolve_results_path(args.run, args.reports_dir)
    results = read_results_file(path)
    if args.gate_specs:
        gates = parse_gates(list(args.gate_specs), "--gate")
    else:
        gates = parse_gates(results.spec.gates if results.spec else [], f"{path}: spec.gates")
    if not gates:
        raise ConfigError("no gates to evaluate: the run recorded none; give --gate EXPR")
    results.gates = evaluate_gates(results, gates)
    atomic_write_text(path, results.to_json())
    report_verdicts(results.gates, suite_name=results.suite.name, run_id=results.run_id, junit=args.junit,
                    summary=args.summary)
    if (path.parent / "index.html").is_file():
        from .report import write_report

        write_report(results, path.parent)  # the HTML report and summary.md show the verdicts too
    return exit_code(results.gates)


def cmd_models(args) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from .adapters.base import GenerationSettings
    from .config import load_models
    from .registry import create_adapter

    entries = load_models(args.config)
    table = Table(title=str(args.config))
    for col in ("id", "kind", "fingerprint", *(("TTFT", "status") if args.check else ())):
        table.add_column(col, overflow="fold")
    failed = 0
    for mid, entry in entries.items():
        if not args.check:
            table.add_row(escape(mid), entry.kind, "-")
            continue
        try:
            adapter = create_adapter(entry)
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
        table.add_row(escape(mid), entry.kind, escape(fingerprint), ttft, escape(status))
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


def cmd_judge_exam(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from .evaluate import judge_exam
    from .report import formatting as fmt

    exams = judge_exam(args.suite, models_path=args.config, judge=args.judge, store_path=args.store,
                       pairs=args.pairs, quiet=args.quiet)
    console = Console()
    for judge_id, exam in exams.items():
        table = Table(title=f"exam of judge {judge_id}")
        for column in ("corruption", "n", "accuracy [95% CI]"):
            table.add_column(column)
        for name, figure in exam["by_corruption"].items():
            table.add_row(name, str(figure["n"]), fmt.with_interval(figure["accuracy"], figure["ci"]))
        table.add_row("all", str(exam["judgments"]), fmt.with_interval(exam["accuracy"], exam["ci"]))
        console.print(table)
        console.print(f"{'PASSED' if exam['passed'] else 'FAILED'}: {exam['reason']}; position consistency "
                      f"{fmt.pct(exam['position_consistency'])}, {exam['unparsed']} without a verdict", markup=False)
    return 0 if all(exam["passed"] for exam in exams.values()) else 1


def cmd_pipeline(args) -> int:
    from training.pipeline import pipeline_command

    return pipeline_command(args)


def cmd_fidelity(args) -> int:
    from .fidelity.command import fidelity_command

    return fidelity_command(args)


COMMANDS = {"run": cmd_run, "report": cmd_report, "models": cmd_models, "suites": cmd_suites, "gate": cmd_gate,
            "pipeline": cmd_pipeline, "judge-exam": cmd_judge_exam, "fidelity": cmd_fidelity}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bench: interrupted; finished work is saved - run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
