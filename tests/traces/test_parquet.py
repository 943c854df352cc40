from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from servetrace.traces.parquet import BadRows, copy_query, write_stored
from servetrace.traces.schema import STORED_SCHEMA


def test_missing_columns_are_typed_nulls_and_constants(tmp_path: Path) -> None:
    batch = pa.record_batch({"arrival_s": [0.0, 1.0, 1.0, 0.5], "input_tokens": [1, 2, 3, 4]})
    stats = write_stored([batch], tmp_path / "x.parquet", "t")
    table = pq.read_table(tmp_path / "x.parquet")
    assert table.schema.names == STORED_SCHEMA.names
    assert table.schema.field("trace").type == pa.string()
    assert table["trace"].to_pylist() == ["t"] * 4 and table["status"].to_pylist() == ["ok"] * 4
    assert table["hash_ids"].null_count == 4 and table["hash_ids"].type == pa.list_(pa.int64())
    assert (stats.rows, stats.min_s, stats.max_s, stats.unsorted, stats.duplicates) == (4, 0.0, 1.0, 1, 1)


def test_stats_span_batch_boundaries(tmp_path: Path) -> None:
    a = pa.record_batch({"arrival_s": [0.0, 2.0]})
    b = pa.record_batch({"arrival_s": [2.0, 1.0]})
    stats = write_stored([a, b], tmp_path / "x.parquet", "t")
    assert (stats.unsorted, stats.duplicates) == (1, 1)


def test_empty_input_writes_an_empty_canonical_file(tmp_path: Path) -> None:
    stats = write_stored([], tmp_path / "x.parquet", "t")
    assert stats.rows == 0 and pq.read_schema(tmp_path / "x.parquet").names == STORED_SCHEMA.names


def test_a_bad_row_stops_the_fast_path_and_the_connection_stays_usable(tmp_path: Path) -> None:
    con = duckdb.connect()
    sql = "SELECT i::DOUBLE AS arrival_s, i = 1500000 AS _bad FROM range(3000000) t(i)"
    with pytest.raises(BadRows):
        copy_query(con, sql, tmp_path / "x.parquet", "t")
    assert con.execute("SELECT 42").fetchall() == [(42,)]
