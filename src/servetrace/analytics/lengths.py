"""Length distributions and the input/output relation, over columns (numpy and scipy)."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from scipy import stats

from servetrace.analytics.results import Correlation, Quantiles
from servetrace.analytics.values import ValueCounts, value_counts

LEVELS = (0.5, 0.9, 0.95, 0.99, 0.999)


def quantiles(column: str, values: np.ndarray | ValueCounts) -> Quantiles:
    """Quantiles by the 'lower' rule (DuckDB's quantile_disc); nulls are left out."""
    vc = values if isinstance(values, ValueCounts) else value_counts(values)
    if not vc.n:
        return Quantiles(column, 0, None, {f"p{_label(q)}": None for q in LEVELS})
    qs: dict[str, float | None] = {f"p{_label(q)}": vc.quantile(q) for q in LEVELS}
    return Quantiles(column, vc.n, vc.mean(), qs)


MAX_RANKED = 250_000  # Spearman on a fixed-seed sample (with replacement) beyond this (about +-0.002)


def correlation(table: pa.Table, x: str = "input_tokens", y: str = "output_tokens") -> Correlation:
    """Pearson over every request recording both columns (in DuckDB, streaming over the Arrow table) and
    Spearman over them or a fixed-seed sample of MAX_RANKED."""
    if x not in table.column_names or y not in table.column_names:
        return Correlation(None, None, f"the trace does not record both {x} and {y}")
    con = duckdb.connect()
    try:
        con.register("t", table.select([x, y]))
        n, pearson, constant = con.execute(
            f'SELECT count(*), corr("{x}", "{y}"), min("{x}") = max("{x}") OR min("{y}") = max("{y}") '
            f'FROM t WHERE "{x}" IS NOT NULL AND "{y}" IS NOT NULL'
        ).fetchall()[0]
    finally:
        con.close()
    if n < 3:
        return Correlation(None, None, "fewer than 3 requests")
    if constant:
        return Correlation(None, None, "a column is constant")
    both = table.select([x, y]).drop_null()
    if both.num_rows > MAX_RANKED:
        both = both.take(np.random.default_rng(0).integers(0, both.num_rows, MAX_RANKED))
    ranked = stats.spearmanr(both.column(x).to_numpy(), both.column(y).to_numpy()).statistic
    return Correlation(float(pearson), float(ranked))


def _label(q: float) -> str:
    return f"{q * 100:g}".replace(".", "_")
