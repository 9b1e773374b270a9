"""Invented inputs for every report plot: N models with long names and names holding markup.

The figures follow a fixed formula per model; they are not results of any run. Used by the plot tests
(size and time for 8 models) and by scripts/plot_gallery.py.
"""

from __future__ import annotations


def example_inputs(n_models: int) -> dict[str, tuple]:
    """Arguments for each plot function, for `n_models` invented models."""
    from harness.report import plots as p

    names = ["smollm2-135m-instruct", "gemma3-270m-base", "smollm2-135m-sft-lora-r16-alpha32-lr2e-4-epochs3",
             "qwen2.5-0.5b <script>alert(1)</script>", "cloud-large & friends", "smollm2-135m-qat-int4",
             "smollm2-135m-q4_k_m", "llama-3.2-1b-instruct-q8_0"][:n_models]
    names += [f"extra-model-{k}" for k in range(len(names), n_models)]
    scores = {m: 0.35 + 0.05 * ((k * 3) % 8) for k, m in enumerate(names)}
    axes = ["accuracy", "completeness", "communication", "safety", "instruction following"]
    base = names[0]
    diffs = [p.PairedDifference(m, base, metric, scores[m] - scores[base] + 0.01 * j,
                                scores[m] - scores[base] + 0.01 * j - 0.06, scores[m] - scores[base] + 0.01 * j + 0.06)
             for m in names[1:] for j, metric in enumerate(["score"] + axes[:3])]
    points = [p.ModelPoint(m, scores[m], scores[m] - 0.05, scores[m] + 0.05,
                           tokens_per_s=None if k == 4 else 20.0 + 17 * ((k * 5) % 8),
                           cost_per_1k_cases=0.2 * (k + 1) if k % 3 == 1 else None) for k, m in enumerate(names)]
    axis_scores = [p.AxisScore(m, a, min(1.0, scores[m] + 0.03 * j), scores[m] + 0.03 * j - 0.07,
                               min(1.0, scores[m] + 0.03 * j + 0.07)) for m in names for j, a in enumerate(axes)]
    rates = [p.PairWinRate(a, b, 0.5 + (scores[a] - scores[b]), 0.4 + (scores[a] - scores[b]),
                           0.6 + (scores[a] - scores[b]), 45) for a in names for b in names if a != b]
    ratings = [p.Rating(m, 1000 + 400 * (scores[m] - 0.5), 960 + 400 * (scores[m] - 0.5),
                        1040 + 400 * (scores[m] - 0.5)) for m in names]
    bias = p.JudgeBias(positions=2, first_position_rate=0.71, first_position_low=0.6, first_position_high=0.8,
                       flip_rate=0.35, flip_low=0.25, flip_high=0.46, max_first_position_rate=0.8,
                       max_flip_rate=0.2, judge="smollm2-135m-instruct")
    exam = [p.ExamCorruption(c, a, a - 0.1, min(1.0, a + 0.1), 20) for c, a in
            [("swapped dosage units", 0.9), ("removed safety referral", 0.55), ("invented citation", 0.7),
             ("contradicts itself", 0.85)]]
    ladder = [p.QuantLevel(level, size, 0.45 - 0.02 * k, 0.40 - 0.02 * k, 0.50 - 0.02 * k, 60 + 25 * k,
                           None if k == 0 else 0.01 * k * k) for k, (level, size) in
              enumerate([("f16", 257.0), ("q8_0", 137.0), ("q6_k", 106.0), ("q4_k_m", 99.0), ("q2_k", 67.0)])]
    losses = [p.LossSeries(f"run-{k}-{m}", "train", tuple((s, 2.5 * 0.97 ** s + 0.05 * k) for s in range(1, 301)))
              for k, m in enumerate(names[:4])]
    losses += [p.LossSeries(f"run-{k}-{m}", "held-out", ((0.0, 2.4 + 0.05 * k), (300.0, 1.2 + 0.05 * k)))
               for k, m in enumerate(names[:4])]
    colours = p.model_colours(names)
    return {
        "forest_plot": (diffs, [p.GateMargin(-0.05, "non-inferiority margin")], colours),
        "quality_speed_plot": (points, colours),
        "quality_cost_plot": (points, colours),
        "axis_scores_plot": (axis_scores, colours),
        "win_rate_matrix_plot": (rates, names),
        "ratings_plot": (ratings, colours),
        "judge_audit_plot": (bias, exam, 0.8),
        "quantization_ladder_plot": (ladder,),
        "loss_curves_plot": (losses, True),
    }
