"""The report's pictures: valid inline SVG, the right marks for the data, captions that state the facts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from harness.errors import ConfigError
from harness.report.plots import (AxisScore, ExamCorruption, GateMargin, JudgeBias, LossSeries, ModelPoint,
                                  PairedDifference, PairWinRate, QuantLevel, Rating, axis_scores_plot, forest_plot,
                                  judge_audit_plot, loss_curves_plot, loss_series_from_manifest, model_colours,
                                  pareto_front, quality_cost_plot, quality_speed_plot, quantization_ladder_plot,
                                  ratings_plot, short_names, win_rate_matrix_plot)
from harness.report.plots._common import PALETTE, place_point_labels
from harness.report.plots._svg import canvas
from tests.helpers.plot_examples import example_inputs

SVG = "{http://www.w3.org/2000/svg}"
SIZE_LIMIT = 60 * 1024


def parse(plot) -> ET.Element:
    root = ET.fromstring(plot.svg)
    assert root.tag == f"{SVG}svg"
    return root


def marks(root: ET.Element, kind: str) -> list[ET.Element]:
    return [e for e in root.iter() if kind in e.get("class", "").split() and "mark" in e.get("class", "").split()]


def texts(root: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}text")]


def titles(root: ET.Element) -> list[str]:
    return [e.text for e in root.iter(f"{SVG}title")]


def assert_inline_safe(plot) -> None:
    svg = plot.svg
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert re.findall(r"https?://", svg) == ["http://"]
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg
    for banned in ("xlink", "<script", "<style", "<image", "<foreignObject", "@import", "<metadata"):
        assert banned not in svg, banned
    assert re.findall(r"url\((?!#)", svg) == []
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', svg))


def mark_title(element: ET.Element) -> str:
    title = element.find(f"{SVG}title")
    return title.text if title is not None else ""


# --- the Pareto front -------------------------------------------------------------------------------------------

def test_pareto_front_higher_speed_is_better():
    points = [("A", 0.80, 10.0), ("B", 0.60, 50.0), ("C", 0.50, 40.0),  # C: B is better on both
              ("D", 0.70, 30.0), ("E", 0.80, 5.0),  # E: as good as A and slower
              ("F", None, 100.0), ("G", 0.30, 100.0), ("H", 0.65, float("nan"))]
    assert pareto_front(points) == ["A", "D", "B", "G"]


def test_pareto_front_lower_cost_is_better():
    points = [("cloud", 0.90, 4.00), ("mid", 0.70, 1.00), ("waste", 0.65, 2.00), ("cheap", 0.40, 0.10),
              ("same-as-mid", 0.70, 1.00)]
    assert pareto_front(points, higher_x_better=False) == ["cloud", "mid", "same-as-mid", "cheap"]


def test_pareto_front_edge_cases():
    assert pareto_front([]) == []
    assert pareto_front([("only", 0.5, 10.0)]) == ["only"]
    assert pareto_front([("a", 0.5, None), ("b", None, 3.0)]) == []


# --- quality against speed and cost -----------------------------------------------------------------------------

SPEED_POINTS = [ModelPoint("A", 0.80, 0.74, 0.86, tokens_per_s=10.0), ModelPoint("B", 0.60, 0.55, 0.65, 50.0),
                ModelPoint("C", 0.50, 0.45, 0.55, 40.0), ModelPoint("D", 0.70, 0.64, 0.76, 30.0),
                ModelPoint("E", 0.80, 0.75, 0.85, 5.0), ModelPoint("F", 0.75, 0.70, 0.80, None),
                ModelPoint("G", 0.30, 0.25, 0.35, 100.0), ModelPoint("H", None, None, None, 60.0)]


def test_quality_speed_marks_the_front_and_lists_missing_models():
    plot = quality_speed_plot(SPEED_POINTS)
    root = parse(plot)
    assert_inline_safe(plot)
    points = marks(root, "point")
    assert len(points) == plot.marks == 6  # F has no tokens/s, H no score
    on_front = sorted(mark_title(p).split(":")[0] for p in points if "(Pareto front)" in mark_title(p))
    assert on_front == ["A", "B", "D", "G"]
    assert "Pareto front (higher score and faster; point estimates, black rings): A, D, B, G;" in plot.caption
    assert "not shown: F (no tokens/s), H (no score)" in plot.caption
    # a model with a missing figure is never drawn at 0
    assert not any(t.startswith(("F", "H")) for t in texts(root))


def test_quality_cost_uses_lower_is_better_and_names_unpriced_models():
    points = [ModelPoint("cloud", 0.90, 0.85, 0.95, 30.0, cost_per_1k_cases=4.0),
              ModelPoint("mid", 0.70, 0.65, 0.75, 60.0, cost_per_1k_cases=1.0),
              ModelPoint("waste", 0.65, 0.60, 0.70, 60.0, cost_per_1k_cases=2.0),
              ModelPoint("local", 0.50, 0.45, 0.55, 120.0, cost_per_1k_cases=None)]
    plot = quality_cost_plot(points)
    assert len(marks(parse(plot), "point")) == plot.marks == 3
    assert "Pareto front (higher score and cheaper; point estimates, black rings): cloud, mid;" in plot.caption
    assert "not shown: local (no price)" in plot.caption


def test_quality_speed_uses_a_log_axis_with_plain_labels_for_a_wide_range():
    points = [ModelPoint("slow", 0.5, tokens_per_s=2.0), ModelPoint("fast", 0.4, tokens_per_s=400.0)]
    labels = texts(parse(quality_speed_plot(points)))
    assert "10" in labels and "100" in labels
    assert not any("$" in t or "mathdefault" in t for t in labels)


# --- forest plot -------------------------------------------------------------------------------------------------

def test_forest_plot_rows_zero_line_margin_and_caption():
    rows = [PairedDifference("B", "A", "score", 0.10, 0.04, 0.16),
            PairedDifference("B", "A", "safety", -0.02, -0.08, 0.03),
            PairedDifference("C", "A", "score", -0.12, -0.20, -0.05),
            PairedDifference("C", "A", "safety", None),
            PairedDifference("C", "A", "accuracy", 0.01)]  # no interval: a point without bars
    plot = forest_plot(rows, [GateMargin(-0.05, "non-inferiority margin")])
    root = parse(plot)
    assert_inline_safe(plot)
    assert len(marks(root, "point")) == plot.marks == 4
    assert "non-inferiority margin -0.050" in texts(root)
    assert {"B \u2212 A", "C \u2212 A", "score", "safety", "accuracy"} <= set(texts(root))
    assert "interval above 0: B \u2212 A score (+0.100)" in plot.caption
    assert "interval below 0: C \u2212 A score (-0.120)" in plot.caption
    assert "dashed: non-inferiority margin -0.050" in plot.caption
    assert "not shown: C \u2212 A safety (no difference)" in plot.caption

    # the zero line and the margin are vertical lines; the points sit at their differences on the same scale
    vertical = {}
    for path in root.iter(f"{SVG}path"):
        found = re.fullmatch(r"M([-\d.]+) [-\d.]+L([-\d.]+) [-\d.]+", path.get("d", ""))
        if found and found.group(1) == found.group(2):
            vertical.setdefault(path.get("style"), []).append(float(found.group(1)))
    (zero,) = [x for style, xs in vertical.items() if "stroke:#444444" in style for x in xs]
    (margin,) = [x for style, xs in vertical.items() if "stroke-dasharray" in style for x in xs]
    point_x = {mark_title(m).split(":")[0]: float(m.find(f".//{SVG}use").get("x")) for m in marks(root, "point")}
    scale = (point_x["B \u2212 A, score"] - zero) / 0.10
    assert scale > 0
    assert point_x["C \u2212 A, score"] == pytest.approx(zero - 0.12 * scale, abs=0.3)
    assert point_x["B \u2212 A, safety"] == pytest.approx(zero - 0.02 * scale, abs=0.3)
    assert margin == pytest.approx(zero - 0.05 * scale, abs=0.3)


def test_forest_plot_with_one_model_says_why_it_is_empty():
    plot = forest_plot([])
    assert plot.marks == 0
    assert plot.caption == "No paired differences to draw (fewer than two models)."
    assert_inline_safe(plot)


# --- per-axis bars -----------------------------------------------------------------------------------------------

def test_axis_bars_count_heights_and_caption():
    scores = [AxisScore("A", "accuracy", 0.80, 0.70, 0.90), AxisScore("A", "safety", 0.40, 0.30, 0.50),
              AxisScore("B", "accuracy", 0.60, 0.50, 0.70), AxisScore("B", "safety", None),
              AxisScore("C", "accuracy", 0.20), AxisScore("C", "safety", 0.90, 0.85, 0.95)]
    plot = axis_scores_plot(scores)
    root = parse(plot)
    bars = marks(root, "bar")
    assert len(bars) == plot.marks == 5
    heights = {mark_title(b).split(":")[0]: _bar_height(b) for b in bars}
    # bars start at 0, so their heights are in the ratio of the scores
    assert heights["A, accuracy"] / heights["C, safety"] == pytest.approx(0.80 / 0.90, abs=0.01)
    assert heights["B, accuracy"] / heights["C, accuracy"] == pytest.approx(3.0, abs=0.05)
    assert "highest: accuracy A (0.800), safety C (0.900)" in plot.caption
    assert "not shown: B safety (no score)" in plot.caption
    assert {"A", "B", "C", "accuracy", "safety"} <= set(texts(root))


def _bar_height(bar: ET.Element) -> float:
    ys = [float(v) for v in re.findall(r"[ML][-\d.]+ ([-\d.]+)", bar.find(f"{SVG}path").get("d"))]
    return max(ys) - min(ys)


# --- win-rate matrix ---------------------------------------------------------------------------------------------

def test_win_rate_matrix_cells_values_and_uncompared_pairs():
    rates = [PairWinRate("A", "B", 0.70, 0.60, 0.80, 40), PairWinRate("B", "A", 0.30, 0.20, 0.40, 40),
             PairWinRate("A", "C", 0.625, 0.5, 0.75, 40), PairWinRate("C", "A", 0.375, 0.25, 0.5, 40),
             PairWinRate("B", "C", None)]
    plot = win_rate_matrix_plot(rates)
    root = parse(plot)
    cells = marks(root, "cell")
    assert len(cells) == plot.marks == 4
    assert sorted(t for t in texts(root) if t.endswith("%")) == ["30%", "38%", "62%", "70%"]
    assert "A beats B: 70.0% [60.0%, 80.0%] over 40 cases" in [mark_title(c) for c in cells]
    assert "4 of 6 ordered pairs compared" in plot.caption
    assert "highest: A over B 70.0% [60.0%, 80.0%]" in plot.caption
    assert "not shown: B over C (no win rate)" in plot.caption


def test_win_rate_matrix_with_one_model():
    plot = win_rate_matrix_plot([], models=["only"])
    assert plot.marks == 0 and "fewer than two models" in plot.caption


# --- ratings -----------------------------------------------------------------------------------------------------

def test_ratings_sorted_highest_first_with_overlap_in_caption():
    ratings = [Rating("low", 900, 860, 940), Rating("top", 1100, 1060, 1140), Rating("mid", 1000, 950, 1070),
               Rating("unrated", float("nan"))]
    plot = ratings_plot(ratings)
    root = parse(plot)
    points = marks(root, "point")
    assert len(points) == plot.marks == 3
    by_height = sorted(points, key=lambda p: float(p.find(f".//{SVG}use").get("y")))
    assert [mark_title(p).split(":")[0] for p in by_height] == ["top", "mid", "low"]
    assert "highest top 1100 [1060, 1140]; its interval overlaps mid; lowest low 900 [860, 940]" in plot.caption
    assert "not shown: unrated (no rating)" in plot.caption
    clear = ratings_plot([Rating("top", 1100, 1080, 1120), Rating("mid", 1000, 950, 1050)])
    assert "its interval is clear of every other" in clear.caption


# --- judge audit -------------------------------------------------------------------------------------------------

def test_judge_audit_draws_chance_limits_and_exam():
    # the bundled 135M judge picked the first answer 10 times out of 10 and flipped every time
    bias = JudgeBias(positions=2, first_position_rate=1.0, flip_rate=1.0, max_first_position_rate=0.8,
                     max_flip_rate=0.2, judge="smollm2")
    exam = [ExamCorruption("swapped units", 0.9, 0.8, 1.0, 20),
            ExamCorruption("dropped referral", 0.55, 0.35, 0.75, 20), ExamCorruption("not run", None, n=0)]
    plot = judge_audit_plot(bias, exam, exam_threshold=0.8)
    root = parse(plot)
    assert_inline_safe(plot)
    assert len(marks(root, "bar")) == plot.marks == 4
    labels = texts(root)
    assert {"chance 50.0%", "limit 80.0%", "limit 20.0%", "threshold 80.0%"} <= set(labels)
    assert plot.caption.startswith("Judge audit of smollm2: first-position rate 100.0% against chance 50.0% "
                                   "(limit 80.0%); flip rate 100.0% (limit 20.0%)")
    assert "threshold 80.0%: 1 at or above, below: dropped referral 55.0%" in plot.caption
    assert "not shown: not run (no exam accuracy)" in plot.caption


def test_judge_audit_chance_is_one_over_k_and_exam_is_optional():
    bias = JudgeBias(positions=3, first_position_rate=0.4, flip_rate=None)
    plot = judge_audit_plot(bias)
    assert plot.marks == 1
    assert "chance 33.3%" in texts(parse(plot))
    assert "not shown: flip rate (not measured)" in plot.caption
    assert judge_audit_plot(None).marks == 0


# --- quantization ladder -----------------------------------------------------------------------------------------

def test_quantization_ladder_panels_and_missing_figures():
    levels = [QuantLevel("f16", 257.0, 0.45, 0.40, 0.50, 60.0, None),
              QuantLevel("q8_0", 137.0, 0.44, 0.39, 0.49, 85.0, 0.002),
              QuantLevel("q4_k_m", 99.0, 0.40, 0.35, 0.45, None, 0.03),
              QuantLevel("broken", None, 0.1)]
    plot = quantization_ladder_plot(levels)
    root = parse(plot)
    assert len(marks(root, "point")) == plot.marks == 3 + 2 + 2
    assert {"f16", "q8_0", "q4_k_m"} <= set(texts(root))
    assert "score, tokens/s, mean KL against file size for 3 quantization levels" in plot.caption
    assert "f16 257.0 MiB score 0.450, q8_0 137.0 MiB score 0.440, q4_k_m 99.0 MiB score 0.400" in plot.caption
    assert "not shown: broken (no size), q4_k_m tokens/s (not measured), f16 mean KL (not measured)" in plot.caption
    without_kl = quantization_ladder_plot(levels[:1])
    assert without_kl.marks == 2 and "mean KL" not in without_kl.caption


# --- loss curves -------------------------------------------------------------------------------------------------

def test_loss_curves_count_series_and_left_out_points():
    series = [LossSeries("sft", "train", ((1, 2.0), (2, float("nan")), (3, 1.5), (4, 1.0))),
              LossSeries("sft", "held-out", ((0, 2.2), (4, 1.4))),
              LossSeries("qat", "train", ((1, None), (2, None)))]
    plot = loss_curves_plot(series)
    root = parse(plot)
    assert len(marks(root, "line")) == plot.marks == 2
    assert "sft train 2 \u2192 1 over steps 1\u20134" in plot.caption
    assert "1 missing or non-finite losses left out" in plot.caption
    assert "not shown: qat train (no loss)" in plot.caption


def test_loss_curves_on_a_log_axis_drop_non_positive_losses():
    plot = loss_curves_plot([LossSeries("run", "train", ((1, 1.0), (2, 0.0), (3, 0.01)))], log_scale=True)
    labels = texts(parse(plot))
    assert "1 missing, non-finite or non-positive losses left out" in plot.caption
    assert "0.1" in labels and not any("$" in t for t in labels)


def test_loss_series_from_an_sft_manifest(tmp_path):
    (tmp_path / "loss.csv").write_text("step,loss,learning_rate,grad_norm\n1,2.5,0.0002,1.1\n2,2.1,,\n3,nan,,\n")
    (tmp_path / "manifest.json").write_text(json.dumps({
        "recipe": "sft", "model_id": "smollm2-sft", "steps": 3,
        "held_out_answer_loss": {"before": 2.4, "after": 1.9},
        "outputs": {"loss_csv": "/elsewhere/out/loss.csv"}}))  # moved folder: found beside the manifest
    train, held = loss_series_from_manifest(tmp_path / "manifest.json")
    assert train == LossSeries("smollm2-sft", "train", ((1.0, 2.5), (2.0, 2.1), (3.0, None)))
    assert held == LossSeries("smollm2-sft", "held-out", ((0.0, 2.4), (3.0, 1.9)))


def test_loss_series_from_a_qat_manifest_and_an_export_manifest(tmp_path):
    qat = tmp_path / "qat.json"
    qat.write_text(json.dumps({"recipe": "qat", "model_id": "q", "steps": 10, "held_out_answer_loss": {
        "float_source": 1.0, "fake_quantized_before": 1.6, "fake_quantized_after": 1.2}}))
    assert loss_series_from_manifest(qat) == [LossSeries("q", "held-out", ((0.0, 1.6), (10.0, 1.2)))]
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"recipe": "export_gguf", "files": []}))
    assert loss_series_from_manifest(export) == []


def test_loss_series_errors_name_the_file_and_line(tmp_path):
    (tmp_path / "loss.csv").write_text("step,loss\n1,2.0\nabc,1.0\n")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"recipe": "sft", "outputs": {"loss_csv": str(tmp_path / "loss.csv")}}))
    with pytest.raises(ConfigError, match=r"loss\.csv:3: step 'abc' is not a number"):
        loss_series_from_manifest(manifest)
    manifest.write_text("{not json")
    with pytest.raises(ConfigError, match=r"manifest\.json: cannot read the manifest"):
        loss_series_from_manifest(manifest)


# --- names, colours, escaping ------------------------------------------------------------------------------------

HOSTILE = "<script>alert('x')</script> & \"friends\" $x$ " + "very-long-model-name-" * 3


def _plots_with(name: str, other: str = "base"):
    return {
        "forest": forest_plot([PairedDifference(name, other, "score", 0.1, 0.05, 0.2)]),
        "speed": quality_speed_plot([ModelPoint(name, 0.5, 0.4, 0.6, 50.0), ModelPoint(other, 0.4, 0.3, 0.5, 80.0)]),
        "cost": quality_cost_plot([ModelPoint(name, 0.5, 0.4, 0.6, 50.0, cost_per_1k_cases=1.0)]),
        "axes": axis_scores_plot([AxisScore(name, name, 0.5, 0.4, 0.6)]),
        "winrate": win_rate_matrix_plot([PairWinRate(name, other, 0.6), PairWinRate(other, name, 0.4)]),
        "ratings": ratings_plot([Rating(name, 1010, 990, 1030), Rating(other, 990, 970, 1010)]),
        "judge": judge_audit_plot(JudgeBias(2, 0.5, 0.1, judge=name), [ExamCorruption(name, 0.9, 0.8, 1.0, 10)], 0.8),
        "ladder": quantization_ladder_plot([QuantLevel(name, 100.0, 0.5, 0.4, 0.6, 50.0)]),
        "loss": loss_curves_plot([LossSeries(name, "train", ((1, 2.0), (2, 1.0)))]),
    }


def test_markup_in_names_is_escaped_and_long_names_keep_a_tooltip():
    for kind, plot in _plots_with(HOSTILE).items():
        root = parse(plot)  # would fail on unescaped markup
        assert_inline_safe(plot)
        assert plot.marks > 0, kind
        all_titles = " ".join(titles(root))
        assert HOSTILE in all_titles, kind  # the full name, restored intact from its escaped form
        assert HOSTILE in plot.caption, kind
        shown = " ".join(texts(root))
        assert HOSTILE not in shown and "\u2026" in shown, kind  # shortened in the picture
        assert "&amp;" in plot.svg and "&lt;script&gt;" in plot.svg


def test_every_plot_handles_a_single_model():
    plots = {
        "forest": forest_plot([]), "speed": quality_speed_plot([ModelPoint("only", 0.5, 0.4, 0.6, 50.0)]),
        "cost": quality_cost_plot([ModelPoint("only", 0.5, 0.4, 0.6, 50.0)]),
        "axes": axis_scores_plot([AxisScore("only", "accuracy", 0.5, 0.4, 0.6)]),
        "winrate": win_rate_matrix_plot([], ["only"]), "ratings": ratings_plot([Rating("only", None)]),
        "ladder": quantization_ladder_plot([QuantLevel("q4", 99.0, 0.5)]),
        "loss": loss_curves_plot([LossSeries("only", "train", ((1, 1.0),))]),
    }
    expected = {"forest": 0, "speed": 1, "cost": 0, "axes": 1, "winrate": 0, "ratings": 0, "ladder": 1, "loss": 1}
    assert {kind: plot.marks for kind, plot in plots.items()} == expected
    for plot in plots.values():
        parse(plot)
        assert_inline_safe(plot)
    assert "Pareto front (higher score and faster; point estimates, black rings): only" in plots["speed"].caption
    assert plots["cost"].caption == "Score against USD per 1,000 cases: nothing to draw; not shown: only (no price)."
    assert plots["ratings"].caption == "No ratings to draw (fewer than two models); not shown: only (no rating)."
    assert plots["axes"].caption == "Score per rubric axis with intervals, 1 model over 1 axis; only: accuracy 0.500."


def test_dollar_signs_stay_plain_text():
    plot = ratings_plot([Rating("$a$", 1000, 990, 1010), Rating("b$", 990, 980, 1000)])
    assert {"$a$", "b$"} <= set(texts(parse(plot)))


def test_short_names_keep_distinct_names_distinct():
    names = ["smollm2-135m-instruct-sft-run-0001-q4_k_m", "smollm2-135m-instruct-sft-run-0002-q4_k_m", "short"]
    short = short_names(names, limit=22)
    assert short["short"] == "short"
    assert len(set(short.values())) == 3
    assert all(len(s) <= 30 for s in short.values())
    assert short[names[0]].startswith("smollm2-13") and short[names[0]].endswith("q4_k_m")


def test_model_colours_are_stable_and_distinct_for_eight_models():
    models = [f"m{k}" for k in range(8)]
    colours = model_colours(models)
    assert list(colours.values()) == list(PALETTE)
    assert model_colours(list(reversed(models)), colours) == colours  # a given mapping wins
    assert model_colours(["new", "m3"], {"m3": PALETTE[0]}) == {"m3": PALETTE[0], "new": PALETTE[1]}
    assert model_colours([f"x{k}" for k in range(10)])["x8"] == PALETTE[0]  # past 8, colours repeat


def test_a_model_keeps_its_colour_across_plots():
    colours = model_colours(["A", "B"])
    speed = parse(quality_speed_plot([ModelPoint("B", 0.5, tokens_per_s=10.0)], colours))
    ratings = parse(ratings_plot([Rating("B", 1000)], colours))
    for root in (speed, ratings):
        (point,) = marks(root, "point")
        assert f"fill:{colours['B'].lower()}" in ET.tostring(point, encoding="unicode").lower()


def test_labels_around_crowded_points_do_not_overlap():
    points = [(x, y, f"model-{k}", f"model-{k}") for k, (x, y) in
              enumerate([(10, 0.5), (12, 0.52), (14, 0.49), (30, 0.7), (31, 0.71), (60, 0.3), (62, 0.33), (90, 0.8)])]
    with canvas(6.4, 3.6) as drawing:
        ax = drawing.figure.add_subplot()
        ax.plot([p[0] for p in points], [p[1] for p in points], "o")
        ax.margins(0.12)
        place_point_labels(drawing, ax, points)
        renderer = drawing.figure.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) == 8
    overlapping = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
    assert overlapping == []


# --- determinism, ids, size and time -----------------------------------------------------------------------------

def test_same_figures_give_the_same_bytes_and_plots_share_no_ids():
    first, again = quality_speed_plot(SPEED_POINTS), quality_speed_plot(SPEED_POINTS)
    assert first.svg == again.svg
    ids = [set(re.findall(r'id="([^"]+)"', p.svg)) for p in _plots_with("m").values()]
    assert all(ids)
    for k, a in enumerate(ids):
        for b in ids[k + 1:]:
            assert not a & b


EIGHT_MODEL_MARKS = {"forest_plot": 28, "quality_speed_plot": 7, "quality_cost_plot": 3, "axis_scores_plot": 40,
                     "win_rate_matrix_plot": 56, "ratings_plot": 8, "judge_audit_plot": 6,
                     "quantization_ladder_plot": 14, "loss_curves_plot": 8}


def test_eight_models_stay_small_and_time_is_reported(capsys):
    """The invented 8-model inputs: 7 pairs x 4 metrics, one model without tokens/s, 3 priced models, 8 x 5 axis
    bars, 8 x 7 cells, 6 judge bars, 5 + 5 + 4 ladder points, 4 runs x 2 series."""
    from harness.report import plots

    sizes, drawn, started = {}, {}, time.perf_counter()
    for name, args in example_inputs(8).items():
        plot = getattr(plots, name)(*args)
        parse(plot)
        assert_inline_safe(plot)
        sizes[name], drawn[name] = len(plot.svg.encode()), plot.marks
    elapsed = time.perf_counter() - started
    assert drawn == EIGHT_MODEL_MARKS
    assert max(sizes.values()) < SIZE_LIMIT, sizes
    with capsys.disabled():
        print(f"\n{len(sizes)} plots for 8 models: {sum(sizes.values()) / 1024:.1f} KB in all, largest "
              f"{max(sizes.values()) / 1024:.1f} KB ({max(sizes, key=sizes.get)}), rendered in {elapsed:.2f} s")


def test_importing_the_plots_does_not_import_matplotlib():
    code = ("import sys, harness.report.plots, harness.cli; "
            "sys.exit(1 if any(m.startswith('matplotlib') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
