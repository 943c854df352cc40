"""Writing the canonical Parquet file from a stream of Arrow batches.

Columns a trace does not have are written as typed all-null columns and constant ones (the trace name,
status `ok`) as one-entry dictionaries: both cost almost nothing in pyarrow's writer, where DuckDB's writer
spends about a second per ten of them on 10 M rows. Ordering statistics come from the same loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from servetrace.traces.schema import STORED_SCHEMA

BATCH_ROWS = 1 << 20
BAD = "_bad"  # optional boolean column: a row that only a reader's exact path can report
STRING_COLUMNS = [f.name for f in STORED_SCHEMA if f.type == pa.string()]
CONSTANTS = {"status": "ok"}


class BadRows(Exception):
    """A fast reading path met a row it cannot report with its line; the exact path must redo the file."""


@dataclass(frozen=True)
class WriteStats:
    rows: int
    min_s: float | None
    max_s: float | None
    unsorted: int  # rows whose arrival is before their predecessor's
    duplicates: int  # rows whose arrival equals their predecessor's


def write_stored(batches: Iterable[pa.RecordBatch], path: Path, trace: str | None) -> WriteStats:
    """Write batches (any subset of the stored columns, plus `_`-private ones) as the canonical file.

    `trace` fills the trace column when the batches lack it (None: they must have it)."""
    writer: pq.ParquetWriter | None = None
    tally = _Tally()
    fillers: dict[tuple[str, int], pa.Array] = {}  # null and constant columns, reused while batches keep their size
    try:
        for batch in batches:
            if BAD in batch.schema.names:
                if pc.any(batch.column(BAD)).as_py():
                    raise BadRows(str(path))
                batch = batch.drop_columns([BAD])
            if batch.num_rows == 0:
                continue
            out = conform(batch, trace, fillers)
            if writer is None:
                writer = _writer(path, out.schema)
            tally.add(out.column("arrival_s"))
            writer.write_batch(out)
        if writer is None:
            pq.write_table(STORED_SCHEMA.empty_table(), path, compression="zstd")
    finally:
        if writer is not None:
            writer.close()
    return tally.stats()


def copy_query(con: duckdb.DuckDBPyConnection, sql: str, path: Path, trace: str | None) -> WriteStats:
    """Write a DuckDB query's result as the canonical file; the result is closed even when writing stops early."""
    reader = con.sql(sql).to_arrow_reader(BATCH_ROWS)
    try:
        return write_stored(reader, path, trace)
    finally:
        reader.close()


def conform(
    batch: pa.RecordBatch, trace: str | None, fillers: dict[tuple[str, int], pa.Array] | None = None
) -> pa.RecordBatch:
    """Canonical column order and types; missing columns null, constants as dictionaries; private ones last."""
    n, names = batch.num_rows, batch.schema.names
    fillers = {} if fillers is None else fillers
    arrays, fields = [], []
    for field in STORED_SCHEMA:
        if field.name in names:
            arr = batch.column(field.name)
            arrays.append(arr if arr.type == field.type else arr.cast(field.type))
        else:
            if (field.name, n) not in fillers:
                fillers[field.name, n] = _filler(field, n, trace)
            arrays.append(fillers[field.name, n])
        fields.append(pa.field(field.name, arrays[-1].type))
    for name in names:
        if name.startswith("_"):
            arrays.append(batch.column(name))
            fields.append(batch.schema.field(name))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _filler(field: pa.Field, n: int, trace: str | None) -> pa.Array:
    """A column the batch lacks: the trace name or a constant as a one-entry dictionary, else typed nulls."""
    if field.name == "trace" and trace is None:
        raise ValueError("batches without a trace column need the trace name")
    value = trace if field.name == "trace" else CONSTANTS.get(field.name)
    if value is None:
        return pa.nulls(n, field.type)
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([value]))


def _writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    # store_schema=False: readers see plain strings, not the dictionaries used to write constants.
    return pq.ParquetWriter(
        path, schema, compression="zstd", compression_level=1, use_dictionary=STRING_COLUMNS, store_schema=False
    )


class _Tally:
    def __init__(self) -> None:
        self.rows = self.unsorted = self.duplicates = 0
        self.lo = self.hi = self.last = None  # type: float | None

    def add(self, arrival: pa.Array) -> None:
        a = arrival.to_numpy(zero_copy_only=False)
        if not len(a):
            return
        d = np.diff(a, prepend=a[0] if self.last is None else self.last)
        self.unsorted += int((d < 0).sum())
        self.duplicates += int((d == 0).sum()) - (1 if self.last is None else 0)
        lo, hi = float(a.min()), float(a.max())
        self.lo = lo if self.lo is None else min(self.lo, lo)
        self.hi = hi if self.hi is None else max(self.hi, hi)
        self.last, self.rows = float(a[-1]), self.rows + len(a)

    def stats(self) -> WriteStats:
        return WriteStats(self.rows, self.lo, self.hi, self.unsorted, self.duplicates)
