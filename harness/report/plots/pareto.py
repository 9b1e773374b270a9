"""The Pareto front of models on quality and one other figure (speed, where more is better; cost, where less is)."""

from __future__ import annotations

from collections.abc import Sequence

from ._common import finite


def pareto_front(points: Sequence[tuple[str, float | None, float | None]], *,
                 higher_x_better: bool = True) -> list[str]:
    """Ids of the points no other point dominates, from the highest quality to the best x.

    Each point is (id, quality, x); higher quality is better, and higher x when `higher_x_better` (tokens/s),
    lower x otherwise (cost). A point dominates another when it is at least as good on both figures and
    better on one. Points with a missing figure are not candidates; two identical points are both kept.
    """
    sign = 1.0 if higher_x_better else -1.0
    candidates = [(pid, q, sign * x) for pid, q, x in
                  ((pid, finite(q), finite(x)) for pid, q, x in points) if q is not None and x is not None]
    front = []
    for pid, quality, x in candidates:
        dominated = any(oq >= quality and ox >= x and (oq > quality or ox > x)
                        for _oid, oq, ox in candidates)
        if not dominated:
            front.append((pid, quality, x))
    front.sort(key=lambda p: (-p[1], -p[2]))
    return [pid for pid, _q, _x in front]
