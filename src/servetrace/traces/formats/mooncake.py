"""Mooncake traces (JSON lines): `{"timestamp": ms since start, "input_length", "output_length", "hash_ids"}`.

One prefix-cache block id per 512 prompt tokens; timestamps may be coarse (many repeats). Fast path: DuckDB's
JSON reader; any malformed line or bad value sends the file to the exact path (polars over lines).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from servetrace.traces.formats import register
from servetrace.traces.formats.base import (
    Reader,
    Staged,
    bad_count,
    bad_time,
    duck_jsonl,
    nonneg_int,
    scan_lines,
    stage_frame,
    time_ns,
)
from servetrace.traces.formats.jsonl import first_keys, int_list, object_reason, raw_value
from servetrace.traces.source import Source

KEYS = {"timestamp", "input_length", "output_length", "hash_ids"}
BLOCK_TOKENS = 512
COLUMNS = ["input_tokens", "output_tokens", "hash_ids"]


@register
class Mooncake(Reader):
    name = "mooncake"
    description = "Mooncake JSONL (timestamp ms, input_length, output_length, hash_ids; 512-token blocks)"

    @classmethod
    def sniff(cls, source: Source) -> bool:
        lines = source.head_lines(1)
        keys = first_keys(lines[0]) if lines else set()
        return keys >= KEYS and "chat_id" not in keys

    def stage(self, source: Source, con: duckdb.DuckDBPyConnection, work: Path, exact: bool = False) -> Staged:
        kw = {"clock": "relative", "block_size": self.options.block_size or BLOCK_TOKENS}
        if exact:
            return self._exact(source, work, kw)
        src = duck_jsonl(
            source.path,
            {"timestamp": "DOUBLE", "input_length": "DOUBLE", "output_length": "DOUBLE", "hash_ids": "BIGINT[]"},
        )
        bad = " OR ".join(
            [
                bad_time("timestamp"),
                "timestamp >= 4e12",
                bad_count("input_length"),
                bad_count("output_length"),
                "hash_ids IS NULL",
            ]
        )
        return Staged(
            relation=f"""SELECT TRY_CAST(round(timestamp * 1e6) AS BIGINT) AS _time_ns, input_length AS input_tokens,
                output_length AS output_tokens, hash_ids, ({bad}) AS _bad FROM {src}""",
            columns={*COLUMNS, "_bad"},
            rejects=None,
            fallback=True,
            **kw,  # type: ignore[arg-type]
        )

    def _exact(self, source: Source, work: Path, kw: dict[str, object]) -> Staged:
        ts, ts_why = time_ns(raw_value("timestamp"), "timestamp", 10**6)
        inp, inp_why = nonneg_int(raw_value("input_length"), "input_length")
        out, out_why = nonneg_int(raw_value("output_length"), "output_length")
        hashes, hash_why = int_list("hash_ids")
        cols = [ts.alias("_time_ns"), inp.alias("input_tokens"), out.alias("output_tokens"), hashes.alias("hash_ids")]
        lf = scan_lines(source.plain_path(work)).with_columns(cols)
        return stage_frame(lf, [object_reason(), ts_why, inp_why, out_why, hash_why], COLUMNS, work, **kw)
