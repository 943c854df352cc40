from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servetrace.analytics.cache import NEVER, lru_hit_ratios, stack_distances


def simulate_lru(reads: list[int], capacity: int) -> float:
    """A plain LRU cache, one read at a time: the reference the one-pass curve must match."""
    cache: OrderedDict[int, None] = OrderedDict()
    hits = 0
    for block in reads:
        if block in cache:
            hits += 1
            cache.move_to_end(block)
        else:
            cache[block] = None
            if len(cache) > capacity:
                cache.popitem(last=False)
    return hits / len(reads)


def test_stack_distances_of_a_known_sequence() -> None:
    # a b c a b b d a: a's second read saw b, c (2); b saw c, a (2); b again 0; a's last saw b, d (2)
    reads = np.array([1, 2, 3, 1, 2, 2, 4, 1])
    assert stack_distances(reads).tolist() == [NEVER, NEVER, NEVER, 2, 2, 0, NEVER, 2]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=300))
def test_one_pass_curve_matches_an_lru_simulation(reads: list[int]) -> None:
    capacities = np.array([1, 2, 3, 5, 8, 16, 64])
    got = lru_hit_ratios(stack_distances(np.array(reads)), capacities)
    assert got == pytest.approx([simulate_lru(reads, int(c)) for c in capacities])


def test_large_cache_reaches_the_unbounded_ratio_and_empty_input_is_empty() -> None:
    reads = np.random.default_rng(3).zipf(1.5, 50_000)
    unbounded = 1 - np.unique(reads).size / len(reads)
    assert lru_hit_ratios(stack_distances(reads), np.array([len(reads)]))[0] == pytest.approx(unbounded)
    assert stack_distances(np.zeros(0, dtype=np.int64)).size == 0
