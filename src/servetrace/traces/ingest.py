"""Ingest: one source file into the store, streamed, validated, ordered and committed atomically."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import zstandard

from servetrace import __version__
from servetrace.errors import MalformedRowError, SourceError
from servetrace.traces.formats import Reader, ReadOptions, Staged, detect, get_reader
from servetrace.traces.formats.base import sql_str
from servetrace.traces.parquet import BadRows, WriteStats, connect, copy_query
from servetrace.traces.schema import ATTRIBUTE_COLUMNS, COLUMN_BY_NAME, REJECT_SCHEMA
from servetrace.traces.source import Source
from servetrace.traces.store import Store, TraceInfo, validate_name

MEMORY_LIMIT = "1GB"  # DuckDB spills to the staging folder beyond this


@dataclass(frozen=True)
class Reject:
    line: int | None
    reason: str
    raw: str | None


@dataclass
class IngestResult:
    trace: TraceInfo
    replaced: bool
    seconds: float
    first_rejects: list[Reject] = field(default_factory=list)


def default_name(path: str | Path) -> str:
    stem = Path(path).name.split(".")[0]
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in stem).strip("-.") or "trace"
    return cleaned[:100]


def ingest(
    store: Store,
    path: str | Path,
    name: str | None = None,
    fmt: str | None = None,
    options: ReadOptions | None = None,
    strict: bool = False,
    replace: bool = False,
    meta: dict[str, object] | None = None,
) -> IngestResult:
    """Read `path` (format detected unless `fmt`), store it as trace `name`, and return the catalog entry."""
    t0 = time.perf_counter()
    source = Source.open(path)
    reader = (get_reader(fmt) if fmt else detect(source))(options)
    name = validate_name(default_name(path) if name is None else name)
    replaced = store.check_writable(name, replace)
    with store.staging() as work, ThreadPoolExecutor(1) as pool:
        digest = pool.submit(source.sha256)
        source = source.without_globs(work)
        con = _connect(work)
        try:
            staged, data, origin_ns, stats, rejects = _read(con, reader, source, name, work)
            if strict and rejects.num_rows:
                first = rejects.slice(0, 1).to_pylist()[0]
                raise MalformedRowError(source.name, first["line"], first["reason"])
        finally:
            con.close()
        info = TraceInfo(
            name=name,
            format=reader.name,
            source_file=str(path),
            source_sha256=digest.result(),
            source_bytes=source.path.stat().st_size,
            rows=stats.rows,
            rejects=rejects.num_rows,
            unsorted_rows=stats.unsorted,
            duplicate_timestamps=stats.duplicates,
            span_s=stats.max_s,
            clock=staged.clock,
            start_time=_start_time(staged.clock, origin_ns) if stats.rows else None,
            origin_ns=origin_ns if stats.rows else None,
            timezone=staged.timezone,
            block_size=staged.block_size,
            data_path="",
            size_bytes=0,
            ingested_at=datetime.now(UTC).replace(tzinfo=None),
            servetrace_version=__version__,
            options=json.dumps(_options_dict(reader.options)),
            meta=json.dumps({**{k: v for k, v in staged.meta.items() if v is not None}, **(meta or {})}, default=str),
        )
        stored = store.commit(info, data, rejects, replace=replace)
    first = [Reject(r["line"], r["reason"], r["raw"]) for r in rejects.slice(0, 5).to_pylist()]
    return IngestResult(stored, replaced, time.perf_counter() - t0, first)


def _read(
    con: duckdb.DuckDBPyConnection, reader: Reader, source: Source, name: str, work: Path
) -> tuple[Staged, Path, int, WriteStats, pa.Table]:
    """Stage and write the file: the reader's fast path first, its exact path when the fast one cannot report
    a bad row with its line. Errors of the engines become one line naming the file."""
    try:
        staged = reader.stage(source, con, work)
        try:
            data, origin_ns, stats = _write(con, reader, staged, name, work)
        except (BadRows, duckdb.Error) as exc:  # a bad row, or a line the fast reader cannot parse
            if not staged.fallback:
                if isinstance(exc, BadRows):
                    raise SourceError(f"{source.name}: {exc}") from exc
                raise
            staged = reader.stage(source, con, work, exact=True)
            data, origin_ns, stats = _write(con, reader, staged, name, work)
        return staged, data, origin_ns, stats, _rejects(con, staged, name, source)
    except (duckdb.Error, pl.exceptions.PolarsError, OSError, UnicodeError, EOFError, zstandard.ZstdError) as exc:
        text = str(exc).strip().splitlines()
        why = text[0] if text else type(exc).__name__
        raise SourceError(f"{source.name}: ingest as {reader.name} failed: {why}") from exc


def _connect(work: Path) -> duckdb.DuckDBPyConnection:
    (work / "spill").mkdir(exist_ok=True)
    con = connect(temp_directory=str(work / "spill"), memory_limit=MEMORY_LIMIT)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _write(
    con: duckdb.DuckDBPyConnection, reader: Reader, staged: Staged, name: str, work: Path
) -> tuple[Path, int, WriteStats]:
    """Stream the staged rows into a Parquet file, ordered by arrival; returns (file, origin_ns, stats)."""
    origin_ns = _origin(con, staged)
    for statement in staged.reset:
        con.execute(statement)
    arrival = "arrival_s" if "arrival_s" in staged.columns else f"(_time_ns - {origin_ns}) / 1e9"
    cols = [f"{arrival} AS arrival_s"]
    # TRY_CAST: no expression may fail inside the COPY (a fast path's values are checked by its `_bad`).
    cols += [
        f'TRY_CAST("{c}" AS {COLUMN_BY_NAME[c].duckdb}) AS "{c}"' for c in ATTRIBUTE_COLUMNS if c in staged.columns
    ]
    cols += [f'"{c}"' for c in sorted(staged.columns) if c.startswith("_") and c != "_time_ns"]
    first = work / "pass1.parquet"
    stats = copy_query(con, f"SELECT {', '.join(cols)} FROM ({staged.relation})", first)
    out = first
    if stats.unsorted or (stats.min_s or 0.0) < 0:
        out, origin_ns = work / "sorted.parquet", origin_ns + round((stats.min_s or 0.0) * 1e9)
        ordered = copy_query(con, _sorted_sql(first, stats.min_s or 0.0), out)
        stats = WriteStats(stats.rows, 0.0, ordered.max_s, stats.unsorted, ordered.duplicates)
    return reader.finalize(con, out, work), origin_ns, stats


def _origin(con: duckdb.DuckDBPyConnection, staged: Staged) -> int:
    if "arrival_s" in staged.columns:
        origin = staged.meta.get("origin_ns")
        return int(origin) if isinstance(origin, int | float) else 0
    rows = con.execute(f"SELECT _time_ns FROM ({staged.relation}) LIMIT 1").fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _sorted_sql(path: Path, shift_s: float) -> str:
    """Order by arrival (ties keep source order), starting the clock at the earliest request."""
    return (
        f"SELECT * EXCLUDE (file_row_number) REPLACE (arrival_s - {shift_s!r} AS arrival_s) "
        f"FROM read_parquet({sql_str(path)}, file_row_number=true) ORDER BY arrival_s, file_row_number"
    )


def _rejects(con: duckdb.DuckDBPyConnection, staged: Staged, name: str, source: Source) -> pa.Table:
    if staged.rejects is None:
        return REJECT_SCHEMA.empty_table()
    rel = con.sql(
        f"SELECT {sql_str(name)} AS trace, {sql_str(source.name)} AS file, line, reason, raw FROM ({staged.rejects})"
    )
    return rel.to_arrow_table().cast(REJECT_SCHEMA)


def _start_time(clock: str, origin_ns: int) -> datetime | None:
    if clock == "relative":
        return None
    # Wall time in the trace's zone (for time_of_day clocks, on the placeholder date 1970-01-01).
    return datetime.fromtimestamp(origin_ns // 10**9, UTC).replace(tzinfo=None, microsecond=(origin_ns % 10**9) // 1000)


def _options_dict(options: ReadOptions) -> dict[str, object]:
    return {k: v for k, v in options.__dict__.items() if v not in (None, {}, [])}
