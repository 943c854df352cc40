"""Azure LLM inference traces: the 2023 release (Splitwise) and the 2024 week-long release (DynamoLLM).

Both are `TIMESTAMP,ContextTokens,GeneratedTokens`; 2023 timestamps are naive with 7 fractional digits
(`2023-11-16 18:17:03.9799600`), 2024 ones carry a UTC offset and sometimes no fraction
(`2024-05-10 00:00:00.009930+00:00`). Fast path: DuckDB's typed CSV reader (these files reach 27 M rows);
a count that is not a whole non-negative number sends the file to the exact path (polars over lines).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import duckdb

from servetrace.traces.formats import register
from servetrace.traces.formats.base import Reader, Staged, duck_csv, exact_csv, fast_counts, stage_frame
from servetrace.traces.source import Source

HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens"
_ZONED = re.compile(r"(Z|[+-]\d\d:?\d\d)$")
COUNTS = {"ContextTokens": "input_tokens", "GeneratedTokens": "output_tokens"}
_EXPECTED = {"TIMESTAMP": "a timestamp like 2023-11-16 18:17:03.97", **dict.fromkeys(COUNTS, "a non-negative integer")}


class _AzureLLM(Reader):
    zoned: ClassVar[bool]

    @classmethod
    def sniff(cls, source: Source) -> bool:
        lines = source.head_lines(3)
        if not lines or lines[0].strip() != HEADER:
            return False
        first = lines[1].split(",")[0].strip() if len(lines) > 1 else ""
        return bool(_ZONED.search(first)) == cls.zoned

    def stage(self, source: Source, con: duckdb.DuckDBPyConnection, work: Path, exact: bool = False) -> Staged:
        kw = {"clock": "absolute", "timezone": self.options.timezone or ("UTC" if self.zoned else None)}
        if exact:
            fmt = "%Y-%m-%d %H:%M:%S%.f%:z" if self.zoned else "%Y-%m-%d %H:%M:%S%.f"
            lf, reasons, cols = exact_csv(
                source, work, HEADER.split(","), ("TIMESTAMP", fmt, _EXPECTED["TIMESTAMP"]), COUNTS
            )
            return stage_frame(lf, reasons, cols, work, **kw)
        ts_type = "TIMESTAMPTZ" if self.zoned else "TIMESTAMP_NS"
        columns = {"TIMESTAMP": ts_type, **dict.fromkeys(COUNTS, "DOUBLE")}
        src, rejects, reset = duck_csv(source.path, columns, _EXPECTED, self.name.replace("-", "_"))
        items, bad = fast_counts(COUNTS)
        return Staged(
            relation=f"SELECT epoch_ns(TIMESTAMP) AS _time_ns, {items}, ({bad}) AS _bad FROM {src}",
            columns={*COUNTS.values(), "_bad"},
            rejects=rejects,
            reset=reset,
            fallback=True,
            **kw,  # type: ignore[arg-type]
        )


@register
class AzureLLM2023(_AzureLLM):
    name = "azure-llm-2023"
    description = "Azure LLM inference trace 2023 (TIMESTAMP,ContextTokens,GeneratedTokens; naive time)"
    zoned = False


@register
class AzureLLM2024(_AzureLLM):
    name = "azure-llm-2024"
    description = "Azure LLM inference trace 2024, week-long (same columns; timestamps with UTC offset)"
    zoned = True
