"""Statistics over the store's results: pure functions from DataFrames to figures with intervals.

Randomness (bootstrap, permutation) is seeded through a `seed` argument; a figure that cannot be
computed is NaN (in a DataFrame) or None (in a dict), never a guess. Bootstrap draws are kept for
reuse within a process (at most 160 MB); `forget_draws()` releases them.
"""

from ._resample import forget_draws
from .agreement import cohens_kappa, krippendorff_alpha_nominal
from .ifeval import ifeval_accuracy, ifeval_accuracy_summary, ifeval_by_instruction
from .latency import latency_summary
from .power import min_detectable_score_diff, min_detectable_win_rate_diff, power_summary
from .ratings import bradley_terry, length_controlled_win_rate, style_controlled_bt
from .scores import bootstrap_ci, bootstrap_se, grouped_scores, model_scores
from .significance import holm, paired_bootstrap, pairwise_significance, sign_test
from .winrate import mean_ranks, overall_win_rates, pairwise_outcomes, pairwise_table

__all__ = [
    "bootstrap_ci", "bootstrap_se", "model_scores", "grouped_scores",
    "pairwise_outcomes", "pairwise_table", "overall_win_rates", "mean_ranks",
    "sign_test", "holm", "paired_bootstrap", "pairwise_significance",
    "bradley_terry", "style_controlled_bt", "length_controlled_win_rate",
    "min_detectable_score_diff", "min_detectable_win_rate_diff", "power_summary",
    "cohens_kappa", "krippendorff_alpha_nominal",
    "ifeval_accuracy", "ifeval_by_instruction", "ifeval_accuracy_summary",
    "latency_summary",
    "forget_draws",
]
