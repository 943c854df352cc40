"""Trace store: canonical schema, format readers, ingest and the DuckDB/Parquet store."""

from servetrace.traces.formats import ReadOptions, known_formats
from servetrace.traces.ingest import IngestResult, ingest
from servetrace.traces.schema import COLUMNS, REJECT_SCHEMA, REQUEST_SCHEMA
from servetrace.traces.store import Store, TraceInfo, resolve_store

__all__ = [
    "COLUMNS",
    "REJECT_SCHEMA",
    "REQUEST_SCHEMA",
    "IngestResult",
    "ReadOptions",
    "Store",
    "TraceInfo",
    "ingest",
    "known_formats",
    "resolve_store",
]
