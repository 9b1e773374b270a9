"""The `bench` command: argument parsing only; the work lives in the modules each command calls. Imports stay
inside the commands so `bench --help` is fast (no torch, no llama_cpp)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .commands import (cmd_compare, cmd_gate, cmd_judge_exam, cmd_models, cmd_pipeline, cmd_report, cmd_run,
                       cmd_schema, cmd_suites)
from .errors import BenchError

EPILOG = """exit codes: 0 success (gates pass), 1 a gate failed, 2 bad input or configuration, 3 run failed or
stopped at --max-cost, 130 interrupted (run the same command again to resume)"""
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
    parser.add_argument("--baseline-run", metavar="OLD", default=None,
                        help="gate each model (or --model) against the same model in the earlier run OLD: the paired "
                             "difference over the shared cases must clear -MARGIN (or 0 without --margin)")
    parser.add_argument("--model", dest="baseline_models", action="append", default=[], metavar="ID",
                        help="with --baseline-run: the model to gate (repeatable; default: every shared model)")
    parser.add_argument("--axis", dest="baseline_axis", default="score", metavar="AXIS",
                        help="with --baseline-run: 'score' (default) or a rubric axis")
    parser.add_argument("--margin", dest="baseline_margin", type=float, default=None, metavar="M",
                        help="with --baseline-run: non-inferiority margin; without it the model must be better")


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline_config", metavar="CONFIG", type=Path,
                        help="pipeline YAML, e.g. training/configs/pipeline_smollm2_cpu.yaml")
    parser.add_argument("--keep-going", action="store_true",
                        help="run every step even after a failed gate (nothing past it is promoted)")
    parser.add_argument("--skip", action="append", default=[], choices=PIPELINE_STEPS, metavar="STEP",
                        help=f"reuse an earlier run's output of a training step ({', '.join(PIPELINE_STEPS)}); "
                             "repeatable")
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
    run.add_argument("--repeat", type=int, default=None, metavar="N",
                     help="ask each case N times at the suite's temperature (above 0); default: the suite's "
                          "generation.samples, or 1")
    run.add_argument("--dry-run", action="store_true",
                     help="print the calls per stage, how many the cache holds, tokens and cost; call no model")
    run.add_argument("--json", action="store_true", help="with --dry-run: print the plan as JSON")
    run.add_argument("--max-cost", type=float, default=None, metavar="USD",
                     help="stop starting calls before this run's spend could pass USD (exit 3); run again with a "
                          "higher cap to resume")
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
    report.add_argument("--training-manifest", action="append", type=Path, default=[], metavar="FILE",
                        help="a training recipe's manifest.json: its loss curves go into the report (repeatable)")

    models = sub.add_parser("models", parents=[common], help="list the configured models")
    models.add_argument("--check", action="store_true", help="ask each model for a one-word answer")

    sub.add_parser("suites", help="list the suites under suites/")

    schema = sub.add_parser("schema", help="print the JSON Schema of models.yaml, a suite or a rubric (for editors)",
                            description="Print the JSON Schema of an input file, for an editor with a YAML language "
                            "server: put `# yaml-language-server: $schema=schemas/suite.schema.json` at the top of "
                            "the file. --write DIR writes all three.")
    schema.add_argument("name", nargs="?", choices=["models", "suite", "rubric"])
    schema.add_argument("--write", type=Path, metavar="DIR", help="write models/suite/rubric.schema.json into DIR")

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
    compare = sub.add_parser("compare", help="compare two runs: per-model changes with paired intervals, the "
                             "cases that regressed, what changed between the runs",
                             description="Compare RUN_B (new) against RUN_A (old) over the models and cases both hold: "
                             "differences new - old with paired intervals, the cases that regressed most, and whether "
                             "the suite, rubric, judge or prompts changed. Writes compare.html, compare.md and "
                             "compare.json; prints the Markdown.")
    compare.add_argument("old", metavar="RUN_A", help="the earlier run: run id, run directory or results.json")
    compare.add_argument("new", metavar="RUN_B", help="the later run")
    compare.add_argument("--out", type=Path, default=None, metavar="DIR",
                         help="where the files go (default: REPORTS/compare/RUN_A__RUN_B)")
    compare.add_argument("--reports-dir", type=Path, default=Path("reports"), help="where run ids are looked up")
    pipeline = sub.add_parser("pipeline", help="train, export, evaluate and gate: the whole loop")
    add_pipeline_arguments(pipeline)
    return parser


COMMANDS = {"run": cmd_run, "report": cmd_report, "models": cmd_models, "suites": cmd_suites, "gate": cmd_gate,
            "compare": cmd_compare, "pipeline": cmd_pipeline, "judge-exam": cmd_judge_exam, "schema": cmd_schema}


def load_dotenv_file() -> None:
    """Keys from a `.env` file in the working directory, as many tools read them; a variable already set wins.
    They stay in the environment: never in the store, a report or a log."""
    path = Path.cwd() / ".env"
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    load_dotenv_file()
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
