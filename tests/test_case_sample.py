"""The stratified sample behind `--limit N`: allocations worked out by hand, then the draw itself."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from harness.case_sample import allocate, stratified_sample


@pytest.mark.parametrize("sizes, n, expected", [
    # 45 cases in groups of 15/20/10, N=9: quotas 3, 4, 2 exactly.
    ([15, 20, 10], 9, [3, 4, 2]),
    # sbar-intake: 11 red-flag and 34 routine cases, N=10: quotas 2.444 and 7.556 -> floors 2 + 7, the one left
    # goes to the larger remainder (0.556).
    ([11, 34], 10, [2, 8]),
    # quotas 1.25 and 18.75 -> 1 + 18, the remainder 0.75 wins.
    ([2, 30], 20, [1, 19]),
    # A group of 1 among 101, N=5: its quota is 0.0495, yet N allows one per group; the other keeps 4 (quota 4.95).
    ([1, 100], 5, [1, 4]),
    # Three singletons and 97, N=5: one each forces 1+1+1+4 = 7; the two extra draws come back from the large group.
    ([1, 1, 1, 97], 5, [1, 1, 1, 2]),
    # N=3 is fewer than the 4 groups: no minimum; the largest remainders win (the big group's quota is 2.91).
    ([1, 1, 1, 97], 3, [0, 0, 0, 3]),
    # Equal remainders (1/3 each) and equal sizes: the earlier group gets the draw left over.
    ([5, 5, 5], 4, [2, 1, 1]),
    # N at or past the total: every case.
    ([3, 4], 7, [3, 4]),
    ([3, 4], 100, [3, 4]),
    ([4, 6], 0, [0, 0]),
])
def test_allocation_worked_out_by_hand(sizes, n, expected):
    assert allocate(sizes, n) == expected


def test_allocation_always_sums_to_n_stays_within_one_of_the_quota_and_covers_every_group_it_can():
    for sizes in itertools.product([1, 2, 3, 7, 12], repeat=3):
        total = sum(sizes)
        for n in range(0, total + 2):
            counts = allocate(list(sizes), n)
            assert sum(counts) == min(n, total)
            assert all(0 <= c <= s for c, s in zip(counts, sizes))
            if n >= len(sizes):
                assert all(c >= 1 for c in counts)
            elif n < total:
                # without the minimum of one, each group is within one draw of its exact quota
                assert all(abs(c - n * s / total) < 1 for c, s in zip(counts, sizes))


def test_the_sample_keeps_the_allocation_the_order_and_its_seed():
    groups = ["a"] * 15 + ["b"] * 20 + ["c"] * 10
    groups = [groups[i] for i in (list(range(0, 45, 2)) + list(range(1, 45, 2)))]  # interleaved, as in a real file
    picked = stratified_sample(groups, 9, seed=1234)
    assert len(picked) == 9 and picked == sorted(picked)
    assert Counter(groups[i] for i in picked) == {"a": 3, "b": 4, "c": 2}
    assert stratified_sample(groups, 9, seed=1234) == picked  # deterministic for a seed
    others = {tuple(stratified_sample(groups, 9, seed=s)) for s in range(10)}
    assert len(others) > 1  # and the seed matters
    assert stratified_sample(groups, 45, seed=1) == list(range(45))
    assert stratified_sample(groups, 100, seed=1) == list(range(45))


def test_negative_sizes_or_counts_are_refused():
    with pytest.raises(ValueError):
        allocate([3, -1], 2)
    with pytest.raises(ValueError):
        allocate([3, 1], -1)
