from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from servetrace.traces import REQUEST_SCHEMA, ingest
from servetrace.traces.store import export_trace
from tests.conftest import write
from tests.traces.formats.test_qwen import TEXT


def test_export_reingest_round_trips_exactly(store, tmp_path: Path) -> None:
    first = ingest(store, write(tmp_path / "qwen.jsonl", TEXT), name="q").trace
    a = export_trace(store, "q", tmp_path / "q.parquet")
    assert pq.read_schema(a).names == REQUEST_SCHEMA.names
    again = ingest(store, a, name="q2")
    assert again.trace.format == "servetrace"
    b = export_trace(store, "q2", tmp_path / "q2.parquet")
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.drop_columns(["trace"]).equals(tb.drop_columns(["trace"]))
    for field in ("rows", "clock", "start_time", "origin_ns", "timezone", "block_size", "span_s"):
        assert getattr(again.trace, field) == getattr(first, field), field
    assert again.trace.meta_dict()["original_format"] == "qwen"
