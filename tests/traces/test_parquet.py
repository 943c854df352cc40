from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from servetrace.traces.parquet import BadRows, copy_query, order_stats, select_canonical, stored_columns
from servetrace.traces.schema import REQUEST_SCHEMA


def test_order_stats_count_unsorted_and_repeated_arrivals(tmp_path: Path) -> None:
    f = tmp_path / "x.parquet"
    pq.write_table(pa.table({"arrival_s": [0.0, 2.0, 2.0, 1.0, 3.0]}), f)
    s = order_stats(f)
    assert (s.rows, s.min_s, s.max_s, s.unsorted, s.duplicates) == (5, 0.0, 3.0, 1, 1)


def test_bad_rows_are_counted_and_the_connection_stays_usable(tmp_path: Path) -> None:
    con = duckdb.connect()
    sql = "SELECT i::DOUBLE AS arrival_s, i IN (5, 1500000) AS _bad FROM range(3000000) t(i)"
    with pytest.raises(BadRows) as exc:
        copy_query(con, sql, tmp_path / "x.parquet")
    assert exc.value.count == 2
    assert con.execute("SELECT 42").fetchall() == [(42,)]
    stats = copy_query(con, "SELECT i::DOUBLE AS arrival_s, false AS _bad FROM range(10) t(i)", tmp_path / "y.parquet")
    assert stats.rows == 10 and pq.read_schema(tmp_path / "y.parquet").names == ["arrival_s"]


def test_stored_columns_are_checked(tmp_path: Path) -> None:
    f = tmp_path / "x.parquet"
    pq.write_table(pa.table({"arrival_s": [0.0], "hash_ids": [[1, 2]]}), f)
    assert stored_columns(f) == ["arrival_s", "hash_ids"]
    pq.write_table(pa.table({"arrival_s": [0.0], "input_tokens": ["x"]}), f)
    with pytest.raises(ValueError, match="input_tokens"):
        stored_columns(f)


def test_select_canonical_gives_every_column(tmp_path: Path) -> None:
    f = tmp_path / "x.parquet"
    pq.write_table(pa.table({"arrival_s": [0.0, 1.5], "input_tokens": [3, 4]}), f)
    rows = duckdb.sql(select_canonical("t", f, ["arrival_s", "input_tokens"])).to_arrow_table()
    assert rows.schema.names == REQUEST_SCHEMA.names
    assert rows.to_pylist()[1] | {} == {
        **dict.fromkeys(REQUEST_SCHEMA.names),
        "trace": "t",
        "request_id": 1,
        "arrival_s": 1.5,
        "status": "ok",
        "input_tokens": 4,
    }
