"""What each `bench` command does, once harness.cli has parsed its arguments. Imports stay inside the
commands so `bench --help` is fast (no torch, no llama_cpp)."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError


def cmd_run(args) -> int:
    from .evaluate import run_suite
    from .gates.output import report_verdicts

    if args.json and not args.dry_run:
        raise ConfigError("--json goes with --dry-run", key="--json")
    if args.max_cost is not None and not 0 <= args.max_cost < float("inf"):
        raise ConfigError(f"expected an amount of USD, 0 or more, got {args.max_cost}", key="--max-cost")
    if args.dry_run:
        from .dry_run_output import dry_run_command

        return dry_run_command(args, _run_options(args))
    gates = None
    specs = [g for g in args.gate or [] if g]
    if specs:
        from .gates.spec import parse_gates

        gates = parse_gates(specs, "--gate")
    results, index = run_suite(args.suite, models_path=args.models_file, model_ids=args.models, judge=args.judge,
                               reports_dir=args.out, store_path=args.store, quiet=args.quiet, gates=gates,
                               options=_run_options(args), fidelity_reference=args.fidelity_reference)
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


def _run_options(args):
    from .run_options import RunOptions

    return RunOptions(tags=tuple(args.tags), case_ids=tuple(args.case_ids), limit=getattr(args, "limit", None),
                      case_seed=getattr(args, "case_seed", None), temperature=getattr(args, "temperature", None),
                      max_tokens=getattr(args, "max_tokens", None), seed=getattr(args, "seed", None),
                      no_cache=getattr(args, "no_cache", False), repeat=getattr(args, "repeat", None),
                      max_cost=getattr(args, "max_cost", None))


def _print_summary(results) -> None:
    from rich.console import Console
    from rich.table import Table

    from .progress import plain
    from .report import formatting as fmt

    table = Table(title=plain(f"{results.suite.name} - run {results.run_id}"))
    for col in ("model", "n", "err", "score [95% CI]", "win rate [95% CI]", "TTFT p50", "tok/s"):
        table.add_column(plain(col))
    for m in sorted(results.models, key=lambda m: -(m.score or 0)):
        table.add_row(*map(plain, (m.id, m.n, m.errors, fmt.with_interval(m.score, m.score_ci),
                                   fmt.with_interval(m.win_rate, m.win_rate_ci, fmt.pct),
                                   fmt.seconds(m.latency.ttft_p50_s), fmt.rate(m.latency.tokens_per_s))))
    console = Console()
    console.print(table)
    gen, judge = results.generation, results.judge
    for model_id, acc in (results.ifeval or {}).items():
        console.print(f"IFEval {model_id}: prompt-level strict {fmt.pct(acc.prompt_strict.accuracy)}, loose "
                      f"{fmt.pct(acc.prompt_loose.accuracy)}; instruction-level strict "
                      f"{fmt.pct(acc.instruction_strict.accuracy)}, loose {fmt.pct(acc.instruction_loose.accuracy)}",
                      markup=False)
    console.print(f"model calls: {gen.calls} new, {gen.cached} cached, {gen.failed} failed; "
                  f"wall time {fmt.duration(results.wall_time_s)}", markup=False, highlight=False)
    if results.cost is not None and results.cost.total_usd is not None:
        console.print(f"cost: {fmt.usd(results.cost.spent_usd)} spent by this run, {fmt.usd(results.cost.total_usd)} "
                      f"for every call (cached ones at their cost)", markup=False, highlight=False)
    if judge.id:
        audit = judge.audit
        trust = "" if audit is None or audit.trusted is None else (
            " - trusted" if audit.trusted else " - UNTRUSTED: " + "; ".join(audit.reasons))
        console.print(f"judge {judge.id}: position consistency {fmt.pct(judge.position_consistency)}, "
                      f"{judge.errors or 0} unparsed verdicts{trust}", markup=False, highlight=False)


def cmd_report(args) -> int:
    from .lookup import find_run
    from .report import write_report, write_runs_index

    results, out_dir = find_run(args.run, reports_dir=args.out, store_path=args.store)
    index = write_report(results, out_dir, training_manifests=args.training_manifest)
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
    if args.baseline_run is not None:
        return _gate_against_baseline(args, results)
    if args.baseline_models or args.baseline_axis != "score" or args.baseline_margin is not None:
        raise ConfigError("--model, --axis and --margin go with --baseline-run")
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


def _gate_against_baseline(args, results) -> int:
    from .compare import baseline_gate, compare_runs
    from .gates.evaluate import exit_code
    from .gates.output import report_verdicts
    from .lookup import read_results_file, resolve_results_path

    if args.gate_specs:
        raise ConfigError("give either --gate or --baseline-run, not both")
    if args.baseline_margin is not None and not 0 <= args.baseline_margin <= 1:
        raise ConfigError(f"--margin {args.baseline_margin} is not between 0 and 1")
    baseline = read_results_file(resolve_results_path(args.baseline_run, args.reports_dir))
    comparison = compare_runs(baseline, results)
    models = args.baseline_models or comparison.shared_models
    if not models:
        raise ConfigError(f"run {results.run_id} and the baseline run {baseline.run_id} share no model")
    verdicts = [baseline_gate(results, baseline, model, axis=args.baseline_axis, margin=args.baseline_margin,
                              comparison=comparison) for model in models]
    report_verdicts(verdicts, suite_name=results.suite.name, run_id=results.run_id, junit=args.junit,
                    summary=args.summary, title=f"Gates against run {baseline.run_id}")
    return exit_code(verdicts)


def cmd_compare(args) -> int:
    from .compare import compare_runs
    from .lookup import read_results_file, resolve_results_path
    from .report.comparison import render_comparison_markdown, write_comparison

    old = read_results_file(resolve_results_path(args.old, args.reports_dir))
    new = read_results_file(resolve_results_path(args.new, args.reports_dir))
    comparison = compare_runs(old, new)
    out = args.out or args.reports_dir / "compare" / f"{old.run_id}__{new.run_id}"
    written = write_comparison(comparison, out)
    print(render_comparison_markdown(comparison))
    print(f"comparison: {written['html']} (also {written['md'].name}, {written['json'].name})")
    return 0


def cmd_models(args) -> int:
    from .model_list import listed_models, print_models

    rows = listed_models(args.models_file, resolve=args.resolve, suite=args.suite)
    return print_models(rows, str(args.models_file), check=args.check)


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

    exams = judge_exam(args.suite, models_path=args.models_file, judge=args.judge, store_path=args.store,
                       pairs=args.pairs, quiet=args.quiet, options=_run_options(args))
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


def cmd_schema(args) -> int:
    from .schemas import render, write_all

    if args.write:
        for path in write_all(args.write):
            print(f"wrote {path}")
        return 0
    if not args.name:
        raise ConfigError("name a schema (models, suite or rubric) or give --write DIR", key="schema")
    print(render(args.name), end="")
    return 0


def cmd_cache(args) -> int:
    import sys

    from .cache import cache_groups, compact, older_than, parse_age, print_info, remove_cached, removed_lines
    from .store import Store

    if args.action != "prune" and args.older_than is not None:
        raise ConfigError("--older-than goes with prune", key="--older-than")
    if args.action == "prune" and args.older_than is None:
        raise ConfigError("prune needs --older-than AGE (such as 30d or 12h)", key="--older-than")
    if args.action == "info" and (args.model or args.stage):
        raise ConfigError("--model and --stage go with clear or prune")
    if not Path(args.store).is_file():
        print(f"no store at {args.store}: nothing cached")
        return 0
    store = Store(Path(args.store))
    try:
        if args.action == "info":
            print_info(store)
            return 0
        chosen = {"model": args.model, "stage": args.stage,
                  "before": older_than(parse_age(args.older_than)) if args.action == "prune" else None}
        matching = cache_groups(store, **chosen)
        if not matching:
            print("no cached calls match")
            return 0
        if not args.yes:
            if not sys.stdin.isatty():
                raise ConfigError(f"this removes {sum(g.calls for g in matching)} cached calls: add --yes to confirm")
            answer = input(f"remove {sum(g.calls for g in matching)} cached calls from {args.store}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing removed")
                return 0
        print("\n".join(removed_lines(remove_cached(store, **chosen))))
        problem = compact(store)
        if problem:
            print(f"the file was not compacted ({problem}); later calls reuse the freed space")
        return 0
    finally:
        store.close()


def cmd_pipeline(args) -> int:
    from training.pipeline import pipeline_command

    return pipeline_command(args)


def cmd_fidelity(args) -> int:
    from .fidelity.command import fidelity_command

    return fidelity_command(args)
