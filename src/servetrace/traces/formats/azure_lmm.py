"""Azure LMM (multimodal) inference trace 2025 (ModServe): `TIMESTAMP,NumImages,ContextTokens,GeneratedTokens`.

Timestamps are ISO-8601 with `Z` (`2024-10-15T12:00:00.269Z`); `NumImages` 0 means text-only;
`ContextTokens` counts text and image tokens together. Fast path: DuckDB's typed CSV reader; a count that is
not a whole non-negative number sends the file to the exact path (polars over lines).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from servetrace.traces.formats import register
from servetrace.traces.formats.base import Reader, Staged, duck_csv, exact_csv, fast_counts, stage_frame
from servetrace.traces.source import Source

HEADER = "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens"
COUNTS = {"NumImages": "image_count", "ContextTokens": "input_tokens", "GeneratedTokens": "output_tokens"}
_EXPECTED = {
    "TIMESTAMP": "an ISO-8601 timestamp like 2024-10-15T12:00:00.269Z",
    **dict.fromkeys(COUNTS, "a non-negative integer"),
}


@register
class AzureLMM2025(Reader):
    name = "azure-lmm-2025"
    description = "Azure LMM multimodal trace 2025 (TIMESTAMP,NumImages,ContextTokens,GeneratedTokens)"

    @classmethod
    def sniff(cls, source: Source) -> bool:
        lines = source.head_lines(1)
        return bool(lines) and lines[0].strip() == HEADER

    def stage(self, source: Source, con: duckdb.DuckDBPyConnection, work: Path, exact: bool = False) -> Staged:
        kw = {"clock": "absolute", "timezone": self.options.timezone or "UTC"}
        if exact:
            fmt = "%Y-%m-%dT%H:%M:%S%.fZ"
            lf, reasons, cols = exact_csv(
                source, work, HEADER.split(","), ("TIMESTAMP", fmt, _EXPECTED["TIMESTAMP"]), COUNTS
            )
            return stage_frame(lf, reasons, cols, work, **kw)
        columns = {"TIMESTAMP": "TIMESTAMPTZ", **dict.fromkeys(COUNTS, "DOUBLE")}
        src, rejects, reset = duck_csv(source.path, columns, _EXPECTED, "azure_lmm")
        items, bad = fast_counts(COUNTS)
        return Staged(
            relation=f"SELECT epoch_ns(TIMESTAMP) AS _time_ns, {items}, ({bad}) AS _bad FROM {src}",
            columns={*COUNTS.values(), "_bad"},
            rejects=rejects,
            reset=reset,
            fallback=True,
            **kw,  # type: ignore[arg-type]
        )
