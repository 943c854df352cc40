"""Synthetic prefix-cache block ids (`hash_ids`) with the trace's reuse.

Fitted per request: does its prompt start with blocks an earlier request had (`reuse_share`), what share of
its blocks are such leading shared ones (`shared_fraction`), and how many requests back the latest request
holding its first block is (`distance_requests`: temporal locality, which shapes the LRU hit-ratio curve).
A synthetic request with reuse copies the leading blocks of a request that far back (long enough to hold
them) and adds fresh ones; chains of copies are resolved by pointer jumping over all blocks at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from servetrace.generator.params import field, positive, probability
from servetrace.generator.tables import QuantileTable

CANDIDATES = 8


@dataclass(frozen=True)
class PrefixModel:
    reuse_share: float
    shared_fraction: QuantileTable  # shared leading blocks / the request's blocks, among reusing requests
    distance_requests: QuantileTable

    @classmethod
    def fit(cls, hash_ids: pa.ChunkedArray | pa.ListArray) -> Self | None:
        lists = hash_ids.combine_chunks() if isinstance(hash_ids, pa.ChunkedArray) else hash_ids
        if lists.null_count == len(lists) or not len(lists):
            return None
        lists = pc.fill_null(lists, pa.scalar([], type=lists.type))
        flat = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(np.int64)
        if not len(flat):
            return None
        owner = pc.list_parent_indices(lists).to_numpy()
        lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
        starts = np.cumsum(lengths) - lengths
        shared = _shared_prefix(flat, owner, starts, lengths)
        distance = _first_block_distance(flat, owner, starts, lengths)
        reuse = shared > 0
        if not reuse.any():
            return cls(0.0, QuantileTable([1.0, 1.0], integer=False), QuantileTable([1.0, 1.0]))
        return cls(
            float(reuse.mean()),
            QuantileTable.fit(shared[reuse] / lengths[reuse], 201, integer=False),
            QuantileTable.fit(distance[reuse & (distance > 0)] if (distance[reuse] > 0).any() else np.ones(1), 201),
        )

    def sample(self, blocks: np.ndarray, rng: np.random.Generator) -> pa.ListArray:
        """Block ids for requests in arrival order, `blocks[i]` ids for request i."""
        n = len(blocks)
        reuse = rng.uniform(size=n) < self.reuse_share
        k = np.where(reuse, np.maximum(np.rint(self.shared_fraction.sample(n, rng) * blocks), 1), 0).astype(np.int64)
        k = np.minimum(k, blocks)
        parent = self._parents(blocks, k, rng)
        reuse &= parent >= 0
        parent = np.where(reuse, parent, -1)
        k = np.where(reuse, np.minimum(k, blocks[np.maximum(parent, 0)]), 0)
        owner = np.repeat(np.arange(n), blocks)
        offsets = np.cumsum(blocks) - blocks
        position = np.arange(len(owner)) - offsets[owner]
        source = owner.copy()
        active = position < k[source]
        while active.any():  # follow copies back to the request that first held the block
            source[active] = parent[source[active]]
            active[active] = position[active] < k[source[active]]
        ids = offsets[source] + position  # a block's id: its first holder's position in the flat list
        return pa.ListArray.from_arrays(pa.array(np.append(offsets, len(owner)), pa.int32()), pa.array(ids))

    def _parents(self, blocks: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Of CANDIDATES draws of the distance, the first that lands on a request long enough to copy k blocks
        from (the trace's sharers hold the whole shared prefix); else the first draw, truncated."""
        n = len(blocks)
        d = np.maximum(self.distance_requests.sample(n * CANDIDATES, rng), 1).astype(np.int64).reshape(CANDIDATES, n)
        cand = np.arange(n)[None, :] - d
        fits = (cand >= 0) & (blocks[np.maximum(cand, 0)] >= k[None, :])
        pick = np.where(fits.any(axis=0), fits.argmax(axis=0), 0)
        return np.asarray(cand[pick, np.arange(n)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "reuse_share": self.reuse_share,
            "shared_fraction": self.shared_fraction.to_dict(),
            "distance_requests": self.distance_requests.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Any, where: str) -> Self:
        return cls(
            probability(d, "reuse_share", where),
            QuantileTable.from_dict(field(d, "shared_fraction", where), f"{where}.shared_fraction"),
            QuantileTable.from_dict(field(d, "distance_requests", where), f"{where}.distance_requests"),
        )


def blocks_for(input_tokens: np.ndarray, block_size: int) -> np.ndarray:
    """Full blocks of a prompt (a partial last block is not cached)."""
    return np.maximum(input_tokens // positive({"b": block_size}, "b", "block_size"), 0).astype(np.int64)


def _shared_prefix(flat: np.ndarray, owner: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Leading blocks of each request that an earlier request already had."""
    first_owner = np.full(len(flat), -1)
    order = np.lexsort((owner, flat))
    head = np.concatenate(([True], flat[order][1:] != flat[order][:-1]))
    group = np.cumsum(head) - 1
    first_owner[order] = owner[order][head][group]
    seen = first_owner < owner
    position = np.arange(len(flat)) - starts[owner]
    key = np.where(seen, np.iinfo(np.int64).max, position)
    shared = lengths.copy()
    nonempty = lengths > 0
    firsts = np.minimum.reduceat(key, starts[nonempty]) if len(flat) else np.zeros(0, dtype=np.int64)
    shared[nonempty] = np.minimum(firsts, lengths[nonempty])
    return shared


def _first_block_distance(flat: np.ndarray, owner: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Requests back to the latest earlier request holding each request's first block (0: none)."""
    order = np.lexsort((owner, flat))
    same = np.concatenate(([False], flat[order][1:] == flat[order][:-1]))
    prev_owner = np.full(len(flat), -1)
    prev_owner[order[same]] = owner[order][np.flatnonzero(same) - 1]
    out = np.zeros(len(lengths), dtype=np.int64)
    nonempty = lengths > 0
    first_prev = prev_owner[starts[nonempty]]
    requests = np.flatnonzero(nonempty)
    out[requests] = np.where(first_prev >= 0, requests - first_prev, 0)
    return out
