"""`kind: answers`: a model that answers from a file. Its fingerprint is the file's hash; a case the file has no
answer for is a failed answer (counted as missing), answers for unknown cases are reported, a malformed or
duplicate row stops the run (exit 2, file, row and key), its timings are the file's ("not measured by bench"), it
answers multi-turn cases by (case id, turn), and it can be a contestant or a baseline but never a judge."""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest

from harness.adapters import mock
from harness.cli import main
from harness.config import ModelEntry
from harness.errors import ConfigError
from harness.evaluate import load_plan
from harness.gates.evaluate import evaluate_gates
from harness.gates.spec import parse_gates
from harness.registry import adapter_class, create_adapter
from harness.results.model import as_results
from tests.helpers.runs import run_suite

REPO = Path(__file__).resolve().parents[1]
CASES = [{"id": f"c{i}", "messages": [{"role": "user", "content": f"Question {i}?"}],
          "criteria": [{"id": "says-yes", "text": "says yes", "points": 1, "axis": "a",
                        "check": {"type": "contains", "phrases": ["yes"]}}]} for i in range(1, 4)]


def write_rows(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def project(root: Path, answers: list, *, models: str = "[filed, live]", judge: str = "", extra_models: str = "",
            cases: list | None = None) -> Path:
    (root / "suites").mkdir(parents=True, exist_ok=True)
    write_rows(root / "answers.jsonl", answers)
    write_rows(root / "suites" / "s.jsonl", CASES if cases is None else cases)
    (root / "models.yaml").write_text(textwrap.dedent("""\
        version: 1
        models:
          filed:
            kind: answers
            path: answers.jsonl
          live:
            kind: mock
            responses: ["no"]
        """) + extra_models)
    suite = root / "suites" / "s.yaml"
    suite.write_text(textwrap.dedent(f"""\
        name: s
        version: 1
        cases: s.jsonl
        models: {models}
        """) + judge)
    return suite


def run(suite: Path, **kw):
    return run_suite(suite, models_path=suite.parent.parent / "models.yaml", quiet=True, **kw)


GOOD = [{"case_id": "c1", "text": "yes", "ttft_s": 0.25, "latency_s": 1.25, "output_tokens": 11, "input_tokens": 7},
        {"case_id": "c2", "text": "yes indeed", "ttft_s": 0.5, "latency_s": 2.5, "output_tokens": 21},
        {"case_id": "c3", "text": "no"}]


def test_answers_come_from_the_file_with_its_timings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results, index = run(project(tmp_path, GOOD))
    assert index.read_text().count('<span class="badge plain">not measured by bench</span>') == 1  # one model
    filed = next(m for m in results["models"] if m["id"] == "filed")
    assert filed["kind"] == "answers"
    assert filed["fingerprint"] == "answers:" + hashlib.sha256((tmp_path / "answers.jsonl").read_bytes()).hexdigest()
    assert (filed["cases"], filed["answered"], filed["errors"], filed["unknown_answers"]) == (3, 3, 0, 0)
    assert filed["score"] == pytest.approx(2 / 3)
    latency = filed["latency"]
    assert latency["measured"] is False and latency["calls"] == 3
    # The file's figures: c3 gives none, so the medians are over c1 and c2 (numpy's linear interpolation).
    assert latency["ttft_p50_s"] == pytest.approx(0.375) and latency["latency_p50_s"] == pytest.approx(1.875)
    # Decode rates from the file's own figures: (11 - 1) / (1.25 - 0.25) = 10 and (21 - 1) / 2 = 10.
    assert latency["tokens_per_s"] == pytest.approx(10.0) and latency["output_tokens_mean"] == pytest.approx(16.0)
    answer = results["cases"][0]["answers"]["filed"]
    assert (answer["text"], answer["ttft_s"], answer["output_tokens"], answer["finish_reason"]) == ("yes", 0.25, 11,
                                                                                                     None)
    assert results["cases"][2]["answers"]["filed"]["latency_s"] is None  # not given, not invented
    live = next(m for m in results["models"] if m["id"] == "live")
    assert live["latency"]["measured"] is True and live["unknown_answers"] is None
    # A latency budget cannot rest on figures bench did not measure.
    (verdict,) = evaluate_gates(as_results(results), parse_gates(["budget:ttft_p50_s:filed:5"], "test"))
    assert verdict.verdict == "error" and verdict.reason == ("ttft_p50_s of 'filed' was not measured by bench "
                                                             "(answers read from a file)")


def test_a_case_without_an_answer_is_a_failed_answer_counted_as_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results, _ = run(project(tmp_path, GOOD[:2]))
    filed = next(m for m in results["models"] if m["id"] == "filed")
    assert (filed["cases"], filed["answered"], filed["errors"]) == (3, 2, 1)
    assert filed["n"] == 3 and filed["score"] == pytest.approx(2 / 3)  # scoring.missing: zero
    error = results["cases"][2]["answers"]["filed"]["error"]
    assert error == "no answer in answers.jsonl for case c3 turn 1"
    assert results["comparison"]["shared_cases"] == 2  # comparisons use the cases both answered
    assert filed["latency"]["failed"] == 1 and filed["latency"]["calls"] == 3
    # The missing answer took no time: the file's TTFT figures are not lower bounds because of it.
    assert filed["latency"]["ttft_lower_bound"] is False and filed["latency"]["ttft_p50_s"] == pytest.approx(0.375)


def test_answers_for_unknown_cases_are_reported(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rows = GOOD + [{"case_id": "c9", "text": "yes"}, {"case_id": "c1", "turn": 2, "text": "yes"}]
    suite = project(tmp_path, rows)
    assert main(["run", str(suite), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert ("bench: warning: filed: 2 answer(s) in answers.jsonl for cases or turns this suite does not have "
            "(e.g. c9 turn 1, c1 turn 2)") in err
    (results_path,) = (tmp_path / "reports" / "s").glob("*/results.json")
    filed = next(m for m in json.loads(results_path.read_text())["models"] if m["id"] == "filed")
    assert filed["unknown_answers"] == 2 and filed["errors"] == 0


@pytest.mark.parametrize("rows, message", [
    (GOOD[:1] + ['{"case_id": "c2", "text": '], "answers.jsonl:2: invalid JSON: Expecting value (column 27)"),
    (GOOD[:1] + [{"case_id": "c2", "txt": "yes"}, {"case_id": "c3"}],
     "answers.jsonl:2: text: missing required field (and 1 more problem(s) in the file)"),
    (GOOD[:1] + [{"case_id": "c2", "text": "yes", "latency_s": -1}],
     "answers.jsonl:2: latency_s: Input should be greater than or equal to 0"),
    (GOOD + [{"case_id": "c1", "text": "again"}],
     "answers.jsonl:4: a second answer for case c1 turn 1 (first on line 1)"),
    (GOOD[:1] + [{"case_id": "c2", "text": "x", "model": "a"}, {"case_id": "c3", "text": "x", "model": "b"}],
     "answers.jsonl: answers of 2 models in one file: a, b: pick one with 'model'"),
])
def test_a_malformed_or_duplicate_row_stops_the_run(tmp_path, monkeypatch, capsys, rows, message):
    monkeypatch.chdir(tmp_path)
    suite = project(tmp_path, rows)
    mock.CALLS.clear()
    assert main(["run", str(suite), "--quiet"]) == 2
    assert capsys.readouterr().err == f"bench: error: {message}\n"
    assert mock.CALLS["live"] == 0  # nothing is asked before the file is checked


def test_model_picks_one_model_from_a_file_of_several(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = [{**row, "model": "a"} for row in GOOD] + [{"case_id": row["case_id"], "text": "no", "model": "b"}
                                                       for row in GOOD]
    suite = project(tmp_path, rows, extra_models="  filed-b:\n    kind: answers\n    path: answers.jsonl\n"
                                                 "    model: b\n", models="[filed-b, live]")
    results, _ = run(suite)
    b = results["models"][0]
    assert b["id"] == "filed-b" and b["answered"] == 3 and b["score"] == 0.0
    assert b["fingerprint"].endswith(":b")
    entry = ModelEntry(id="x", kind="answers", options=adapter_class("answers").Options(path="answers.jsonl",
                                                                                         model="c"))
    with pytest.raises(ConfigError, match=r"answers\.jsonl: no answers of model 'c' in the file \(models named: "
                                          r"a, b\)"):
        create_adapter(entry)


def test_multi_turn_answers_are_looked_up_by_case_and_turn(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = [{"id": "m1", "messages": [{"role": "user", "content": "first?"}], "turns": ["second?"]},
             {"id": "m2", "messages": [{"role": "user", "content": "first?"}], "turns": ["second?"]}]
    rows = [{"case_id": "m1", "turn": 1, "text": "one"}, {"case_id": "m1", "turn": 2, "text": "two"},
            {"case_id": "m2", "turn": 1, "text": "uno"}]
    results, _ = run(project(tmp_path, rows, cases=cases, models="[filed]"))
    first, second = (results["cases"][i]["answers"]["filed"] for i in (0, 1))
    assert [t["text"] for t in first["turns"]] == ["one", "two"] and first["text"] == "two"
    assert second["error"] == "turn 2 of 2 failed: no answer in answers.jsonl for case m2 turn 2"
    assert [t["text"] for t in second["turns"]] == ["uno", ""]


def test_it_can_be_a_baseline_but_never_a_judge(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = project(tmp_path, GOOD, judge="judge: filed\njudging: {mode: pairwise, baseline: filed}\n")
    with pytest.raises(ConfigError) as info:
        load_plan(suite, models_path=tmp_path / "models.yaml")
    assert str(info.value) == (f"{suite}:5: judge: 'filed' answers from a file (kind: answers) and cannot judge: "
                               "name another judge, or none")
    suite = project(tmp_path, GOOD, judge="judging: {mode: pairwise, baseline: filed}\n")
    with pytest.raises(ConfigError, match=r"^--judge: 'filed' answers from a file \(kind: answers\) and cannot judge"):
        load_plan(suite, models_path=tmp_path / "models.yaml", judge="filed")
    extra = "  judge:\n    kind: mock\n    judge_policy: longest\n"
    suite = project(tmp_path, GOOD, extra_models=extra,
                    judge="judge: judge\njudging: {mode: pairwise, baseline: filed, adversarial: 0}\n")
    results, _ = run(suite)
    (pair,) = results["pairwise"]
    assert {pair["a"], pair["b"]} == {"filed", "live"} and pair["n"] == 3


def test_models_check_reads_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "300")
    project(tmp_path, GOOD)
    assert main(["models", "--check"]) == 0
    out = capsys.readouterr().out
    assert "ok: 3 answers (bench) in answers.jsonl" in out


def test_the_arena_hard_sample_runs_its_two_real_models_against_each_other(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # models.yaml names the answer files relative to the project
    results, _ = run_suite(REPO / "suites" / "arena-hard-sample.yaml", models_path=REPO / "models.yaml",
                           judge="none", quiet=True, store_path=tmp_path / "bench.sqlite", reports_dir=tmp_path)
    o3, gemini = results["models"]
    assert (o3["id"], gemini["id"]) == ("o3-mini-arena-hard", "gemini-2.0-flash-arena-hard")
    assert [(m["answered"], m["errors"], m["unknown_answers"]) for m in (o3, gemini)] == [(20, 0, 0), (20, 0, 0)]
    assert o3["latency"]["measured"] is False and o3["latency"]["latency_p50_s"] is None
    first = results["cases"][0]
    assert first["id"] == "caffbac7eed64aa9" and first["tags"] == ["hard_prompt", "coding"]
    assert first["answers"]["o3-mini-arena-hard"]["output_tokens"] == 687
    assert first["answers"]["gemini-2.0-flash-arena-hard"]["text"].startswith("```sql")


def test_mtbench_sample_answered_from_a_fastchat_file_turn_by_turn(tmp_path, monkeypatch):
    """The MT-bench reference file is itself a FastChat answer file: GPT-4's two turns for 9 of the 20 questions."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.yaml").write_text(textwrap.dedent(f"""\
        version: 1
        models:
          gpt-4-answers:
            kind: answers
            path: {REPO / "suites" / "mtbench-sample-reference-gpt-4.jsonl"}
          smollm2-135m: {{kind: mock}}  # the suite's own models and judge, not asked here
          gemma3-270m: {{kind: mock}}
        """))
    results, _ = run_suite(REPO / "suites" / "mtbench-sample.yaml", models_path=tmp_path / "models.yaml",
                           model_ids=["gpt-4-answers"], judge="none", quiet=True)
    (model,) = results["models"]
    assert (model["cases"], model["answered"], model["errors"], model["unknown_answers"]) == (20, 9, 11, 0)
    case = next(c for c in results["cases"] if c["id"] == "101")
    answer = case["answers"]["gpt-4-answers"]
    assert [t["text"][:40] for t in answer["turns"]] == ["If you have just overtaken the second pe",
                                                          "If you have just overtaken the last pers"]
    assert answer["text"] == answer["turns"][1]["text"] and case["turns"][0]["reference"] == answer["text"]
    writing = next(c for c in results["cases"] if c["id"] == "81")["answers"]["gpt-4-answers"]
    assert writing["error"].startswith("turn 1 of 2 failed: no answer in ") and writing["error"].endswith(
        "mtbench-sample-reference-gpt-4.jsonl for case 81 turn 1 (turn 2 was not asked)")


def test_alpaca_eval_outputs_answer_an_alpaca_eval_suite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "suites").mkdir()
    evaluation_set = [{"instruction": "How do I make tea?", "output": "Boil water, steep the leaves.",
                       "generator": "gpt4_1106_preview", "dataset": "koala"},
                      {"instruction": "Name a colour.", "output": "Blue.", "generator": "gpt4_1106_preview",
                       "dataset": "selfinstruct"}]
    (tmp_path / "suites" / "alpaca_eval.json").write_text(json.dumps(evaluation_set, indent=2))
    outputs = [{"instruction": "Name a colour.", "output": "Red.", "generator": "my-model"},
               {"instruction": "How do I make tea?", "output": "Steep it.", "generator": "my-model"},
               {"instruction": "What is tea?", "output": "A drink.", "generator": "my-model"}]
    (tmp_path / "model_outputs.json").write_text(json.dumps(outputs, indent=2))
    (tmp_path / "models.yaml").write_text("version: 1\nmodels:\n  mine:\n    kind: answers\n"
                                          "    path: model_outputs.json\n")
    (tmp_path / "suites" / "ae.yaml").write_text("name: ae\nversion: 1\ncase_format: alpaca-eval\n"
                                                 "cases: alpaca_eval.json\nmodels: [mine]\n")
    results, _ = run(tmp_path / "suites" / "ae.yaml")
    assert [(c["answers"]["mine"]["text"], c["reference"]) for c in results["cases"]] == [
        ("Steep it.", "Boil water, steep the leaves."), ("Red.", "Blue.")]
    assert results["models"][0]["unknown_answers"] == 1  # "What is tea?" is not in the evaluation set


def test_the_alpaca_eval_reference_outputs_are_the_baseline_of_a_pairwise_win_rate(tmp_path, monkeypatch):
    """AlpacaEval's evaluation set is itself an output list of its reference generator: read by the answers
    kind it is the baseline every model is judged against, pairwise in both orders."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "suites").mkdir()
    instructions = [f"Question {i}?" for i in range(6)]
    evaluation_set = [{"instruction": q, "output": "Short.", "generator": "gpt4_turbo", "dataset": "x"}
                      for q in instructions]
    (tmp_path / "suites" / "alpaca_eval.json").write_text(json.dumps(evaluation_set))
    outputs = [{"instruction": q, "output": "A much longer answer than the reference.", "generator": "mine"}
               for q in instructions[:5]] + [{"instruction": instructions[5], "output": "No.", "generator": "mine"}]
    (tmp_path / "model_outputs.json").write_text(json.dumps(outputs))
    (tmp_path / "models.yaml").write_text(
        "version: 1\nmodels:\n  mine:\n    kind: answers\n    path: model_outputs.json\n"
        "  reference:\n    kind: answers\n    path: suites/alpaca_eval.json\n"
        "  judge:\n    kind: mock\n    judge_policy: longest\n")
    (tmp_path / "suites" / "ae.yaml").write_text(
        "name: ae\nversion: 1\ncase_format: alpaca-eval\ncases: alpaca_eval.json\nmodels: [mine, reference]\n"
        "judge: judge\njudging: {mode: pairwise, baseline: reference, adversarial: 0}\n")
    results, _ = run(tmp_path / "suites" / "ae.yaml")
    (row,) = results["pairwise"]
    mine_first = row["a"] == "mine"
    wins, losses = (row["wins"], row["losses"]) if mine_first else (row["losses"], row["wins"])
    # The length-preferring judge prefers the longer answer in both orders: 5 wins for mine, 1 loss ("No.").
    assert (row["n"], wins, losses) == (6, 5, 1)
    mine = next(m for m in results["models"] if m["id"] == "mine")
    assert mine["win_rate"] == pytest.approx(5 / 6)
    assert [c["answers"]["reference"]["text"] for c in results["cases"]] == ["Short."] * 6


def test_the_alpaca_format_sample_is_the_arena_hard_sample_recast_and_its_outputs_are_the_baseline(tmp_path,
                                                                                                  monkeypatch):
    """suites/alpaca-eval-format-sample.json is what its script makes from the Arena-Hard sample, and the same file,
    read by the answers kind, answers every one of its cases (the baseline of the suite's win rate)."""
    import subprocess
    import sys

    made = subprocess.run([sys.executable, str(REPO / "scripts" / "make_alpaca_format_sample.py"), "--check"],
                          capture_output=True, text=True, cwd=REPO)
    assert made.returncode == 0, made.stdout + made.stderr
    monkeypatch.chdir(REPO)
    results, _ = run_suite(REPO / "suites" / "alpaca-eval-format-sample.yaml", models_path=REPO / "models.yaml",
                           model_ids=["gemini-2.0-flash-alpaca-format"], judge="none", quiet=True,
                           store_path=tmp_path / "bench.sqlite", reports_dir=tmp_path)
    (reference,) = results["models"]
    assert (reference["answered"], reference["errors"], reference["unknown_answers"]) == (20, 0, 0)
    first = results["cases"][0]
    assert first["reference"] == first["answers"]["gemini-2.0-flash-alpaca-format"]["text"]
    assert first["reference"].startswith("```sql") and first["tags"] == ["arena-hard-v2.0/hard_prompt"]
