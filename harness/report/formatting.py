"""Number formatting shared by the HTML and Markdown writers.

Every function takes a figure that may be missing (`None`, NaN, infinite) and shows it as `-`: a figure
that cannot be computed is shown as absent, never as zero.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

MISSING = "-"


def is_number(value: Any) -> bool:
    """True for a finite int or float (bools are not figures)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def fixed(digits: int):
    """A formatter with a fixed number of decimals (tables whose columns line up)."""
    def show(value: Any) -> str:
        return f"{value:.{digits}f}" if is_number(value) else MISSING
    return show


def compact(value: Any) -> str:
    """A figure in running text (gate reasons, one-line summaries): at most 3 decimals, no trailing zeros."""
    if not is_number(value):
        return MISSING
    if abs(value) >= 1e6:
        return f"{value:.3g}"
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def significant(value: Any) -> str:
    """A figure that spans orders of magnitude (a KL divergence of 1e-5 or of 0.1): the compact form, or three
    significant digits for a small one (a KL of 1e-5 is not 0)."""
    if not is_number(value):
        return MISSING
    if value != 0 and abs(value) < 0.01:
        return f"{value:.3g}"
    return compact(value)


def significant_interval(ci: Any) -> str:
    return interval(ci, significant)


def compact_interval(ci: Any) -> str:
    return interval(ci, compact)


def score(value: Any) -> str:
    """Scores and other figures on a 0..1 or free scale: 3 decimals."""
    return f"{value:.3f}" if is_number(value) else MISSING


def signed(value: Any) -> str:
    """A difference between two figures: the sign is always shown."""
    return f"{value:+.3f}" if is_number(value) else MISSING


def pct(value: Any) -> str:
    """A rate in [0, 1] shown as a percentage."""
    return f"{value * 100:.1f}%" if is_number(value) else MISSING


def p_value(value: Any) -> str:
    # Very small p-values carry no extra meaning beyond "below 0.001".
    if not is_number(value):
        return MISSING
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def interval(ci: Any, one=score) -> str:
    """A [low, high] interval formatted with `one`; `-` when the interval is absent or incomplete."""
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or not all(is_number(x) for x in ci):
        return MISSING
    return f"[{one(ci[0])}, {one(ci[1])}]"


def with_interval(value: Any, ci: Any, one=score) -> str:
    """`0.410 [0.350, 0.470]`, or just the figure when there is no interval."""
    if not is_number(value):
        return MISSING
    bounds = interval(ci, one)
    return one(value) if bounds == MISSING else f"{one(value)} {bounds}"


def seconds(value: Any) -> str:
    # Sub-second timings read better in milliseconds; longer ones in seconds.
    if not is_number(value):
        return MISSING
    if abs(value) < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def rate(value: Any) -> str:
    """Tokens per second and other throughputs."""
    return f"{value:.1f}" if is_number(value) else MISSING


def count(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return MISSING if not is_number(value) else f"{value:,.0f}"
    return f"{value:,}"


def usd(value: Any) -> str:
    if not is_number(value):
        return MISSING
    if value == 0:
        return "$0"
    return f"${value:.4f}" if abs(value) < 0.01 else f"${value:,.2f}"


def pct_interval(ci: Any) -> str:
    return interval(ci, pct)


def signed_interval(ci: Any) -> str:
    return interval(ci, signed)


def rating_interval(ci: Any) -> str:
    return interval(ci, rate)


def pct_with_interval(value: Any, ci: Any) -> str:
    return with_interval(value, ci, pct)


def byte_size(value: Any) -> str:
    """Bytes in binary units: `512 B`, `3.4 KiB`, `12.0 MiB`, `1.50 GiB`."""
    if not is_number(value):
        return MISSING
    if value < 1024:
        return f"{value:.0f} B"
    for unit, size in (("KiB", 1024), ("MiB", 1024 ** 2), ("GiB", 1024 ** 3)):
        if value < size * 1024 or unit == "GiB":
            return f"{value / size:.2f} {unit}" if unit == "GiB" else f"{value / size:.1f} {unit}"
    return MISSING  # pragma: no cover - the loop always returns


def duration(value: Any) -> str:
    """Wall time: `5m 12.4s` above a minute."""
    if not is_number(value):
        return MISSING
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(value, 60)
    if minutes < 60:
        return f"{minutes:.0f}m {rest:.1f}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours:.0f}h {minutes:.0f}m"


def timestamp(value: Any) -> str:
    """ISO-8601 (`2026-11-23T10:15:00Z`) shown as `2026-11-23 10:15 UTC`; anything unparsable as given."""
    if not isinstance(value, str) or not value:
        return MISSING
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def bar_width(value: Any) -> float:
    """Width of a score bar in percent, clipped to [0, 100]; 0 when the figure is missing."""
    if not is_number(value):
        return 0.0
    return round(min(max(value, 0.0), 1.0) * 100, 1)


def timing(answer: dict) -> str:
    """`TTFT 120 ms · latency 1.50 s · 40 tokens · 110.0 tokens/s`, leaving out what was not measured
    (a failed request has a latency but no first token)."""
    parts = [
        ("TTFT ", answer.get("ttft_s"), seconds, ""),
        ("latency ", answer.get("latency_s"), seconds, ""),
        ("", answer.get("output_tokens"), count, " tokens"),
        ("", answer.get("tokens_per_s"), rate, " tokens/s"),
    ]
    return " · ".join(f"{before}{show(value)}{after}" for before, value, show, after in parts if is_number(value))


FILTERS = {
    "compact": compact, "score": score, "signed": signed, "pct": pct, "p_value": p_value, "rate": rate, "count": count,
    "usd": usd, "seconds": seconds, "duration": duration, "timestamp": timestamp,
    "interval": interval, "with_interval": with_interval, "pct_interval": pct_interval,
    "pct_with_interval": pct_with_interval, "signed_interval": signed_interval,
    "rating_interval": rating_interval, "significant": significant,
    "significant_interval": significant_interval,
    "bar_width": bar_width, "timing": timing,
}
