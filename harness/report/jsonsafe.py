"""Turn a results dict into strict JSON: NaN and infinities become null, numpy values plain numbers.

The statistics produce NaN where a figure cannot be computed; results.json promises `null` there, and
Python's json module would otherwise write the invalid token `NaN`.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import PurePath
from typing import Any


def json_safe(value: Any, where: str = "results") -> Any:
    """A copy of `value` that `json.dumps(..., allow_nan=False)` accepts."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): json_safe(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    # numpy scalars and arrays (and pandas values built on them) without importing numpy here.
    if hasattr(value, "tolist"):
        return json_safe(value.tolist(), where)
    if hasattr(value, "item"):
        return json_safe(value.item(), where)
    raise TypeError(f"{where}: a {type(value).__name__} cannot be written to results.json")


def dumps(results: dict) -> str:
    """results.json text: pretty, UTF-8 characters kept, ending with a newline."""
    return json.dumps(json_safe(results), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
