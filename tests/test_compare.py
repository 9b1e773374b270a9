"""Run against run: paired differences over shared cases, regressed cases, what changed, and the baseline gate."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.compare import baseline_gate, case_value, compare_runs
from harness.report.comparison import render_comparison_markdown, write_comparison
from harness.results.model import AnswerRow, Results, RunSpec
from harness.stats import paired_bootstrap
from harness.compare import N_BOOT, SEED


def run(run_id: str, scores: dict[str, dict[str, float | None]], *, judge_fingerprint="j:1", rubric_version=1,
        trusted=True, source="check", rankings=None, fingerprints=None, **spec) -> Results:
    """A run from per-model, per-case scores (None: the answer failed)."""
    models = list(scores)
    case_ids = list(dict.fromkeys(c for per_case in scores.values() for c in per_case))
    cases = []
    for case_id in case_ids:
        answers = {}
        for m in models:
            if case_id not in scores[m]:
                continue
            value = scores[m][case_id]
            answers[m] = {"text": f"{m} on {case_id}", "score": value, "error": None if value is not None else "boom",
                          "latency_s": 1.0 + (value or 0), "axes": {} if value is None else {"safety": value / 2},
                          "criteria": [{"id": "k", "axis": "safety", "points": 1, "met": True, "source": source}]}
        judgments = [{"rep": rep, "order": models, "ranking": ranking, "judge": "j"}
                     for rep, ranking in enumerate((rankings or {}).get(case_id, []))]
        cases.append({"id": case_id, "answers": answers, "judgments": judgments})
    return Results.model_validate({
        "run_id": run_id, "suite": {"name": "s", "rubric": "r", "rubric_version": rubric_version},
        "spec": spec, "judge": {"id": "j", "fingerprint": judge_fingerprint, "audit": {"trusted": trusted}},
        "models": [{"id": m, "fingerprint": (fingerprints or {}).get(m, f"{m}:1"), "score": 0.5,
                    "axes": {"safety": {"score": 0.25}}} for m in models],
        "cases": cases})


OLD = {"sft": {"c1": 0.2, "c2": 0.4, "c3": 0.6, "c4": 0.8}, "base": {"c1": 0.1, "c2": 0.1, "c3": 0.1, "c4": 0.1}}
NEW = {"sft": {"c2": 0.4, "c3": 0.3, "c4": 0.9, "c5": 0.5}, "base": {"c2": 0.1, "c3": 0.1, "c4": 0.2, "c5": 0.1}}


def test_differences_are_paired_over_the_shared_cases():
    comparison = compare_runs(run("old", OLD), run("new", NEW))
    assert (comparison.shared_cases, comparison.only_old_cases, comparison.only_new_cases) == (3, 1, 1)
    sft = comparison.models[0]
    assert sft.id == "sft" and sft.score.n == 3 and sft.score.left_out == 0
    assert sft.score.diff == pytest.approx((0.0 - 0.3 + 0.1) / 3)
    diff, (low, high), p = paired_bootstrap([0.4, 0.3, 0.9], [0.4, 0.6, 0.8], n_boot=N_BOOT, seed=SEED)
    assert sft.score.ci == pytest.approx([low, high]) and sft.score.p_value == pytest.approx(p)
    assert sft.axes["safety"].diff == pytest.approx(sft.score.diff / 2)
    assert sft.latency_s.diff == pytest.approx(sft.score.diff), "latency here is 1 + score"
    assert (sft.regressed, sft.improved) == (1, 1)
    assert [(r.case_id, r.old, r.new, r.new_text) for r in sft.regressed_cases] == [("c3", 0.6, 0.3, "sft on c3")]


def test_a_failed_answer_counts_as_the_run_scores_it():
    old = run("old", {"m": {"c1": 0.5, "c2": 0.5, "c3": 0.5}}, scoring={"missing": "zero"})
    new = run("new", {"m": {"c1": None, "c2": 0.7, "c3": 0.5}}, scoring={"missing": "zero"})
    figure = compare_runs(old, new).models[0].score
    assert (figure.n, figure.left_out) == (3, 0) and figure.diff == pytest.approx((-0.5 + 0.2 + 0) / 3)
    new = run("new", {"m": {"c1": None, "c2": 0.7, "c3": 0.5}}, scoring={"missing": "exclude"})
    figure = compare_runs(old, new).models[0].score
    assert (figure.n, figure.left_out) == (2, 1) and figure.diff == pytest.approx(0.1)


def test_case_value_applies_the_flag_rules():
    spec = RunSpec.model_validate({"scoring": {"missing": "exclude", "flagged": {"empty": "zero", "truncated": "keep"}}})
    assert case_value(AnswerRow(score=0.8, flags=["empty"]), spec) == 0.0
    assert case_value(AnswerRow(score=0.8, flags=["truncated"]), spec) == 0.8
    assert case_value(AnswerRow(error="x"), spec) is None
    assert case_value(None, spec) is None


def test_win_share_against_common_opponents():
    # three models; the new run drops "extra", so only base counts as an opponent of sft
    rankings_old = {"c1": [["sft", "extra", "base"], ["base", "sft", "extra"]], "c2": [["extra", "base", "sft"]]}
    rankings_new = {"c1": [["sft", "base"], ["sft", "base"]], "c2": [["sft", "base"]]}
    old = run("old", {m: {"c1": 0.5, "c2": 0.5} for m in ("sft", "base", "extra")}, rankings=rankings_old)
    new = run("new", {m: {"c1": 0.5, "c2": 0.5} for m in ("sft", "base")}, rankings=rankings_new)
    comparison = compare_runs(old, new)
    assert comparison.only_old_models == ["extra"]
    sft = comparison.models[0].win_rate
    # old: c1 sft beat base once in two reps (0.5), c2 lost (0); new: won both cases (1, 1)
    assert sft.n == 2 and sft.diff == pytest.approx(((1 - 0.5) + (1 - 0)) / 2)


def test_what_changed_is_listed_and_breaking_changes_flagged():
    old = run("old", OLD, system_prompt="Be brief.")
    new = run("new", NEW, judge_fingerprint="j:2", rubric_version=2, system_prompt="Be kind.",
              fingerprints={"sft": "sft:2"})
    comparison = compare_runs(old, new)
    changes = {c.what: (c.old, c.new, c.breaks) for c in comparison.changes}
    assert changes == {"rubric version": ("1", "2", True), "judge fingerprint": ("j:1", "j:2", True),
                       "system prompt": ("Be brief.", "Be kind.", False), "model sft": ("sft:1", "sft:2", False)}
    assert not comparison.comparable
    assert [m.changed for m in comparison.models] == [True, False]
    assert compare_runs(run("old", OLD), run("new", NEW)).comparable


def test_baseline_gate_verdicts():
    old, new = run("old", OLD), run("new", NEW)
    passed = baseline_gate(new, old, "sft", margin=0.9)
    assert passed.verdict == "pass" and passed.type == "not_worse" and passed.threshold == -0.9
    assert passed.reason.startswith("paired difference new - old -0.067 [") and "over 3 shared cases" in passed.reason
    failed = baseline_gate(new, old, "sft")
    assert failed.verdict == "fail" and failed.type == "beats" and "not above 0" in failed.reason
    assert baseline_gate(new, old, "nope").verdict == "error"
    assert "axis 'style'" in baseline_gate(new, old, "sft", axis="style").reason
    few = run("new", {"sft": {"c4": 0.9}, "base": {"c4": 0.1}})
    assert "1 shared case(s)" in baseline_gate(few, old, "sft").reason
    rubric = baseline_gate(run("new", NEW, rubric_version=2), old, "sft", margin=0.9)
    assert rubric.verdict == "fail" and rubric.reason.startswith("rubric version changed between the runs (1 -> 2)")


def test_the_judge_matters_to_the_gate_only_when_the_figure_rests_on_it():
    checks_old, checks_new = run("old", OLD), run("new", NEW, judge_fingerprint="j:2", trusted=False)
    assert baseline_gate(checks_new, checks_old, "sft", margin=0.9).verdict == "pass"
    judged_old = run("old", OLD, source="judge")
    judged_new = run("new", NEW, source="judge", judge_fingerprint="j:2", trusted=False)
    verdict = baseline_gate(judged_new, judged_old, "sft", margin=0.9)
    assert verdict.verdict == "fail"
    assert "judge fingerprint changed" in verdict.reason and "untrusted" in verdict.reason
    unaudited = run("new", NEW, source="judge", trusted=None)
    assert baseline_gate(unaudited, judged_old, "sft", margin=0.9).verdict == "error"


def test_markdown_is_a_readable_table():
    old = run("old", OLD)
    new = run("new", NEW, judge_fingerprint="j|2<b>", fingerprints={"sft": "sft:2"})
    text = render_comparison_markdown(compare_runs(old, new))
    lines = text.splitlines()
    assert lines[0] == "## bench compare: s, run new against old"
    assert "- judge fingerprint: j:1 → j\\|2&lt;b&gt;" in lines
    header = next(i for i, line in enumerate(lines) if line.startswith("| Model |"))
    assert lines[header + 1].startswith("| --- | --- | ---: |")
    row = lines[header + 2].split(" | ")
    assert row[0] == "| sft" and row[1] == "yes" and row[5] == "3"
    assert all(line.count(" | ") == 8 for line in lines[header:header + 4])
    assert "### Regressed most: sft" in lines and "| c3 | 0.600 | 0.300 | -0.300 |  |" in lines


def test_long_values_are_shown_where_they_differ():
    weights = "gguf:sha256:" + "ab" * 32
    old = run("old", OLD, fingerprints={"sft": weights + ";template=gemma;fold_system=True"})
    new = run("new", NEW, fingerprints={"sft": weights + ";template=chatml"})
    text = render_comparison_markdown(compare_runs(old, new))
    assert "- model sft: …ab;template=gemma;fold\\_system=True → …ab;template=chatml" in text.splitlines()


def test_write_comparison_and_the_cli(tmp_path, capsys):
    old, new = run("old", OLD), run("new", NEW)
    for r in (old, new):
        folder = tmp_path / "reports" / "s" / r.run_id
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(r.to_json())
    code = main(["compare", "old", "new", "--reports-dir", str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("## bench compare: s, run new against old")
    folder = tmp_path / "reports" / "compare" / "old__new"
    data = json.loads((folder / "compare.json").read_text())
    assert data["shared_cases"] == 3 and data["models"][0]["score"]["n"] == 3
    page = (folder / "compare.html").read_text()
    assert "Cases that regressed most" in page and "sft on c3" in page and 'id="plot-forest"' in page
    assert set(write_comparison(compare_runs(old, new), tmp_path / "x")) == {"html", "md", "json"}

    args = ["gate", "new", "--baseline-run", "old", "--reports-dir", str(tmp_path / "reports")]
    assert main(args + ["--margin", "0.9", "--model", "sft"]) == 0
    assert "1 of 1 gates passed" in capsys.readouterr().out
    assert main(args) == 1  # beats, for every shared model: neither is clearly better
    assert "0 of 2 gates passed" in capsys.readouterr().out
    assert main(args + ["--margin", "2"]) == 2
    assert main(["gate", "new", "--margin", "0.1", "--reports-dir", str(tmp_path / "reports")]) == 2
    assert "--baseline-run" in capsys.readouterr().err


def test_the_markdown_renders_as_tables():
    from markdown_it import MarkdownIt  # comes with rich

    old = run("old", OLD)
    new = run("new", NEW, fingerprints={"sft": "sft|2"})
    html = MarkdownIt("commonmark").enable("table").render(render_comparison_markdown(compare_runs(old, new)))
    assert html.count("<table>") == 2, "the models, and the regressed cases of sft (base has none)"
    first_row = html[html.index("<tbody>"):].split("</tr>")[0]
    cells = [cell.split(">", 1)[1] for cell in first_row.split("<td")[1:]]
    assert [c.removesuffix("</td>\n") for c in cells][:2] == ["sft", "yes"]
    assert "<li>model sft: sft:1 → sft|2</li>" in html
