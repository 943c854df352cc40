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
    return json.loads(raw) if raw else None


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
        cols = ", ".join(f'"{c}"' for c in ATTRIBUTE_COLUMNS)
        return Staged(
            relation=f"SELECT arrival_s, {cols} FROM read_parquet({sql_str(source.path)}) ORDER BY request_id",
            columns={"arrival_s", *ATTRIBUTE_COLUMNS},
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
