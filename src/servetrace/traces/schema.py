"""The canonical request schema: one row per request, the same for every trace format.

`request_id` is the request's position in the stored trace (sorted by arrival, ties in source order). The
store derives it from the row position rather than storing it, so it can never disagree with the order.
A stored file holds `arrival_s` and whichever other `STORED_COLUMNS` its trace has; the store's views and
exports give every column of `REQUEST_SCHEMA`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    duckdb: str
    nullable: bool
    doc: str


_I64, _F64, _STR = pa.int64(), pa.float64(), pa.string()

COLUMNS: tuple[Column, ...] = (
    Column("trace", _STR, "VARCHAR", False, "trace name in the store"),
    Column("request_id", _I64, "BIGINT", False, "0-based position in arrival order (ties keep source order)"),
    Column("arrival_s", _F64, "DOUBLE", False, "seconds since the trace's first request (non-decreasing)"),
    Column("session_id", _STR, "VARCHAR", True, "session or conversation id"),
    Column("turn", _I64, "BIGINT", True, "turn number within the session (as the trace counts it)"),
    Column("parent_id", _I64, "BIGINT", True, "request_id of the previous turn, when it is in the trace"),
    Column("client", _STR, "VARCHAR", True, "client, tenant or service"),
    Column("model", _STR, "VARCHAR", True, "model name"),
    Column("category", _STR, "VARCHAR", True, "request category, e.g. conversation / api, text / image"),
    Column("status", _STR, "VARCHAR", False, "ok or failed (as the trace marks it)"),
    Column("input_tokens", _I64, "BIGINT", False, "all context (prompt) tokens, every modality included"),
    Column("output_tokens", _I64, "BIGINT", False, "generated tokens"),
    Column("text_tokens", _I64, "BIGINT", True, "text part of input_tokens"),
    Column("image_count", _I64, "BIGINT", True, "images in the request (0 = none)"),
    Column("image_tokens", _I64, "BIGINT", True, "tokens the images take in the context"),
    Column("audio_count", _I64, "BIGINT", True, "audio clips in the request"),
    Column("audio_tokens", _I64, "BIGINT", True, "tokens the audio takes in the context"),
    Column("video_count", _I64, "BIGINT", True, "videos in the request"),
    Column("video_tokens", _I64, "BIGINT", True, "tokens the videos take in the context"),
    Column("reasoning_tokens", _I64, "BIGINT", True, "reasoning (thinking) tokens, part of output_tokens"),
    Column("hash_ids", pa.list_(_I64), "BIGINT[]", True, "prefix-cache block ids (block size in the catalog)"),
    Column("e2e_s", _F64, "DOUBLE", True, "end-to-end latency the trace recorded, seconds"),
)

COLUMN_BY_NAME = {c.name: c for c in COLUMNS}
REQUEST_SCHEMA = pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in COLUMNS])
# What a stored file may hold: the trace name and request_id come from the catalog and the row position.
STORED_COLUMNS: tuple[Column, ...] = tuple(c for c in COLUMNS if c.name not in ("trace", "request_id"))
# Columns a reader may fill; the rest are derived by ingest.
ATTRIBUTE_COLUMNS = tuple(c.name for c in STORED_COLUMNS if c.name != "arrival_s")
STATUSES = ("ok", "failed")

REJECT_COLUMNS: tuple[Column, ...] = (
    Column("trace", _STR, "VARCHAR", False, "trace name"),
    Column("file", _STR, "VARCHAR", False, "source file"),
    Column("line", _I64, "BIGINT", True, "1-based line (or row, for Parquet) in the source file"),
    Column("reason", _STR, "VARCHAR", False, "why the row was rejected, naming the field"),
    Column("raw", _STR, "VARCHAR", True, "the row's text, cut at 500 characters"),
)
REJECT_SCHEMA = pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in REJECT_COLUMNS])
