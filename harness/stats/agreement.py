"""Agreement between raters (two judges, or a judge and a person), corrected for chance.

Raw agreement flatters raters who give the same label most of the time; kappa and alpha
subtract the agreement their label frequencies would produce by chance. Both are NaN when chance
agreement is already perfect (every label the same), where the correction is undefined.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def cohens_kappa(labels_a, labels_b) -> float:
    """Cohen's kappa for two raters labelling the same items; items missing a label are dropped."""
    a, b = pd.Series(list(labels_a), dtype=object), pd.Series(list(labels_b), dtype=object)
    if len(a) != len(b):
        raise ValueError(f"the raters labelled different numbers of items: {len(a)} and {len(b)}")
    both = a.notna() & b.notna()
    a, b = a[both], b[both]
    if a.empty:
        return float("nan")
    observed = float(np.mean(a.to_numpy() == b.to_numpy()))
    share_a = a.value_counts(normalize=True)
    share_b = b.value_counts(normalize=True)
    chance = float(sum(share_a[label] * share_b.get(label, 0.0) for label in share_a.index))
    if chance >= 1.0:
        return float("nan")
    return (observed - chance) / (1.0 - chance)


def krippendorff_alpha_nominal(matrix) -> float:
    """Krippendorff's alpha for nominal labels; `matrix` is units x raters, NaN where missing.

    Built from the coincidence matrix: within each unit with m >= 2 labels, every ordered pair of
    labels from different raters adds 1 / (m - 1). Then alpha = 1 - D_o / D_e with
    D_o = disagreeing coincidences / n and D_e = sum over label pairs c != k of n_c * n_k /
    (n * (n - 1)). Units with a single label carry no information about agreement and are skipped.
    """
    values = pd.DataFrame(matrix).to_numpy(dtype=object)
    units = [[v for v in row if not _missing(v)] for row in values]
    units = [labels for labels in units if len(labels) >= 2]
    if not units:
        return float("nan")
    categories = list(dict.fromkeys(label for labels in units for label in labels))
    index = {label: k for k, label in enumerate(categories)}
    coincidences = np.zeros((len(categories), len(categories)))
    for labels in units:
        counts = np.bincount([index[label] for label in labels], minlength=len(categories)).astype(float)
        # ordered pairs of different raters: n_c * n_k, minus the pairs of a rater with itself
        coincidences += (np.outer(counts, counts) - np.diag(counts)) / (len(labels) - 1)
    n = coincidences.sum()
    marginals = coincidences.sum(axis=1)
    disagreement_observed = coincidences.sum() - np.trace(coincidences)
    disagreement_expected = (marginals.sum() ** 2 - np.sum(marginals ** 2)) / (n - 1)
    if disagreement_expected == 0:
        return float("nan")
    return float(1.0 - disagreement_observed / disagreement_expected)


def _missing(value) -> bool:
    return value is None or bool(pd.isna(value))
