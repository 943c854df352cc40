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

from servetrace import __version__
from servetrace.errors import MalformedRowError, SourceError
from servetrace.traces.formats import Reader, ReadOptions, Staged, detect, get_reader
from servetrace.traces.formats.base import sql_str
from servetrace.traces.schema import REJECT_SCHEMA, STORED_COLUMNS, conform_sql
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
    store.check_writable(name, replace)
    replaced = store.exists(name)
    with store.staging() as work, ThreadPoolExecutor(1) as pool:
        digest = pool.submit(source.sha256)
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
            span_s=stats.span_s,
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
) -> tuple[Staged, Path, int, OrderStats, pa.Table]:
    """Stage, write and order the file; errors of the engines become one line naming the file."""
    try:
        staged = reader.stage(source, con, work)
        data, origin_ns, stats = _write(con, reader, staged, name, work)
        return staged, data, origin_ns, stats, _rejects(con, staged, name, source)
    except (duckdb.Error, pl.exceptions.PolarsError, OSError, UnicodeError) as exc:
        text = str(exc).strip().splitlines()
        why = text[0] if text else type(exc).__name__
        raise SourceError(f"{source.name}: cannot read as {reader.name}: {why}") from exc


@dataclass(frozen=True)
class OrderStats:
    rows: int
    min_s: float | None
    span_s: float | None
    unsorted: int
    duplicates: int


def _connect(work: Path) -> duckdb.DuckDBPyConnection:
    (work / "spill").mkdir()
    con = duckdb.connect(config={"temp_directory": str(work / "spill"), "memory_limit": MEMORY_LIMIT})
    con.execute("SET TimeZone = 'UTC'")
    return con


def _write(
    con: duckdb.DuckDBPyConnection, reader: Reader, staged: Staged, name: str, work: Path
) -> tuple[Path, int, OrderStats]:
    """Stream the staged rows into a canonical Parquet file, ordered by arrival; returns (file, origin_ns, stats)."""
    origin_ns = _origin(con, staged)
    for statement in staged.reset:
        con.execute(statement)
    arrival = "arrival_s" if "arrival_s" in staged.columns else f"(_time_ns - {origin_ns}) / 1e9"
    private = [c for c in sorted(staged.columns) if c.startswith("_")]
    extra = "".join(f', "{c}"' for c in private)
    first = work / "pass1.parquet"
    con.execute(
        f"COPY (SELECT {sql_str(name)} AS trace, {arrival} AS arrival_s, {conform_sql(staged.columns)}{extra} "
        f"FROM ({staged.relation})) TO {sql_str(first)} (FORMAT parquet)"
    )
    stats = _order_stats(first)
    out = first
    if stats.unsorted or (stats.min_s or 0.0) < 0:
        out = _sort(con, first, stats.min_s or 0.0, work)
        origin_ns += round((stats.min_s or 0.0) * 1e9)
        sorted_stats = _order_stats(out)
        stats = OrderStats(stats.rows, 0.0, sorted_stats.span_s, stats.unsorted, sorted_stats.duplicates)
    out = reader.finalize(con, out, work)
    return out, origin_ns, stats


def _origin(con: duckdb.DuckDBPyConnection, staged: Staged) -> int:
    if "arrival_s" in staged.columns:
        origin = staged.meta.get("origin_ns")
        return int(origin) if isinstance(origin, int | float) else 0
    row = con.execute(f"SELECT _time_ns FROM ({staged.relation}) LIMIT 1").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _order_stats(path: Path) -> OrderStats:
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
    return OrderStats(row["n"], row["lo"], row["hi"], int(row["down"] or 0), int(row["same"] or 0))


def _sort(con: duckdb.DuckDBPyConnection, path: Path, shift_s: float, work: Path) -> Path:
    """Order by arrival (ties keep source order) and start the clock at the earliest request."""
    out = work / "sorted.parquet"
    cols = ", ".join(
        f"arrival_s - {shift_s!r} AS arrival_s" if c.name == "arrival_s" else f'"{c.name}"' for c in STORED_COLUMNS
    )
    private = [c for c in pl.scan_parquet(path).collect_schema().names() if c.startswith("_")]
    extra = "".join(f', "{c}"' for c in private)
    con.execute(
        f"COPY (SELECT {cols}{extra} FROM read_parquet({sql_str(path)}, file_row_number=true) "
        f"ORDER BY arrival_s, file_row_number) TO {sql_str(out)} (FORMAT parquet)"
    )
    return out


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
