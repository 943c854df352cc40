from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from servetrace.analytics.values import value_counts


@pytest.mark.parametrize(
    "x",
    [
        np.random.default_rng(0).integers(0, 5_000, 10_001),
        np.random.default_rng(1).integers(-(2**40), 2**40, 999),
        np.random.default_rng(2).lognormal(3, 2, 5_000),  # floats
        np.array([7]),
    ],
)
def test_lower_quantiles_and_mean_match_numpy(x: np.ndarray) -> None:
    vc = value_counts(x)
    for q in (0.0, 0.5, 0.9, 0.999, 1.0):
        assert vc.quantile(q) == np.quantile(x, q, method="lower")
    assert vc.mean() == pytest.approx(x.mean()) and vc.n == len(x)


def test_nulls_and_nans_are_left_out() -> None:
    vc = value_counts(pa.chunked_array([[3, None, 1], [3]]))
    assert vc.values.tolist() == [1.0, 3.0] and vc.counts.tolist() == [1, 2]
    assert value_counts(np.array([np.nan, 2.0])).n == 1 and value_counts(np.zeros(0)).n == 0
