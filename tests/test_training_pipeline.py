"""`bench pipeline`: its config, the suite sample, and the flow (gate, stop or go on, promote) with the recipes and
the evaluations replaced by recorded stand-ins, so that every branch runs in milliseconds."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from training import pipeline as pl
from harness.config import load_suite
from harness.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp_path: Path, **overrides) -> Path:
    config = {
        "version": 1, "suite": "sbar-intake", "models": str(tmp_path / "models.yaml"),
        "models_out": str(tmp_path / "out-models.yaml"), "work_dir": str(tmp_path / "work"),
        "reports_dir": str(tmp_path / "reports"), "store": str(tmp_path / "bench.sqlite"), "sample": 6,
        "steps": {"base": None, "sft": "sft.yaml", "qat": "qat.yaml", "export": "export.yaml"},
        "gates": {"sft": ["beats:{candidate}:{baseline}"],
                  "exports": ["not-worse:score:{candidate}:{baseline}:0.05"]},
        "base_export_id": "base", "sft_export_id": "sft", "promote_id": "promoted",
        "promote_to": str(tmp_path / "promoted.yaml"),
    }
    config.update(overrides)
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    (tmp_path / "models.yaml").write_text(yaml.safe_dump({"version": 1, "models": {"judge": {"kind": "mock"}}}))
    return path


def test_config_is_strict(tmp_path):
    path = write_config(tmp_path, colour="blue")
    with pytest.raises(ConfigError, match=r"pipeline.yaml:\d+: colour: unknown key"):
        pl.load_pipeline_config(path)
    path = write_config(tmp_path, gates={"sft": []})
    with pytest.raises(ConfigError, match="gates"):
        pl.load_pipeline_config(path)
    for shipped in (ROOT / "training" / "configs").glob("pipeline_*.yaml"):
        assert pl.load_pipeline_config(shipped).version == 1


def test_gate_templates_are_filled_and_parsed():
    gates = pl.fill_gates(["beats:{candidate}:{baseline}",
                           {"type": "not_worse", "axis": "safety", "candidate": "{candidate}",
                            "baseline": "{baseline}", "margin": 0.1}], "q4", "f16", "test")
    assert [g.label for g in gates] == ["beats:q4:f16", "not-worse:safety:q4:f16"]
    with pytest.raises(ConfigError, match="test: gates.0"):
        pl.fill_gates(["beats:{candidate}"], "q4", "f16", "test")


def test_suite_sample_is_spread_over_the_suite_and_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = pl.sample_suite("sbar-intake", 9, tmp_path)
    loaded = load_suite(path)
    ids = [c.id for c in loaded.cases]
    assert loaded.suite.name == "sbar-intake-sample9" and len(ids) == 9
    tags = {t for c in loaded.cases for t in c.tags}
    assert {"red-flag", "routine", "medication", "multi-turn", "non-english"} <= tags  # not just the first 9
    assert loaded.rubric is not None and loaded.rubric.name == "sbar"


def test_a_suite_sample_elsewhere_still_finds_the_suites_human_labels(tmp_path, monkeypatch):
    from harness.evaluate import load_plan

    monkeypatch.chdir(ROOT)
    path = pl.sample_suite("sbar-intake", 3, tmp_path / "work" / "suite")
    plan = load_plan(path, models_path=ROOT / "models.yaml", model_ids=["smollm2-135m"], judge="none")
    assert len(plan.cases) == 3
    assert [label.model_dump() for label in plan.labels] == [
        label.model_dump() for label in load_plan("sbar-intake", models_path=ROOT / "models.yaml",
                                                  model_ids=["smollm2-135m"], judge="none").labels]
    assert plan.labels


def test_choose_promotion_takes_the_smallest_export_whose_line_passed():
    parents = {"f16": "sft", "q8": "f16", "q5": "f16", "q4": "f16"}
    sizes = {"f16": 258, "q8": 138, "q5": 107, "q4": 101}
    everything = {"f16": True, "q8": True, "q5": True, "q4": True}
    assert pl.choose_promotion(list(parents), parents, everything, sizes) == "q4"
    assert pl.choose_promotion(list(parents), parents, {**everything, "q4": False}, sizes) == "q5"
    # a failed parent disqualifies its children, whatever their own verdicts
    assert pl.choose_promotion(list(parents), parents, {**everything, "f16": False}, sizes) is None


# ---------------------------------------------------------------- the flow

def results_for(ids: list[str], pairs: dict[tuple[str, str], float], trusted: bool = True) -> dict:
    """A judged run: `pairs` maps (candidate, baseline) to the lower bound of both the win-rate interval and
    the paired score difference."""
    return {
        "run_id": "r", "suite": {"name": "s"}, "judge": {"id": "judge", "audit": {"trusted": trusted, "reasons": []},
                                                         "exam": {"judgments": 48, "passed": True}},
        "models": [{"id": i, "score": 0.5, "score_ci": [0.4, 0.6], "latency": {"tokens_per_s": 100.0},
                    "cases": 6, "answered": 6, "graded": 6} for i in ids],
        "pairwise": [{"a": a, "b": b, "win_rate": low + 0.1, "ci": [low, low + 0.2], "p_value": 0.01,
                      "p_adjusted": 0.01} for (a, b), low in pairs.items()],
        "significance": [{"a": a, "b": b, "metric": "score", "diff": low + 0.05, "ci": [low, low + 0.1]}
                         for (a, b), low in pairs.items()],
        "power": {"n_cases": 6, "min_detectable_score_diff": 0.01, "min_detectable_win_rate_diff": 0.01},
        "cases": [],
    }


class StandIns:
    """Records the recipe steps and answers the evaluations with prepared results."""

    def __init__(self, monkeypatch, tmp_path: Path, *, sft_low: float, ladder_lows: dict[str, float]):
        self.steps: list[str] = []
        self.evaluated: list[list[str]] = []
        self.tmp = tmp_path
        self.sft_low, self.ladder_lows = sft_low, ladder_lows
        monkeypatch.setattr(pl.Pipeline, "recipe", lambda pipeline, *args: self.recipe(pipeline, *args))
        monkeypatch.setattr(pl.Pipeline, "evaluate", lambda pipeline, *args: self.evaluate(pipeline, *args))
        monkeypatch.setattr("harness.report.write_report", lambda results, out_dir: out_dir / "index.html")

    def recipe(self, pipeline, step, module, config_file, overrides):
        self.steps.append(step)
        entries = {}
        if step == "sft":
            return {"base": {"path": "base-dir"}, "outputs": {"merged": "sft-dir"}, "model_id": "sft-model"}
        if step == "qat":
            return {"outputs": {"float": "qat-float"}, "model_id": "qat-model"}
        prefix = overrides.get("model_id", "sbar")
        levels = ["f16"] + (overrides["quantizations"] if "quantizations" in overrides else ["q8_0", "q4_k_m"])
        files = [{"id": f"{prefix}-{lv}", "size_mib": {"f16": 258, "q8_0": 138, "q4_k_m": 101}[lv]} for lv in levels]
        for row in files:
            entries[row["id"]] = {"kind": "gguf", "path": f"{row['id']}.gguf"}
        from training.common import write_models_entries

        write_models_entries(Path(pipeline.config.models_out), entries)
        return {"files": files}

    def evaluate(self, pipeline, label, model_ids, gates, fidelity=None):
        """What run_suite returns: the results, with the verdicts of the gates the run recorded."""
        from harness.gates.evaluate import evaluate_gates
        from harness.results.model import Results

        self.evaluated.append(model_ids)
        if label == "sft vs base":
            results = results_for(model_ids, {("sft-f16", "base-f16"): self.sft_low})
        else:
            results = results_for(model_ids, {("sbar-f16", "sft-f16"): self.ladder_lows["f16"],
                                              ("sbar-q8_0", "sbar-f16"): self.ladder_lows["q8_0"],
                                              ("sbar-q4_k_m", "sbar-f16"): self.ladder_lows["q4_k_m"]})
        results = Results.model_validate(results)
        results.gates = evaluate_gates(results, gates)
        return results


def run(tmp_path, monkeypatch, keep_going=False, **lows) -> tuple[int, StandIns, str]:
    import io

    monkeypatch.chdir(ROOT)
    stand_ins = StandIns(monkeypatch, tmp_path, **lows)
    path = write_config(tmp_path)
    out = io.StringIO()
    code = pl.run_pipeline(pl.load_pipeline_config(path), path, keep_going=keep_going, out=out)
    return code, stand_ins, out.getvalue()


def test_a_failed_sft_gate_stops_before_qat(tmp_path, monkeypatch):
    code, s, out = run(tmp_path, monkeypatch, sft_low=0.45, ladder_lows={})
    assert code == 1
    assert s.steps == ["sft", "export-base", "export-sft"]
    assert s.evaluated == [["base-f16", "sft-f16"]]
    assert "not promoted: the SFT model did not pass its required gates" in out
    assert "beats:sft-f16:base-f16: fail" in out
    assert not (tmp_path / "promoted.yaml").exists()


def test_all_gates_pass_and_the_smallest_export_is_promoted(tmp_path, monkeypatch):
    code, s, out = run(tmp_path, monkeypatch, sft_low=0.55, ladder_lows={"f16": 0.0, "q8_0": -0.01, "q4_k_m": -0.02})
    assert code == 0
    assert s.steps == ["sft", "export-base", "export-sft", "qat", "export"]
    assert s.evaluated[1] == ["sft-f16", "sbar-f16", "sbar-q8_0", "sbar-q4_k_m"]
    promoted = yaml.safe_load((tmp_path / "promoted.yaml").read_text())["models"]["promoted"]
    assert promoted == {"kind": "gguf", "path": "sbar-q4_k_m.gguf"}
    ladder = (tmp_path / "work" / "ladder.md").read_text()
    # the stand-in results have no check-only scores and no fidelity section: shown as missing, never as 0
    assert "| sbar-q4\\_k\\_m | sbar-f16 | 101.0 | 100 | - | - | - | - | pass |" in ladder
    gates_md = (tmp_path / "work" / "gates.md").read_text()
    assert "Gates (sft vs base)" in gates_md and "Gates (ladder)" in gates_md


def test_a_failing_level_is_passed_over(tmp_path, monkeypatch):
    code, _, out = run(tmp_path, monkeypatch, sft_low=0.55, ladder_lows={"f16": 0.0, "q8_0": 0.0, "q4_k_m": -0.2})
    assert code == 0
    assert "promoted sbar-q8_0" in out


def test_keep_going_evaluates_everything_but_promotes_nothing_past_a_failure(tmp_path, monkeypatch):
    code, s, out = run(tmp_path, monkeypatch, keep_going=True, sft_low=0.45,
                       ladder_lows={"f16": 0.0, "q8_0": 0.0, "q4_k_m": 0.0})
    assert code == 1
    assert s.steps[-2:] == ["qat", "export"] and len(s.evaluated) == 2
    assert "not promoted: no export passed its required gates" in out


def test_the_gates_table_reads_a_beats_gate_by_the_metric_it_was_judged_on():
    """`beats` without a metric (auto) is the win rate with a judge and the paired score difference without one;
    the pipeline's table shows the figure the verdict rested on (it once looked up an 'axis:auto' row)."""
    from harness.gates.spec import parse_gates
    from tests.helpers.synthetic_results import synthetic_results
    from training.pipeline_summary import gate_interval

    results = synthetic_results(2, 12)
    (gate,) = parse_gates(["beats:model-0:model-1"], "t")
    assert gate.metric == "auto"
    assert gate_interval(results, gate)[2] == "win rate"
    no_judge = results.model_copy(update={"judge": results.judge.model_copy(update={"id": None})})
    estimate, interval, what = gate_interval(no_judge, gate)
    row = next(r for r in results.significance if r.metric == "score")
    sign = 1 if (row.a, row.b) == ("model-0", "model-1") else -1
    assert what == "paired difference, score" and estimate == pytest.approx(sign * row.diff)
