"""The building blocks of the results' types: a strict model, a figure that is null rather than NaN, an interval."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _finite_or_none(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


# A figure: a finite number, or null when it cannot be computed (NaN and infinities read as null).
Figure = Annotated[float | None, BeforeValidator(_finite_or_none)]
Interval = list[float] | None


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
