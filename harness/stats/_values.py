"""Small checks on values that come out of the store (None, NaN, text)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def has_error(error) -> bool:
    """True for an error message; None, NaN (a missing cell in a DataFrame) and "" are no error."""
    if error is None:
        return False
    if not isinstance(error, str) and pd.isna(error):
        return False
    return str(error) != ""


def with_keys(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Rows whose key columns all have a value: groupby leaves out the others, and so do we."""
    missing = frame[columns].isna().any(axis=1)
    return frame[~missing] if missing.any() else frame


def has_errors(errors) -> np.ndarray:
    """`has_error` of every entry of a column, at once."""
    errors = pd.Series(errors, dtype=object)
    return (~errors.isna() & (errors.astype(str) != "")).to_numpy(bool)


def wide_scores(scores: pd.DataFrame) -> tuple[pd.Index, pd.Index, np.ndarray]:
    """(cases sorted, models in order of appearance, cases x models mean score; NaN where none).

    A case counts only where some model has a finite score for it; several rows for one case and
    model are averaged, as `groupby(["case_id", "model"]).mean()` would.
    """
    scores = with_keys(scores, ["case_id", "model"])
    finite = scores[np.isfinite(pd.to_numeric(scores["score"], errors="coerce").to_numpy(float))]
    case_codes, cases = pd.factorize(finite["case_id"], sort=True)
    model_codes, models = pd.factorize(finite["model"])
    cell = case_codes.astype(np.int64) * len(models) + model_codes
    size = len(cases) * len(models)
    sums = np.bincount(cell, weights=finite["score"].to_numpy(float), minlength=size)
    counts = np.bincount(cell, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = (sums / counts).reshape(len(cases), len(models))
    return cases, models, matrix
