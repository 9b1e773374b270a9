"""Small checks on values that come out of the store (None, NaN, text)."""

from __future__ import annotations

import pandas as pd


def has_error(error) -> bool:
    """True for an error message; None, NaN (a missing cell in a DataFrame) and "" are no error."""
    if error is None:
        return False
    if not isinstance(error, str) and pd.isna(error):
        return False
    return str(error) != ""
