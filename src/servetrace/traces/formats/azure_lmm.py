"""Azure LMM (multimodal) inference trace 2025 (ModServe): `TIMESTAMP,NumImages,ContextTokens,GeneratedTokens`.

Timestamps are ISO-8601 with `Z` (`2024-10-15T12:00:00.269Z`); `NumImages` 0 means text-only;
`ContextTokens` counts text and image tokens together.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from servetrace.traces.formats import register
from servetrace.traces.formats.base import Reader, Staged, duck_csv
from servetrace.traces.source import Source

HEADER = "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens"
_EXPECTED = {
    "TIMESTAMP": "an ISO-8601 timestamp like 2024-10-15T12:00:00.269Z",
    "NumImages": "a non-negative integer",
    "ContextTokens": "a non-negative integer",
    "GeneratedTokens": "a non-negative integer",
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
        columns = {
            "TIMESTAMP": "TIMESTAMPTZ",
            "NumImages": "UBIGINT",
            "ContextTokens": "UBIGINT",
            "GeneratedTokens": "UBIGINT",
        }
        src, rejects, reset = duck_csv(source.path, columns, _EXPECTED, "azure_lmm")
        return Staged(
            relation=f"SELECT epoch_ns(TIMESTAMP) AS _time_ns, NumImages AS image_count, "
            f"ContextTokens AS input_tokens, GeneratedTokens AS output_tokens FROM {src}",
            columns={"image_count", "input_tokens", "output_tokens"},
            rejects=rejects,
            clock="absolute",
            timezone=self.options.timezone or "UTC",
            reset=reset,
        )
