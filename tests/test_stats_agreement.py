import math

import numpy as np
import pytest

from harness.stats import cohens_kappa, krippendorff_alpha_nominal

NA = np.nan


def test_cohens_kappa_textbook_example():
    # 50 items: both yes 20, A yes / B no 5, A no / B yes 10, both no 15.
    # p_o = 35/50 = 0.7; A says yes 25/50, B 30/50: p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = 0.2 / 0.5 = 0.4
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohens_kappa(a, b) == pytest.approx(0.4)


def test_cohens_kappa_binary_example():
    # p_o = 6/10; A gives 1 twice, B four times: p_e = 0.2 * 0.4 + 0.8 * 0.6 = 0.56; kappa = 0.04 / 0.44
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert cohens_kappa(a, b) == pytest.approx(0.04 / 0.44)


def test_cohens_kappa_edges():
    assert cohens_kappa(["x", "y", "x"], ["x", "y", "x"]) == pytest.approx(1.0)
    assert math.isnan(cohens_kappa(["x", "x"], ["x", "x"]))  # chance agreement is already perfect
    assert cohens_kappa(["x", None, "y"], ["x", "y", "y"]) == pytest.approx(1.0)  # the unlabelled item is dropped
    with pytest.raises(ValueError):
        cohens_kappa(["x"], ["x", "y"])


def test_krippendorff_alpha_two_observers_binary():
    # Krippendorff's two-observer example: coincidences o00 = 10, o01 = o10 = 4, o11 = 2; n0 = 14, n1 = 6,
    # n = 20: alpha = 1 - (n - 1) * (o01 + o10) / (2 * n0 * n1) = 1 - 19 * 8 / 168 = 0.0952
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert krippendorff_alpha_nominal(np.array([a, b]).T) == pytest.approx(1 - 19 * 8 / 168)


def test_krippendorff_alpha_with_missing_values_textbook_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units,
    # nominal alpha = 0.743
    observers = np.array([
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NA, NA, NA],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NA, 3],
        [NA, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NA],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NA],
    ])
    assert krippendorff_alpha_nominal(observers.T) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_edges():
    assert krippendorff_alpha_nominal([["a", "a"], ["b", "b"], ["a", "a"]]) == pytest.approx(1.0)
    assert math.isnan(krippendorff_alpha_nominal([["a", "a"], ["a", "a"]]))  # no variation at all
    assert math.isnan(krippendorff_alpha_nominal([["a", NA], [NA, "b"]]))  # no unit rated twice
