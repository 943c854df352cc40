"""Length distributions and the input/output relation, over columns (numpy and scipy)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from servetrace.analytics.results import Correlation, Quantiles

LEVELS = (0.5, 0.9, 0.95, 0.99, 0.999)


def quantiles(column: str, values: np.ndarray) -> Quantiles:
    """Quantiles by the 'lower' rule (DuckDB's quantile_disc); nulls are left out."""
    v = values[~np.isnan(values)] if values.dtype.kind == "f" else values
    if not len(v):
        return Quantiles(column, 0, None, {f"p{_label(q)}": None for q in LEVELS})
    qs: dict[str, float | None] = {f"p{_label(q)}": float(np.quantile(v, q, method="lower")) for q in LEVELS}
    return Quantiles(column, len(v), float(np.mean(v)), qs)


MAX_RANKED = 1_000_000  # Spearman on a fixed-seed sample beyond this (about +-0.001); Pearson uses every row


def correlation(x: np.ndarray, y: np.ndarray) -> Correlation:
    if len(x) < 3:
        return Correlation(None, None, "fewer than 3 requests")
    if np.all(x == x[0]) or np.all(y == y[0]):
        return Correlation(None, None, "a column is constant")
    pearson = float(stats.pearsonr(x, y).statistic)
    if len(x) > MAX_RANKED:
        pick = np.random.default_rng(0).choice(len(x), MAX_RANKED, replace=False)
        x, y = x[pick], y[pick]
    return Correlation(pearson, float(stats.spearmanr(x, y).statistic))


def _label(q: float) -> str:
    return f"{q * 100:g}".replace(".", "_")
