"""servetrace's own exported traces: Parquet with the canonical schema and the catalog entry in its metadata."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from servetrace.errors import SourceError
from servetrace.traces.formats import register
from servetrace.traces.formats.base import Reader, Staged, sql_str
from servetrace.traces.schema import ATTRIBUTE_COLUMNS, SCHEMA_VERSION
from servetrace.traces.source import Source

META_KEY = b"servetrace"


def export_metadata(entry: dict[str, object]) -> dict[bytes, bytes]:
    return {META_KEY: json.dumps({"schema_version": SCHEMA_VERSION, **entry}, default=str).encode()}


def read_metadata(path: Path) -> dict[str, object] | None:
    try:
        meta = pq.read_metadata(path).metadata or {}
    except (OSError, ValueError):
        return None
    raw = meta.get(META_KEY)
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@register
class Native(Reader):
    name = "servetrace"
    description = "servetrace's own exported trace (Parquet with the canonical schema)"

    @classmethod
    def sniff(cls, source: Source) -> bool:
        return source.is_parquet and source.compression is None and read_metadata(source.path) is not None

    def stage(self, source: Source, con: duckdb.DuckDBPyConnection, work: Path, exact: bool = False) -> Staged:
        meta = read_metadata(source.path)
        if meta is None:
            raise SourceError(f"{source.name}: not a servetrace export (no servetrace metadata)")
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise SourceError(f"{source.name}: schema_version {meta.get('schema_version')}, expected {SCHEMA_VERSION}")
        if meta.get("clock") not in ("absolute", "time_of_day", "relative"):
            raise SourceError(f"{source.name}: servetrace metadata has no valid 'clock' field")
        present = _non_null_columns(source.path)
        cols = "".join(f', "{c}"' for c in ATTRIBUTE_COLUMNS if c in present)
        return Staged(
            relation=f"SELECT arrival_s{cols} FROM read_parquet({sql_str(source.path)}) ORDER BY request_id",
            columns={"arrival_s", *(c for c in ATTRIBUTE_COLUMNS if c in present)},
            rejects=None,
            clock=meta["clock"],  # type: ignore[arg-type]
            timezone=self.options.timezone or meta.get("timezone"),  # type: ignore[arg-type]
            block_size=self.options.block_size or meta.get("block_size"),  # type: ignore[arg-type]
            meta={
                "origin_ns": meta.get("origin_ns"),
                "exported_from": meta.get("name"),
                "original_format": meta.get("original_format") or meta.get("format"),
            },
        )


def _non_null_columns(path: Path) -> set[str]:
    """Columns with at least one value (by the file's statistics; a column without statistics counts)."""
    meta = pq.read_metadata(path)
    nulls: dict[str, int] = {}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            col = group.column(c)
            name = col.path_in_schema.split(".")[0]
            stats = col.statistics
            # Leaf statistics of a list column count empty lists as nulls: always keep nested columns.
            known = stats is not None and stats.has_null_count and "." not in col.path_in_schema
            nulls[name] = nulls.get(name, 0) + (stats.null_count if known else -(10**18))
    return {name for name, n in nulls.items() if n < meta.num_rows}
