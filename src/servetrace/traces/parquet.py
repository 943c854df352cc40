"""Writing a trace's Parquet file with DuckDB, and reading back what it holds.

A stored file holds only the columns its trace has (`arrival_s` always). The store's `requests` view adds the
trace name, `request_id` (the row position), `status` 'ok' where a format has none, and typed NULLs for the
rest: DuckDB's Parquet writer spends about a tenth of a second per 10 M rows on every all-NULL column, and
a whole second on a few constant ones, which would make ingest twice as slow as the parse itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

from servetrace.traces.formats.base import sql_str
from servetrace.traces.schema import COLUMN_BY_NAME, STORED_COLUMNS

BAD = "_bad"  # optional boolean column of a fast path: a row that only the reader's exact path can report
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"


@dataclass(frozen=True)
class WriteStats:
    rows: int
    min_s: float | None
    max_s: float | None
    unsorted: int  # rows whose arrival is before their predecessor's
    duplicates: int  # rows whose arrival equals their predecessor's


def connect(**config: str | int) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection safe for COPY: DuckDB 2.0 can deadlock when a parallel COPY to Parquet fails
    (a cast or parse error mid-file) unless its asynchronous IO threads are limited."""
    return duckdb.connect(config={"async_threads": 1, **config})


class BadRows(Exception):
    """Rows without a valid arrival time were written (a fast path's `_bad` rows are written that way)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} rows without a valid time")
        self.count = count


def copy_query(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> WriteStats:
    """Write a query's rows to Parquet; raises BadRows when any row (a `_bad` one, say) has no arrival time.

    Bad rows are marked, not raised inside the copy: DuckDB 2.0 can deadlock when error() aborts a
    parallel COPY. The count of NULL arrivals comes free from the file's statistics."""
    columns = [d[0] for d in con.sql(sql).description]
    bad_arrival = f"CASE WHEN {BAD} THEN NULL ELSE arrival_s END AS arrival_s"
    keep = [bad_arrival if c == "arrival_s" and BAD in columns else f'"{c}"' for c in columns if c != BAD]
    con.execute(f"COPY (SELECT {', '.join(keep)} FROM ({sql})) TO {sql_str(path)} ({PARQUET_OPTIONS})")
    missing = _null_count(path, "arrival_s")
    if missing:
        raise BadRows(missing)
    return order_stats(path)


def _null_count(path: Path, column: str) -> int:
    meta = pq.read_metadata(path)
    index = meta.schema.names.index(column)
    total = 0
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(index).statistics
        if stats is None or not stats.has_null_count:  # no statistics: count by reading
            return int(pq.read_table(path, columns=[column]).column(0).null_count)
        total += stats.null_count
    return total


def order_stats(path: Path) -> WriteStats:
    a = pl.col("arrival_s")
    d = a.diff()
    row = (
        pl.scan_parquet(path)
        .select(
            pl.len().alias("n"),
            a.min().alias("lo"),
            a.max().alias("hi"),
            (d < 0).sum().alias("down"),
            (d == 0).sum().alias("same"),
        )
        .collect()
        .row(0, named=True)
    )
    return WriteStats(row["n"], row["lo"], row["hi"], int(row["down"] or 0), int(row["same"] or 0))


def stored_columns(path: Path) -> list[str]:
    """The canonical columns a stored file holds, checked against their canonical types."""
    schema = pq.read_schema(path)
    allowed = {c.name: c for c in STORED_COLUMNS}
    for field in schema:
        col = allowed.get(field.name)
        if col is None or str(field.type).replace("element", "item") != str(col.type).replace("element", "item"):
            raise ValueError(f"{path}: column {field.name} ({field.type}) is not a canonical stored column")
    if "arrival_s" not in schema.names:
        raise ValueError(f"{path}: no arrival_s column")
    return list(schema.names)


def select_canonical(trace: str, path: Path, present: list[str]) -> str:
    """SELECT giving every canonical column for one stored file."""
    parts = []
    for col in COLUMN_BY_NAME.values():
        if col.name == "trace":
            parts.append(f"{sql_str(trace)} AS trace")
        elif col.name == "request_id":
            parts.append("file_row_number AS request_id")
        elif col.name in present:
            parts.append(f'"{col.name}"')
        elif col.name == "status":
            parts.append("'ok' AS status")
        else:
            parts.append(f'CAST(NULL AS {col.duckdb}) AS "{col.name}"')
    return f"SELECT {', '.join(parts)} FROM read_parquet({sql_str(path)}, file_row_number=true)"
