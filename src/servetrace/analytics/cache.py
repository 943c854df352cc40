"""LRU stack distances of prefix-cache blocks, and hit ratios of LRU caches of every size in one pass.

A request reads its `hash_ids` blocks in order; an LRU cache of C blocks hits an access exactly when fewer
than C distinct blocks were read since the same block's previous access (its stack distance, Mattson et al.
1970). So one set of stack distances gives the hit-ratio curve for all cache sizes.

The distance of access i, whose block was last read at p, is the number of distinct blocks read in (p, i):
the accesses j in (p, i) whose block is not read again before i. With next[j] the next read of j's block,
    distance = (i - p - 1) - #{j > p : next[j] < i}
             = (i - p - 1) - (#{j : next[j] < i} - #{j <= p : next[j] < i}).
The last term is a two-dimensional dominance count, done offline over the dyadic blocks of the prefix
[0, p]: one sort per power of two, O(N log^2 N) in numpy in numpy, never a loop over accesses.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NEVER = -1  # the stack distance of a first access (a miss at every cache size)


def stack_distances(blocks: np.ndarray) -> np.ndarray:
    """The LRU stack distance of each access in `blocks` (ids in access order); NEVER for first accesses."""
    n = len(blocks)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(blocks, kind="stable")  # by block, then by position
    same = blocks[order[1:]] == blocks[order[:-1]]
    prev = np.full(n, NEVER, dtype=np.int64)
    nxt = np.full(n, n, dtype=np.int64)  # n: never read again
    prev[order[1:][same]] = order[:-1][same]
    nxt[order[:-1][same]] = order[1:][same]
    reused = np.flatnonzero(prev != NEVER)
    p, i = prev[reused], reused
    before_i = np.searchsorted(np.sort(nxt), i, side="left")  # #{j : next[j] < i}
    dist = np.full(n, NEVER, dtype=np.int64)
    dist[reused] = (i - p - 1) - (before_i - _dominance(nxt, p, i))
    return dist


def _dominance(nxt: np.ndarray, p: np.ndarray, i: np.ndarray) -> np.ndarray:
    """For each query (p, i): #{j <= p : nxt[j] < i}, over the dyadic blocks that tile [0, p]."""
    n = len(nxt)
    out = np.zeros(len(p), dtype=np.int64)
    m = p + 1  # prefix lengths
    j = np.arange(n, dtype=np.int64)
    stride = np.int64(n + 1)  # nxt values lie in [0, n]
    for k in range(int(n).bit_length()):
        take = (m >> k) & 1 == 1  # the prefix includes the level-k block number (m >> k) - 1
        if not take.any():
            continue
        keys = np.sort((j >> k) * stride + nxt)
        block = ((m[take] >> k) - 1) * stride
        out[take] += np.searchsorted(keys, block + i[take], side="left") - np.searchsorted(keys, block, side="left")
    return out


def lru_hit_ratios(distances: np.ndarray, capacities: np.ndarray) -> np.ndarray:
    """Share of accesses an LRU cache of each capacity (in blocks) hits."""
    if not len(distances):
        return np.zeros(len(capacities))
    reuse = np.sort(distances[distances != NEVER])
    return np.searchsorted(reuse, capacities, side="left") / len(distances)


def block_reads(hash_ids: pa.ListArray) -> np.ndarray:
    """Every request's blocks in request order, each block once per request (a request reads its prefix once)."""
    flat: np.ndarray = pc.list_flatten(hash_ids).to_numpy(zero_copy_only=False).astype(np.int64)
    owner = pc.list_parent_indices(hash_ids).to_numpy()
    order = np.lexsort((np.arange(len(flat)), flat, owner))  # by request, block, position
    dup = np.zeros(len(flat), dtype=bool)
    dup[order[1:]] = (owner[order[1:]] == owner[order[:-1]]) & (flat[order[1:]] == flat[order[:-1]])
    return flat[~dup]
