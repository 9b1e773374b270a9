"""Time the statistics of a run at scale, against the targets of the scale work.

    cd <repo> && PYTHONPATH=$PWD python benchmarks/stats_bench.py --repeat 3
    PYTHONPATH=$PWD python benchmarks/stats_bench.py --sizes 8x2000 --dump /tmp/new.json --compare /tmp/old.json

Builds synthetic but realistic frames with a fixed seed (rubric case scores with axes and themes,
latencies, answer lengths and markdown density, rank-mode judgments in two orders with a position
bias and a taste for length, about 1% failed answers and 2% failed judgments), then calls the
statistics the way `harness/results/build.py` does (`_figures`, `judging.judge_fields`, `_verdict_fields`:
n_boot 2000, and 2000 // 4 for the ratings) and prints the wall and CPU time of each call.
Scenarios: 8 models x 2,000 cases (target: under 1.5 s), 4 x 1,000 (well under 2 s), and 4 x 1,000
judged by the mock adapter's "longest" policy, the issue's warm re-run, where length decides every
comparison and the length-controlled fits have no finite maximum.

On a shared machine wall time includes waiting for a CPU; the load average is printed with the
table, and `--repeat N` keeps each call's fastest of N runs. `--dump` writes every figure the calls
return at full precision, and `--compare` prints how far each moved from another version's dump
(run this script with another checkout first on PYTHONPATH to get one). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import pandas as pd

N_BOOT = 2000  # harness/results/build.py
SEED = 20261123  # harness/results/build.py
DATA_SEED = 14
AXES = ["accuracy", "completeness", "communication_quality", "context_awareness", "instruction_following"]
THEMES = ["theme:emergency_referrals", "theme:context_seeking", "theme:global_health", "theme:hedging",
          "theme:communication", "theme:complex_responses", "theme:health_data_tasks"]
TARGETS = {(8, 2000): 1.5, (4, 1000): 2.0}
JUDGE = "judge-model"


def synthetic_frames(n_models: int, n_cases: int, judge: str = "noisy",
                     seed: int = DATA_SEED) -> dict[str, pd.DataFrame]:
    """The frames of `harness.results.frames` for one rank-mode run with a single judge.

    judge "noisy": a judge that mostly follows quality, somewhat likes length and the first position,
    with about 1% failed answers and 2% failed judgments. judge "longest": the mock adapter's default
    judge policy, which ranks answers by length alone and never fails (the issue's warm re-run), so
    that length separates every outcome and the length-controlled fits have no finite maximum.
    """
    rng = np.random.default_rng(seed)
    longest = judge == "longest"
    models = [f"model-{k}" for k in range(n_models)]
    quality = np.linspace(-0.8, 0.8, n_models) + rng.normal(0, 0.15, n_models)
    verbosity = rng.normal(0, 0.35, n_models)
    case_ids = np.array([f"case-{i:05d}" for i in range(n_cases)])
    difficulty = rng.normal(0, 1, n_cases)
    ok = rng.random((n_cases, n_models)) > (0.0 if longest else 0.01)  # failed answers: no score, no length

    # rubric: 4 to 12 criteria per case, each on one axis; about a fifth carry negative points
    n_criteria = rng.integers(4, 13, n_cases)
    criterion_case = np.repeat(np.arange(n_cases), n_criteria)
    criterion_axis = rng.integers(0, len(AXES), criterion_case.size)
    negative = rng.random(criterion_case.size) < 0.2
    points = np.where(negative, -rng.integers(1, 9, criterion_case.size), rng.integers(1, 11, criterion_case.size))
    logit = quality[None, :] - difficulty[criterion_case][:, None] + rng.normal(0, 1, (criterion_case.size, n_models))
    met = rng.random(logit.shape) < 1 / (1 + np.exp(np.where(negative[:, None], logit + 1.0, -logit)))

    lengths_rows, score_rows, group_rows, theme_rows, latency_rows = [], [], [], [], []
    n_chars = np.exp(rng.normal(6.3 + verbosity[None, :], 0.5, (n_cases, n_models))).astype(int) + 1
    density = rng.gamma(2.0, 0.6, (n_cases, n_models))
    theme_of_case = rng.integers(0, len(THEMES), n_cases)
    positive = np.where(points > 0, points, 0)
    possible = np.bincount(criterion_case, weights=positive, minlength=n_cases)
    axis_key = criterion_case * len(AXES) + criterion_axis
    axis_possible = np.bincount(axis_key, weights=positive, minlength=n_cases * len(AXES)).reshape(n_cases, -1)
    for m, model in enumerate(models):
        achieved = np.bincount(criterion_case, weights=points * met[:, m], minlength=n_cases)
        axis_achieved = np.bincount(axis_key, weights=points * met[:, m],
                                    minlength=n_cases * len(AXES)).reshape(n_cases, -1)
        latency = rng.gamma(4.0, 0.5 + 0.1 * m, n_cases)
        tokens = (n_chars[:, m] / 4).astype(int)
        for c in range(n_cases):
            answered = bool(ok[c, m])
            latency_rows.append((model, case_ids[c], latency[c] * 0.1, latency[c], tokens[c] / latency[c],
                                 int(tokens[c]), None if answered else "timeout after 60 s", None))
            if not answered:
                continue
            lengths_rows.append((case_ids[c], model, int(n_chars[c, m]), float(density[c, m])))
            if possible[c] > 0:  # no positive points: the case has no score (grading.case_score)
                score = achieved[c] / possible[c]
                score_rows.append((model, case_ids[c], score))
                theme_rows.append((model, case_ids[c], THEMES[theme_of_case[c]], score))
            for a, axis in enumerate(AXES):
                if axis_possible[c, a] > 0:
                    group_rows.append((model, case_ids[c], axis, axis_achieved[c, a] / axis_possible[c, a]))

    # rank mode, two orders per case (the second the reverse of the first); the judge prefers
    # better and longer answers and, a little, the answer it is shown first
    rank_rows, judgment_rows = [], []
    case_score = np.full((n_cases, n_models), np.nan)
    scores = pd.DataFrame(score_rows, columns=["model", "case_id", "score"])
    index = {model: k for k, model in enumerate(models)}
    case_score[np.searchsorted(case_ids, scores["case_id"]), scores["model"].map(index)] = scores["score"]
    length_z = (np.log(n_chars) - np.log(n_chars).mean()) / np.log(n_chars).std()
    for c in range(n_cases):
        shown = [m for m in range(n_models) if ok[c, m]]
        first_order = list(rng.permutation(shown))
        for rep, order in enumerate([first_order, first_order[::-1]]):
            rep_id = f"{JUDGE}|{rep}"
            order_names = [models[m] for m in order]
            if (not longest and rng.random() < 0.02) or len(order) < 2:
                judgment_rows.append((case_ids[c], rep_id, order_names, None, "no JSON in the reply", JUDGE,
                                      case_ids[c]))
                continue
            if longest:
                ranking = sorted(order, key=lambda m: n_chars[c, m], reverse=True)
            else:
                utility = {m: 2.0 * np.nan_to_num(case_score[c, m]) + 0.3 * length_z[c, m] + rng.gumbel()
                           + (0.25 if position == 0 else 0.0) for position, m in enumerate(order)}
                ranking = sorted(order, key=utility.get, reverse=True)
            judgment_rows.append((case_ids[c], rep_id, order_names, [models[m] for m in ranking], None, JUDGE,
                                  case_ids[c]))
            for rank, m in enumerate(ranking, start=1):
                rank_rows.append((case_ids[c], rep_id, models[m], rank))

    return {
        "models": models,
        "case_scores": scores,
        "group_scores": pd.DataFrame(group_rows, columns=["model", "case_id", "group", "score"]),
        "theme_scores": pd.DataFrame(theme_rows, columns=["model", "case_id", "group", "score"]),
        "latencies": pd.DataFrame(latency_rows, columns=["model", "case_id", "ttft_s", "latency_s", "tokens_per_s",
                                                         "output_tokens", "error", "cost_usd"]),
        "lengths": pd.DataFrame(lengths_rows, columns=["case_id", "model", "n_chars", "markdown_density"]),
        "rankings": pd.DataFrame(rank_rows, columns=["case_id", "rep", "model", "rank"]),
        "judgments": pd.DataFrame(judgment_rows, columns=["case_id", "rep", "order", "ranking", "error", "judge",
                                                          "unit"]),
    }


def run_statistics(f: dict) -> tuple[list[tuple[str, float]], dict]:
    """Each statistics call of a results build, timed; and every figure they returned."""
    from harness import stats
    from harness.stats import design

    timings: list[tuple[str, float]] = []
    figures: dict = {}

    def timed(name, call):
        start, start_cpu = time.perf_counter(), time.process_time()
        value = call()
        timings.append((name, time.perf_counter() - start, time.process_time() - start_cpu))
        figures[name] = value
        return value

    models = f["models"]
    timed("model_scores", lambda: stats.model_scores(f["case_scores"], n_boot=N_BOOT, seed=SEED))
    timed("grouped_scores (axes)", lambda: stats.grouped_scores(f["group_scores"], n_boot=N_BOOT, seed=SEED))
    timed("latency_summary", lambda: stats.latency_summary(f["latencies"]))
    outcomes = timed("pairwise_outcomes", lambda: stats.pairwise_outcomes(f["rankings"]))
    timed("overall_win_rates", lambda: stats.overall_win_rates(outcomes, n_boot=N_BOOT, seed=SEED))
    timed("mean_ranks", lambda: stats.mean_ranks(f["rankings"]))

    def pairwise():
        table = stats.pairwise_table(outcomes, n_boot=N_BOOT, seed=SEED)
        table = table[table["a"] < table["b"]]
        p_values = [stats.sign_test(int(r.wins), int(r.losses)) for r in table.itertuples()]
        return table.assign(p_value=p_values, p_adjusted=stats.holm(p_values))
    timed("pairwise_table + sign_test + holm", pairwise)
    def judge_checks():
        from harness.stats import judge_checks as jc

        rows = f["judgments"][f["judgments"]["judge"] == JUDGE]
        done = jc.successful(rows)
        return [jc.position_check(done, JUDGE), jc.flip_check(done, JUDGE), jc.longer_answer_rate(done, f["lengths"]),
                jc.length_check(done, f["lengths"], f["case_scores"], JUDGE),
                *jc.self_preference_checks(done, f["case_scores"], {models[0]: "family"}, "family", JUDGE)]
    timed("judge checks", judge_checks)
    timed("grouped_scores (themes)", lambda: stats.grouped_scores(f["theme_scores"], n_boot=N_BOOT, seed=SEED))
    case_scores = f["case_scores"]
    timed("bootstrap_se (per model)", lambda: [
        stats.bootstrap_se(case_scores.loc[case_scores["model"] == m, "score"].to_numpy(),
                           n_boot=N_BOOT, seed=SEED, clip=(0, 1)) for m in models])
    timed("pairwise_significance", lambda: stats.pairwise_significance(
        case_scores, f["group_scores"], outcomes, n_boot=N_BOOT, seed=SEED))
    timed("power_summary", lambda: stats.power_summary(case_scores, outcomes))
    timed("design_power", lambda: design.design_power(case_scores, f["group_scores"]))
    timed("bradley_terry", lambda: stats.bradley_terry(outcomes, n_boot=N_BOOT // 4, seed=SEED))
    timed("style_controlled_bt", lambda: stats.style_controlled_bt(
        outcomes, f["lengths"], n_boot=N_BOOT // 4, seed=SEED))
    timed("length_controlled_win_rate", lambda: stats.length_controlled_win_rate(
        outcomes, f["lengths"], models[0], n_boot=N_BOOT // 4, seed=SEED))
    return timings, figures


def _forget_draws() -> None:
    """Forget the bootstrap draws kept from the previous run, where this version keeps any."""
    from harness.stats import _resample

    forget = getattr(_resample, "forget_draws", None)
    if forget is not None:
        forget()


def plain(value):
    """Figures as JSON: DataFrames as lists of rows, NaN as None, floats at full precision."""
    if isinstance(value, pd.DataFrame):
        return [plain(row) for row in value.to_dict("records")]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="8x2000,4x1000,4x1000:longest",
                        help="models x cases[:judge], comma-separated; judge is noisy (default) or longest")
    parser.add_argument("--dump", help="write every figure to this JSON file")
    parser.add_argument("--compare", help="a --dump of another version: print how far each figure moved")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each scenario this many times and keep each call's fastest time "
                             "(a shared machine's load comes and goes)")
    args = parser.parse_args(argv)
    sizes = []
    for size in args.sizes.split(","):
        shape, _, judge = size.partition(":")
        n_models, n_cases = (int(n) for n in shape.split("x"))
        sizes.append((n_models, n_cases, judge or "noisy"))

    from scipy.optimize import linprog  # noqa: F401
    from scipy.sparse.csgraph import connected_components  # noqa: F401
    from scipy.stats import binomtest, norm  # noqa: F401

    import harness.stats  # noqa: F401  (imports and scipy's first use are not statistics time)

    columns, dumps = {}, {}
    for n_models, n_cases, judge in sizes:
        start = time.perf_counter()
        f = synthetic_frames(n_models, n_cases, judge)
        print(f"{n_models} models x {n_cases} cases, {judge} judge: frames built in "
              f"{time.perf_counter() - start:.1f} s "
              f"({len(f['case_scores'])} case scores, {len(f['group_scores'])} axis scores, "
              f"{len(f['rankings'])} ranks)", file=sys.stderr)
        runs = []
        for _ in range(max(args.repeat, 1)):
            _forget_draws()  # every run starts as a fresh `bench run` would
            runs.append(run_statistics(f))
        figures = runs[0][1]
        timings = [(name, min(run[0][k][1] for run in runs), min(run[0][k][2] for run in runs))
                   for k, (name, _wall, _cpu) in enumerate(runs[0][0])]
        columns[(n_models, n_cases, judge)] = timings
        dumps[f"{n_models}x{n_cases}:{judge}"] = plain(figures)

    names = [name for name, _, _ in next(iter(columns.values()))]
    headers = [f"{m} x {n}" + ("" if judge == "noisy" else f" {judge}") + " wall / cpu (s)" for m, n, judge in columns]
    width = max(len(h) for h in headers)
    print(f"| {'statistic':<36} | " + " | ".join(f"{h:>{width}}" for h in headers) + " |")
    print(f"|{'-' * 38}|" + "|".join("-" * (width + 1) + ":" for _ in headers) + "|")
    for k, name in enumerate(names):
        print(f"| {name:<36} | " + " | ".join(f"{f'{t[k][1]:.3f} / {t[k][2]:.3f}':>{width}}" for t in columns.values())
              + " |")
    totals = [(sum(row[1] for row in t), sum(row[2] for row in t)) for t in columns.values()]
    print(f"| {'total':<36} | " + " | ".join(f"{f'{wall:.3f} / {cpu:.3f}':>{width}}" for wall, cpu in totals) + " |")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs "
          "(wall time counts waiting for a CPU; cpu time counts every thread)")
    verdicts = []
    for (n_models, n_cases, judge), (total, _cpu) in zip(columns, totals):
        target = TARGETS.get((n_models, n_cases))
        if target is not None:
            verdicts.append(f"{n_models} x {n_cases}, {judge} judge: {total:.2f} s against a target under "
                            f"{target:g} s ({'met' if total < target else 'missed'})")
    print("\n".join(verdicts))
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as handle:
            json.dump(dumps, handle, indent=1, sort_keys=True)
    if args.compare:
        with open(args.compare, encoding="utf-8") as handle:
            print_moves(json.load(handle), json.loads(json.dumps(dumps)))
    return 0


def print_moves(before: dict, after: dict) -> None:
    """Per scenario and statistic: the largest change of any figure, and how many changed at all.

    Ratings are printed to 1 decimal, everything else to 3; "visible" counts figures whose printed
    value differs. A figure that became (or stopped being) None counts as visible.
    """
    print("\n| scenario | statistic | figures | changed | largest change | visible at printed precision |")
    print("|---|---|---:|---:|---:|---:|")
    for scenario in after:
        for name in after[scenario]:
            old, new = _leaves(before.get(scenario, {}).get(name)), _leaves(after[scenario][name])
            changed, visible, largest = 0, 0, 0.0
            for key in sorted(set(old) | set(new)):
                a, b = old.get(key), new.get(key)
                if a == b:
                    continue
                changed += 1
                if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                    largest = max(largest, abs(a - b))
                    rating = name in ("bradley_terry", "style_controlled_bt") and ("rating" in key or "ci_" in key)
                    decimals = 1 if rating else 3
                    visible += f"{a:.{decimals}f}" != f"{b:.{decimals}f}"
                else:
                    visible += 1
            print(f"| {scenario} | {name} | {len(new)} | {changed} | {largest:.3g} | {visible} |")


def _leaves(value, prefix: str = "") -> dict:
    """Flatten nested lists and dicts to {path: leaf}."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _leaves(item, f"{prefix}/{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, f"{prefix}/{i}").items()}
    return {prefix: value}


if __name__ == "__main__":
    sys.exit(main())
