"""The `bench` command: argument parsing only; the work lives in the modules each command calls. Imports stay
inside the commands so `bench --help` is fast (no torch, no llama_cpp)."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

from . import __version__
from .commands import (cmd_cache, cmd_compare, cmd_fidelity, cmd_gate, cmd_judge_exam, cmd_models, cmd_pipeline,
                       cmd_report,
                       cmd_run, cmd_schema, cmd_suites)
from .errors import BenchError

EPILOG = """exit codes: 0 success (gates pass), 1 a gate failed, 2 bad input or configuration, 3 run failed or
stopped at --max-cost, 130 interrupted (run the same command again to resume)"""
ENVIRONMENT = """environment (a .env file in the working directory is read too; a variable already set wins):
  BENCH_STORE        default for --store (the SQLite store and cache)
  BENCH_REPORTS_DIR  default for --out and --reports-dir (the reports root)
  OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_API_KEY/GEMINI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_BASE_URL, the
  AWS chain: read by the model kinds, never stored"""
PIPELINE_STEPS = ("base", "sft", "qat", "export")


def _env_path(variable: str, fallback: str) -> Path:
    """A path flag's default: the environment variable when set, else `fallback`."""
    return Path(os.environ.get(variable) or fallback)


def _reports_dir() -> Path:
    return _env_path("BENCH_REPORTS_DIR", "reports")


REPORTS_HELP = "reports root (default: $BENCH_REPORTS_DIR, else reports)"


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
    parser.add_argument("--reports-dir", type=Path, default=_reports_dir(), help="where run ids are looked up; "
                        "default: $BENCH_REPORTS_DIR, else reports")
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
    parser.add_argument("--resume", action="store_true",
                        help="reuse each training step whose manifest matches the config it would run with now "
                             "(config hash) and is newer than its inputs: a stopped pipeline picks up at the step "
                             "that did not finish")
    parser.add_argument("--sample", type=int, default=None,
                        help="cases per evaluation, spread over the suite (overrides the config)")
    parser.add_argument("--judge", default=None, help="judge model id (overrides the config and the suite)")


def _case_options(parser, what: str = "") -> None:
    parser.add_argument("--tags", type=_csv, default=[], metavar="A,B", help=what + "cases with any of these tags")
    parser.add_argument("--case", dest="case_ids", action="append", default=[], metavar="ID",
                        help=what + "this case (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="Evaluate small fine-tuned models honestly: rubric "
                                     "suites, a blinded judge, statistics with intervals, HTML reports, CI gates.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--models-file", dest="models_file", type=Path, default=Path("models.yaml"), metavar="FILE",
                        help="the models file (default: models.yaml); shorthand ids like openai/gpt-4.1-mini need "
                             "no entry in it")
    common.add_argument("--config", dest="models_file", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", type=Path, default=_env_path("BENCH_STORE", ".bench/bench.sqlite"), metavar="FILE",
                       help="SQLite store and cache (default: $BENCH_STORE, else .bench/bench.sqlite)")

    run = sub.add_parser("run", parents=[common, store],
                         help="run a suite: answers, grades, judge, statistics, report",
                         description=textwrap.fill(
                             "Run SUITE (a name under suites/ or a path to a suite YAML) over its models, grade the "
                             "answers, have the judge rank them blind, and write the report. Finished model calls are "
                             "cached: the same command again makes no new calls, and an interrupted run resumes.",
                             100), epilog=EPILOG + "\n\n" + ENVIRONMENT,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("suite")
    run.add_argument("--models", type=_csv, default=None, metavar="A,B",
                     help="models to compare: models-file ids or shorthand ids (openai/gpt-4.1-mini, "
                          "ollama/qwen2.5:0.5b, gguf/path/to/file.gguf, ...) (default: the suite's)")
    run.add_argument("--judge", default=None, metavar="M",
                     help="judge model id, a,b for a panel, or none (default: the suite's)")
    picking = run.add_argument_group("case selection (recorded in results.json: spec.selection)")
    _case_options(picking)
    picking.add_argument("--limit", type=int, default=None, metavar="N",
                         help="a seeded sample of N cases, spread over the suite's tag groups (a case's first tag) "
                              "in proportion to their sizes, in the suite's order")
    picking.add_argument("--seed-cases", dest="case_seed", type=int, default=None, metavar="S",
                         help="the sample's seed (default: the suite's judging seed)")
    overrides = run.add_argument_group("the contestants' generation settings in place of the suite's (the judge "
                                       "keeps its own; recorded in results.json: spec.generation_overrides)")
    overrides.add_argument("--temperature", type=float, default=None, metavar="T", help="sampling temperature")
    overrides.add_argument("--max-tokens", type=int, default=None, metavar="N", help="the longest answer, in tokens")
    overrides.add_argument("--seed", type=int, default=None, metavar="S", help="the sampling seed")
    run.add_argument("--fidelity-reference", default=None, metavar="ID",
                     help="after the answers, KL divergence, top-1 agreement and perplexity of every other model "
                          "against this one on the suite's reference answers (the suite's fidelity: settings)")
    run.add_argument("--no-cache", action="store_true",
                     help="answer afresh: no cached answer or verdict is used (what comes back is still stored)")
    run.add_argument("--repeat", type=int, default=None, metavar="N",
                     help="ask each case N times at the suite's temperature (above 0); default: the suite's "
                          "generation.samples, or 1")
    run.add_argument("--dry-run", action="store_true",
                     help="print the calls per stage, how many the cache holds, tokens and cost; call no model")
    run.add_argument("--json", action="store_true", help="with --dry-run: print the plan as JSON")
    run.add_argument("--max-cost", type=float, default=None, metavar="USD",
                     help="stop starting calls before this run's spend could pass USD (exit 3); run again with a "
                          "higher cap to resume")
    run.add_argument("--out", type=Path, default=_reports_dir(), metavar="DIR",
                     help="reports root; the report goes to DIR/<suite>/<run-id>/ (default: $BENCH_REPORTS_DIR, "
                          "else reports)")
    _gate_options(run, after_run=True)
    run.add_argument("--quiet", action="store_true", help="no progress output")

    report = sub.add_parser("report", parents=[store],
                            help="write the report of a finished run again, recomputed from the store",
                            description="Recompute a finished run's results from the store (or, when the store "
                            "no longer holds it, read its results.json) and write results.json, summary.md and "
                            "index.html again.")
    report.add_argument("run", help="run directory, results.json, or run id")
    report.add_argument("--out", type=Path, default=_reports_dir(), metavar="DIR", help=REPORTS_HELP)
    report.add_argument("--training-manifest", action="append", type=Path, default=[], metavar="FILE",
                        help="a training recipe's manifest.json: its loss curves go into the report (repeatable)")

    models = sub.add_parser("models", parents=[common], help="list the configured models, or what ids resolve to",
                            description="List the models file's entries; with --resolve or --suite, the entries the "
                            "given ids (or the suite's models and judges) resolve to, shorthand ids included, with "
                            "their kind and settings.")
    models.add_argument("--check", action="store_true", help="ask each model for a one-word answer")
    models.add_argument("--resolve", type=_csv, action="extend", default=[], metavar="ID[,ID]",
                        help="show the entry each id resolves to (repeatable)")
    models.add_argument("--suite", default=None, metavar="SUITE",
                        help="show the entries of the suite's models and judges")

    sub.add_parser("suites", help="list the suites under suites/")

    schema = sub.add_parser("schema", help="print the JSON Schema of models.yaml, a suite or a rubric (for editors)",
                            description="Print the JSON Schema of an input file, for an editor with a YAML language "
                            "server: put `# yaml-language-server: $schema=../schemas/suite.schema.json` (a path "
                            "relative to the file) at the top of the file. --write DIR writes all three.")
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
    _case_options(exam, what="the cases the pairs come from: ")
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
    compare.add_argument("--reports-dir", type=Path, default=_reports_dir(), help="where run ids are looked up; "
                         "default: $BENCH_REPORTS_DIR, else reports")
    cache = sub.add_parser("cache", parents=[store], help="the cache of model calls: size, clear, prune",
                           description="info (the default): the store's size and the cached calls per model and "
                           "stage. clear: remove cached calls (all, or --model/--stage). prune: remove those older "
                           "than --older-than. A finished run keeps its results: they are computed from its own rows.")
    cache.add_argument("action", nargs="?", default="info", choices=["info", "clear", "prune"])
    cache.add_argument("--model", default=None, metavar="M",
                       help="only this model's cached calls: the id they were made under, or its fingerprint")
    cache.add_argument("--stage", default=None, metavar="S",
                       help="only this stage's (answer, grade, judge, score, adversarial, exam)")
    cache.add_argument("--older-than", default=None, metavar="AGE", help="prune: an age such as 30d or 12h")
    cache.add_argument("--yes", action="store_true", help="remove without asking")
    pipeline = sub.add_parser("pipeline", help="train, export, evaluate and gate: the whole loop")
    add_pipeline_arguments(pipeline)

    # bench fidelity: token-probability drift of quantized files (harness/fidelity/command.py)
    from .fidelity.command import add_fidelity_arguments
    add_fidelity_arguments(sub.add_parser("fidelity", help="KL divergence, top-1 agreement and perplexity "
                                          "against a reference model (no judge)"))
    return parser


COMMANDS = {"run": cmd_run, "report": cmd_report, "models": cmd_models, "suites": cmd_suites, "gate": cmd_gate,
            "compare": cmd_compare, "pipeline": cmd_pipeline, "judge-exam": cmd_judge_exam, "schema": cmd_schema,
            "fidelity": cmd_fidelity, "cache": cmd_cache}


def load_dotenv_file() -> None:
    """Keys from a `.env` file in the working directory, as many tools read them; a variable already set wins.
    They stay in the environment: never in the store, a report or a log."""
    path = Path.cwd() / ".env"
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def main(argv: list[str] | None = None) -> int:
    load_dotenv_file()  # first: a .env file may set BENCH_STORE or BENCH_REPORTS_DIR, the flags' defaults
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
