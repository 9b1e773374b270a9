"""`bench run SUITE --judge none` on a suite graded by checks alone gives the full statistics: scores with intervals,
paired tests over the shared cases, power, and gates; a `beats` gate is then measured by the paired score
difference (there is no win rate without a judge)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.gates.evaluate import evaluate_gates
from harness.gates.spec import parse_gates
from harness.results.model import as_results
from harness.stats import paired_bootstrap

# Case i is answered well by "good" when i is not a multiple of 4, and by "bad" when i is a multiple of 5.
N = 20


def project(root: Path, gates: str) -> Path:
    (root / "suites").mkdir(parents=True, exist_ok=True)
    good_rules = "\n".join(f'      - {{contains: "case {i:02d}.", response: "no answer"}}' for i in range(0, N, 4))
    bad_rules = "\n".join(f'      - {{contains: "case {i:02d}.", response: "yes it is"}}' for i in range(0, N, 5))
    (root / "models.yaml").write_text(f"""\
version: 1
models:
  good:
    kind: mock
    responses: ["yes it is"]
    rules:
{good_rules}
  bad:
    kind: mock
    responses: ["no answer"]
    rules:
{bad_rules}
""")
    rows = [{"id": f"c{i:02d}", "messages": [{"role": "user", "content": f"Is this case {i:02d}.?"}],
             "criteria": [{"id": "yes", "text": "says yes", "points": 1, "axis": "answer",
                           "check": {"type": "contains", "phrases": ["yes"]}}]} for i in range(N)]
    (root / "suites" / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = root / "suites" / "c.yaml"
    suite.write_text(textwrap.dedent("""\
        name: c
        version: 1
        cases: c.jsonl
        models: [good, bad]
        """) + gates)
    return suite


GATES = """\
gates:
  - {type: beats, candidate: good, baseline: bad}
  - {type: beats, candidate: good, baseline: bad, test: p}
  - {type: beats, candidate: bad, baseline: good}
  - {type: not_worse, axis: answer, candidate: good, baseline: bad, margin: 0.1}
"""


def read_results(root: Path):
    (path,) = (root / "reports" / "c").glob("*/results.json")
    return json.loads(path.read_text())


def test_check_only_suite_without_a_judge_has_scores_tests_power_and_gates(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    suite = project(tmp_path, GATES)
    assert main(["run", str(suite), "--judge", "none", "--gate", "--quiet"]) == 1  # bad does not beat good
    results = read_results(tmp_path)
    good, bad = results["models"]
    # good: 15 of 20 (all but 0, 4, 8, 12, 16); bad: 4 of 20 (0, 5, 10, 15).
    assert (good["score"], bad["score"]) == (pytest.approx(15 / 20), pytest.approx(4 / 20))
    assert good["score_ci"][0] < 0.75 < good["score_ci"][1] and good["win_rate"] is None
    differences = [(1.0 if i % 4 else 0.0) - (1.0 if i % 5 == 0 else 0.0) for i in range(N)]
    score_row = next(r for r in results["significance"] if r["metric"] == "score")
    assert (score_row["a"], score_row["b"], score_row["n"]) == ("good", "bad", 20)
    assert score_row["diff"] == pytest.approx(sum(differences) / N)
    # the check-only figures repeat them: every criterion here is decided by code
    assert {r["metric"] for r in results["significance"]} == {"score", "axis:answer", "checks:score", "checks:axis:answer"}
    power = next(r for r in results["power"]["pairs"] if r["metric"] == "score")
    assert power["n"] == 20 and power["sd"] == pytest.approx(float(np.std(differences, ddof=1)))
    assert results["power"]["min_detectable_score_diff"] is not None
    assert results["judge"]["id"] is None and results["pairwise"] == []
    verdicts = {(g["name"], i): g for i, g in enumerate(results["gates"])}
    beats, beats_p, reverse, not_worse = (verdicts[k] for k in sorted(verdicts, key=lambda k: k[1]))
    assert beats["verdict"] == "pass" and beats["figure"] == pytest.approx(score_row["ci"][0]) and beats["op"] == ">"
    assert beats["reason"].startswith("paired score difference 0.55, interval")
    assert beats_p["verdict"] == "pass" and beats_p["figure"] == pytest.approx(score_row["p_adjusted"])
    assert reverse["verdict"] == "fail" and "does not clear 0" in reverse["reason"]
    assert not_worse["verdict"] == "pass"
    capsys.readouterr()


def test_a_win_rate_gate_without_a_judge_is_an_error_not_a_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = project(tmp_path, "gates:\n  - {type: beats, candidate: good, baseline: bad, metric: win_rate}\n")
    assert main(["run", str(suite), "--judge", "none", "--gate", "--quiet"]) == 1
    (verdict,) = read_results(tmp_path)["gates"]
    assert verdict["verdict"] == "error" and "no pairwise row" in verdict["reason"]


def test_beats_on_score_matches_the_paired_bootstrap(tmp_path, monkeypatch):
    """The gate reads the significance row; the row is the paired bootstrap of the per-case differences."""
    monkeypatch.chdir(tmp_path)
    suite = project(tmp_path, "")
    assert main(["run", str(suite), "--judge", "none", "--quiet"]) == 0
    results = as_results(read_results(tmp_path))
    (verdict,) = evaluate_gates(results, parse_gates(["beats:good:bad"], "test"))
    row = next(r for r in results.significance if r.metric == "score")
    assert verdict.verdict == "pass" and verdict.figure == row.ci[0]
    a = [1.0 if i % 4 else 0.0 for i in range(N)]
    b = [1.0 if i % 5 == 0 else 0.0 for i in range(N)]
    assert paired_bootstrap(a, b, n_boot=10)[0] == pytest.approx(row.diff)
    # A judged run keeps measuring beats by the win rate unless the gate asks for the score.
    judged = results.model_copy(update={"judge": results.judge.model_copy(update={"id": "j"})})
    (by_default,) = evaluate_gates(judged, parse_gates(["beats:good:bad"], "test"))
    assert by_default.verdict == "error" and "no pairwise row" in by_default.reason
    (by_score,) = evaluate_gates(judged, parse_gates([{"type": "beats", "candidate": "good", "baseline": "bad",
                                                       "metric": "score"}], "test"))
    assert by_score.verdict == "pass"
