"""A column as sorted distinct values with counts: quantiles, means and tail fits in O(distinct values).

Token and image counts are integers with far fewer distinct values than rows, so one counting pass replaces
the sorts and partitions that quantiles and tail thresholds would otherwise need.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class ValueCounts:
    values: np.ndarray  # sorted distinct values (float64)
    counts: np.ndarray  # how often each occurs (int64)

    @cached_property
    def n(self) -> int:
        return int(self.counts.sum())

    @cached_property
    def cumulative(self) -> np.ndarray:
        """Values at or below each distinct value (computed once: quantiles and tail thresholds read it often)."""
        return np.cumsum(self.counts)

    def mean(self) -> float:
        return float(np.dot(self.values, self.counts) / self.n)

    def quantile(self, q: float) -> float:
        """The 'lower' quantile: the value at sorted position floor(q * (n - 1)), as numpy and quantile_disc."""
        rank = int(np.floor(q * (self.n - 1)))
        return float(self.values[np.searchsorted(self.cumulative, rank, side="right")])

    def positive(self) -> ValueCounts:
        keep = self.values > 0
        return ValueCounts(self.values[keep], self.counts[keep])


def value_counts(column: pa.ChunkedArray | pa.Array | np.ndarray) -> ValueCounts:
    """Distinct values and counts of a column, nulls and NaN left out (Arrow's hash count: no copy, no sort of
    the column, only of its distinct values)."""
    if isinstance(column, np.ndarray):
        column = pa.array(column)
    counted = pc.value_counts(pc.drop_null(column))
    values = counted.field("values").to_numpy(zero_copy_only=False).astype(float)
    counts = counted.field("counts").to_numpy(zero_copy_only=False).astype(np.int64)
    keep = ~np.isnan(values)
    order = np.argsort(values[keep])
    return ValueCounts(values[keep][order], counts[keep][order])
