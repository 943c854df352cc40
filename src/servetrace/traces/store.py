"""The trace store: a folder holding Parquet files and a DuckDB catalog that any DuckDB user can open.

    <store>/catalog.duckdb                  tables `traces` (the catalog) and `rejects`; view `requests`
    <store>/traces/<name>/<version>/requests.parquet
    <store>/.staging/                       work in progress, never visible

A change is staged in `.staging`, moved under `traces/`, and made visible by one DuckDB transaction that
switches the catalog row; an interrupted change leaves the catalog as it was (orphans are swept later).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from servetrace.errors import InvalidNameError, QueryError, StoreError, TraceExistsError, TraceNotFoundError
from servetrace.traces.formats.base import sql_str
from servetrace.traces.parquet import connect, select_canonical, stored_columns
from servetrace.traces.schema import COLUMNS

DEFAULT_STORE = "servetrace-store"
STORE_ENV = "SERVETRACE_STORE"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
LOCK_WAIT_S = 30.0
ORPHAN_AGE_S = 3600.0

CATALOG_DDL = """
CREATE TABLE IF NOT EXISTS traces (
    name VARCHAR PRIMARY KEY,
    format VARCHAR NOT NULL,            -- reader that produced it
    source_file VARCHAR,                -- path as given at ingest
    source_sha256 VARCHAR,
    source_bytes BIGINT,
    rows BIGINT NOT NULL,
    rejects BIGINT NOT NULL,
    unsorted_rows BIGINT NOT NULL,      -- rows that arrived before their predecessor (sorted at ingest)
    duplicate_timestamps BIGINT NOT NULL,
    span_s DOUBLE,                      -- last arrival_s
    clock VARCHAR NOT NULL,             -- absolute | time_of_day (date unknown) | relative
    start_time TIMESTAMP_NS,            -- wall time of the first request in `timezone` (absolute, time_of_day)
    origin_ns BIGINT,                   -- first request's time in the source's own clock, ns
    timezone VARCHAR,                   -- IANA zone of start_time; NULL when the source does not say
    block_size BIGINT,                  -- tokens per hash_ids block
    data_path VARCHAR NOT NULL,         -- relative to the store
    size_bytes BIGINT NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    servetrace_version VARCHAR NOT NULL,
    options VARCHAR,                    -- JSON of the read options
    meta VARCHAR                        -- JSON of anything else (e.g. generator model and seed)
);
CREATE TABLE IF NOT EXISTS rejects (
    trace VARCHAR NOT NULL, file VARCHAR NOT NULL, line BIGINT, reason VARCHAR NOT NULL, raw VARCHAR
);
"""
ANALYSES_DDL = """
CREATE TABLE IF NOT EXISTS analyses (       -- results computed from a trace (e.g. characterize), as JSON
    trace VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    servetrace_version VARCHAR NOT NULL,
    result VARCHAR NOT NULL,                -- JSON document; query it with DuckDB's json functions
    PRIMARY KEY (trace, kind)
);
"""
CATALOG_DDL += ANALYSES_DDL


def resolve_store(path: str | Path | None) -> Path:
    """The store folder: the given path, else $SERVETRACE_STORE, else ./servetrace-store."""
    return Path(path or os.environ.get(STORE_ENV) or DEFAULT_STORE)


def validate_name(name: str) -> str:
    if not NAME_RE.match(name) or ".." in name:
        raise InvalidNameError(
            f"invalid trace name {name!r}: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class TraceInfo:
    """One catalog row."""

    name: str
    format: str
    source_file: str | None
    source_sha256: str | None
    source_bytes: int | None
    rows: int
    rejects: int
    unsorted_rows: int
    duplicate_timestamps: int
    span_s: float | None
    clock: str
    start_time: datetime | None
    origin_ns: int | None
    timezone: str | None
    block_size: int | None
    data_path: str
    size_bytes: int
    ingested_at: datetime
    servetrace_version: str
    options: str | None
    meta: str | None

    def meta_dict(self) -> dict[str, Any]:
        return json.loads(self.meta) if self.meta else {}


FIELDS = list(TraceInfo.__dataclass_fields__)


class Store:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = resolve_store(root).resolve()
        self.catalog_path = self.root / "catalog.duckdb"
        self.staging_root = self.root / ".staging"

    # ---- connections ----------------------------------------------------------------------------

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if read_only and not self.catalog_path.exists():
            raise StoreError(f"{self.root}: no trace store here (ingest a trace first, or set --store)")
        self.root.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                con = duckdb.connect(str(self.catalog_path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise StoreError(f"{self.catalog_path}: cannot open the catalog: {exc}") from exc
                time.sleep(0.2)
        if not read_only:
            con.execute(CATALOG_DDL)
        return con

    @contextlib.contextmanager
    def catalog(self, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._connect(read_only)
        try:
            yield con
        finally:
            con.close()

    # ---- reading --------------------------------------------------------------------------------

    def list(self) -> list[TraceInfo]:
        if not self.catalog_path.exists():
            return []
        with self.catalog() as con:
            rows = con.execute(f"SELECT {', '.join(FIELDS)} FROM traces ORDER BY name").fetchall()
        return [TraceInfo(*r) for r in rows]

    def get(self, name: str) -> TraceInfo:
        for info in self.list():
            if info.name == name:
                return info
        raise TraceNotFoundError(f"no trace named {name!r} in {self.root}")

    def data_file(self, info: TraceInfo) -> Path:
        return self.root / info.data_path

    def connect_views(self) -> duckdb.DuckDBPyConnection:
        """An in-memory connection with `traces`, `rejects` and `requests` as read-only views of the store."""
        con = duckdb.connect()
        if not self.catalog_path.exists():
            con.execute(CATALOG_DDL.replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE"))
            con.execute(f"CREATE TEMP VIEW requests AS {self._requests_sql([])}")
            return con
        try:
            con.execute(f"ATTACH {sql_str(self.catalog_path)} AS cat (READ_ONLY)")
        except duckdb.Error as exc:
            raise StoreError(f"{self.catalog_path}: cannot open the catalog: {exc}") from exc
        con.execute("CREATE TEMP VIEW traces AS SELECT * FROM cat.traces")
        con.execute("CREATE TEMP VIEW rejects AS SELECT * FROM cat.rejects")
        has_analyses = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'cat' AND table_name = 'analyses'"
        ).fetchall()[0][0]
        if has_analyses:
            con.execute("CREATE TEMP VIEW analyses AS SELECT * FROM cat.analyses")
        else:  # a catalog written before results were kept
            con.execute(ANALYSES_DDL.replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE"))
        rows = con.execute("SELECT name, data_path FROM cat.traces ORDER BY name").fetchall()
        con.execute(f"CREATE TEMP VIEW requests AS {self._requests_sql(rows)}")
        return con

    def read_columns(self, name: str, columns: Sequence[str]) -> pa.Table:
        """The columns among `columns` that trace `name` records, in request order (row i is request_id i).

        A column the trace does not record is left out, so a caller tells "not recorded" from "all NULL"."""
        path = self.data_file(self.get(name))
        stored = set(_columns_of(path))
        present = [c for c in columns if c in stored]
        if not present:
            return pa.table({})
        cols = ", ".join(f'"{c}"' for c in present)
        con = duckdb.connect()
        try:  # a scan without ORDER BY keeps file order (DuckDB's preserve_insertion_order, on by default)
            return con.sql(f"SELECT {cols} FROM read_parquet({sql_str(path)})").to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"{path}: cannot read trace {name}: {_first_line(exc)}") from exc
        finally:
            con.close()

    def query(self, sql: str) -> pa.Table:
        """Run read-only SQL over the store; a statement that writes is refused."""
        con = self.connect_views()
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryError(f"SQL error: {_first_line(exc)}") from exc
        if not statements:
            raise QueryError("no SQL statement given")
        for st in statements:
            kind = st.type.name
            if kind == "EXPLAIN" and re.match(r"\s*EXPLAIN\s+ANALY[SZ]E\b", st.query, re.IGNORECASE):
                kind = "EXPLAIN ANALYZE"  # it runs the statement it explains, a COPY too
            if kind not in ("SELECT", "EXPLAIN"):
                raise QueryError(f"the store is read-only here: {kind} statements are refused (only SELECT)")
        try:
            result: pa.Table | None = None
            for st in statements:
                result = con.sql(st.query).to_arrow_table()
            assert result is not None
            return result
        except duckdb.Error as exc:
            raise QueryError(f"SQL error: {_first_line(exc)}") from exc
        finally:
            con.close()

    # ---- writing --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A private work folder inside the store, removed on any exit (Ctrl-C included)."""
        self.staging_root.mkdir(parents=True, exist_ok=True)
        self._sweep_staging()
        work = self.staging_root / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        work.mkdir()
        try:
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def check_writable(self, name: str, replace: bool) -> bool:
        """Whether a trace of that name exists; refused unless it may be replaced."""
        validate_name(name)
        names = [t.name for t in self.list()]
        exists = name in names
        clash = [n for n in names if n.lower() == name.lower() and n != name]
        if clash:
            raise InvalidNameError(f"trace name {name!r} differs from the stored {clash[0]!r} only in case")
        if exists and not replace:
            raise TraceExistsError(f"a trace named {name!r} is already stored; use --replace to replace it")
        return exists

    def commit(self, info: TraceInfo, data: Path, rejects: pa.Table, replace: bool) -> TraceInfo:
        """Move a staged data file into place and switch the catalog to it in one transaction."""
        try:
            stored_columns(data)
        except ValueError as exc:
            raise StoreError(f"internal error: {exc}") from exc
        version = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        final_dir = self.root / "traces" / info.name / version
        final_dir.mkdir(parents=True)
        final = final_dir / "requests.parquet"
        os.replace(data, final)
        entry = {
            **info.__dict__,
            "data_path": str(final.relative_to(self.root)),
            "size_bytes": final.stat().st_size,
        }
        try:
            with self.catalog(read_only=False) as con:
                con.execute("BEGIN TRANSACTION")
                old = con.execute("SELECT data_path FROM traces WHERE name = ?", [info.name]).fetchall()
                if old and not replace:
                    raise TraceExistsError(
                        f"a trace named {info.name!r} is already stored; use --replace to replace it"
                    )
                con.execute("DELETE FROM traces WHERE name = ?", [info.name])
                con.execute("DELETE FROM rejects WHERE trace = ?", [info.name])
                con.execute("DELETE FROM analyses WHERE trace = ?", [info.name])  # they described the old data
                con.execute(
                    f"INSERT INTO traces ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})",
                    [entry[f] for f in FIELDS],
                )
                if rejects.num_rows:
                    con.register("_new_rejects", rejects)
                    con.execute("INSERT INTO rejects SELECT * FROM _new_rejects")
                    con.unregister("_new_rejects")
                self._refresh_view(con)
                con.execute("COMMIT")
        except BaseException:
            shutil.rmtree(final_dir, ignore_errors=True)
            raise
        if old:
            shutil.rmtree((self.root / old[0][0]).parent, ignore_errors=True)
        self._sweep_versions(info.name, keep=final_dir)
        return TraceInfo(**entry)

    def save_analysis(self, trace: str, kind: str, result_json: str) -> None:
        """Keep a result computed from a trace (replacing the previous one of that kind)."""
        from servetrace import __version__

        self.get(trace)
        with self.catalog(read_only=False) as con:
            con.execute(
                "INSERT OR REPLACE INTO analyses VALUES (?, ?, now()::TIMESTAMP, ?, ?)",
                [trace, kind, __version__, result_json],
            )

    def remove(self, name: str) -> None:
        self.get(name)
        with self.catalog(read_only=False) as con:
            con.execute("BEGIN TRANSACTION")
            con.execute("DELETE FROM traces WHERE name = ?", [name])
            con.execute("DELETE FROM rejects WHERE trace = ?", [name])
            con.execute("DELETE FROM analyses WHERE trace = ?", [name])
            self._refresh_view(con)
            con.execute("COMMIT")
        shutil.rmtree(self.root / "traces" / name, ignore_errors=True)

    def _refresh_view(self, con: duckdb.DuckDBPyConnection) -> None:
        """The `requests` view kept in the catalog file, for users who open it with plain DuckDB."""
        rows = con.execute("SELECT name, data_path FROM traces ORDER BY name").fetchall()
        con.execute(f"CREATE OR REPLACE VIEW requests AS {self._requests_sql(rows, skip_missing=True)}")

    def _requests_sql(self, traces: Sequence[tuple[str, str]], skip_missing: bool = False) -> str:
        """Every canonical column for every trace (one SELECT per file, as each holds its own columns)."""
        if skip_missing:
            traces = [(name, rel) for name, rel in traces if (self.root / rel).is_file()]
        if not traces:
            typed = ", ".join(f'CAST(NULL AS {c.duckdb}) AS "{c.name}"' for c in COLUMNS)
            return f"SELECT {typed} WHERE false"
        parts = [select_canonical(name, self.root / rel, _columns_of(self.root / rel)) for name, rel in traces]
        return " UNION ALL ".join(parts)

    def _sweep_versions(self, name: str, keep: Path) -> None:
        """Remove versions a killed commit left behind (old enough not to be another ingest's, in flight)."""
        for d in (self.root / "traces" / name).iterdir():
            if d != keep and time.time() - d.stat().st_mtime > ORPHAN_AGE_S:
                shutil.rmtree(d, ignore_errors=True)

    def _sweep_staging(self) -> None:
        """Remove work folders of processes that are gone (killed mid-ingest)."""
        for d in self.staging_root.iterdir():
            pid = d.name.split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(d, ignore_errors=True)


def _columns_of(path: Path) -> list[str]:
    try:
        return list(pq.read_schema(path).names)
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(
            f"{path}: a stored trace's data file is missing or unreadable ({exc}); remove the trace with servetrace rm"
        ) from exc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def export_trace(store: Store, name: str, out: Path) -> Path:
    """Write a trace with every canonical column and its catalog entry as metadata (re-ingests exactly)."""
    from servetrace.traces.formats.native import META_KEY, export_metadata

    info = store.get(name)
    entry = {k: v for k, v in info.__dict__.items() if k not in ("data_path", "size_bytes")}
    meta = export_metadata({**entry, "original_format": info.meta_dict().get("original_format") or info.format})
    data = store.data_file(info)
    rows = select_canonical(info.name, data, _columns_of(data))
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    con = connect()
    try:
        con.execute(
            f"COPY ({rows} ORDER BY request_id) TO {sql_str(tmp)} "
            f"(FORMAT parquet, KV_METADATA {{servetrace: {sql_str(meta[META_KEY].decode())}}})"
        )
        os.replace(tmp, out)
    except (duckdb.Error, OSError) as exc:
        raise StoreError(f"cannot export {name!r} to {out}: {_first_line(exc)}") from exc
    finally:
        con.close()
        tmp.unlink(missing_ok=True)
    return out
