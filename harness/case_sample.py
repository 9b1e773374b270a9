"""A seeded stratified sample of a suite's cases: `--limit N` takes N cases spread over the tag groups in
proportion to their sizes, instead of the first N rows (which in a file sorted by topic are all one topic).

Pure functions over group labels, so the allocation can be checked by hand: 45 cases in groups of 15, 20 and 10
sampled down to 9 give 3, 4 and 2.
"""

from __future__ import annotations

import math
import random


def allocate(sizes: list[int], n: int) -> list[int]:
    """How many of `n` draws each group gets: proportional allocation by the largest-remainder (Hamilton)
    method, with at least one per group when `n` is at least the number of groups, and never more than a
    group holds. Ties go to the larger group, then to the earlier one."""
    total = sum(sizes)
    if n < 0 or any(size < 0 for size in sizes):
        raise ValueError("sizes and n must not be negative")
    if n >= total:
        return list(sizes)
    quotas = [n * size / total for size in sizes]
    counts = [math.floor(q) for q in quotas]
    if n >= sum(1 for size in sizes if size):
        counts = [max(c, 1) if size else 0 for c, size in zip(counts, sizes)]
    order = range(len(sizes))
    while sum(counts) > n:  # the minimum of one took draws from groups above their quota: give them back
        over = [g for g in order if counts[g] > 1]
        g = max(over, key=lambda g: (counts[g] - quotas[g], -sizes[g], g))
        counts[g] -= 1
    while sum(counts) < n:
        room = [g for g in order if counts[g] < sizes[g]]
        g = max(room, key=lambda g: (quotas[g] - counts[g], sizes[g], -g))
        counts[g] += 1
    return counts


def stratified_sample(groups: list[str], n: int, seed: int) -> list[int]:
    """Indices of `n` items whose group labels are `groups`: each group's share from `allocate` (groups in the
    order they first appear), the members drawn at random with `seed`; returned in the items' own order."""
    labels = list(dict.fromkeys(groups))
    members = {label: [i for i, g in enumerate(groups) if g == label] for label in labels}
    counts = allocate([len(members[label]) for label in labels], n)
    rng = random.Random(seed)
    chosen: list[int] = []
    for label, k in zip(labels, counts):
        chosen += rng.sample(members[label], k)
    return sorted(chosen)
