"""BurstGPT (v1.0 to v1.2): Azure OpenAI GPT usage logs.

`Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`; newer files add `Session ID` and
`Elapsed time` after `Timestamp`. `Timestamp` is seconds since 0:00 of the first day in local time (the
date is not given), `Log Type` is `Conversation log` or `API log`, and `Response tokens` 0 marks a failure.

The fast path is DuckDB's typed CSV reader; a negative or missing time, which only a check after parsing
catches, sends the file to the exact path (polars over lines) so that its line can be named.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from servetrace.errors import SourceError
from servetrace.traces.formats import register
from servetrace.traces.formats.base import (
    Reader,
    Staged,
    bad_count,
    duck_csv,
    nonneg_float,
    nonneg_int,
    scan_lines,
    split_fields,
    stage_frame,
    time_ns,
)
from servetrace.traces.source import Source

V10 = ["Timestamp", "Model", "Request tokens", "Response tokens", "Total tokens", "Log Type"]
V11 = ["Timestamp", "Session ID", "Elapsed time", *V10[1:]]
_TYPES = {"Timestamp": "DECIMAL(20,9)", "Elapsed time": "DECIMAL(20,9)", "Request tokens": "DOUBLE",
          "Response tokens": "DOUBLE"}  # fmt: skip
_EXPECTED = {"Timestamp": "a non-negative number", "Elapsed time": "a non-negative number",
             "Request tokens": "a non-negative integer", "Response tokens": "a non-negative integer"}  # fmt: skip


@register
class BurstGPT(Reader):
    name = "burstgpt"
    description = "BurstGPT v1.0-v1.2 (Timestamp,[Session ID,Elapsed time,]Model,Request tokens,...,Log Type)"

    @classmethod
    def sniff(cls, source: Source) -> bool:
        return _header(source) is not None

    def stage(self, source: Source, con: duckdb.DuckDBPyConnection, work: Path, exact: bool = False) -> Staged:
        names = _header(source)
        if names is None:
            raise SourceError(f"{source.name}: line 1: expected a BurstGPT header ({','.join(V11)})")
        return self._exact(source, names, work) if exact else self._fast(source, names)

    def _fast(self, source: Source, names: list[str]) -> Staged:
        src, rejects, reset = duck_csv(source.path, {n: _TYPES.get(n, "VARCHAR") for n in names}, _EXPECTED, "burst")
        log = 'trim("Log Type")'
        cols = [
            'TRY_CAST("Timestamp" * 1000000000 AS BIGINT) AS _time_ns',
            'trim("Model") AS model',
            '"Request tokens" AS input_tokens',
            '"Response tokens" AS output_tokens',
            """CASE WHEN "Response tokens" = 0 THEN 'failed' ELSE 'ok' END AS status""",
            f"""CASE WHEN starts_with({log}, 'Conversation') THEN 'conversation'
                     WHEN starts_with({log}, 'API') THEN 'api' ELSE lower({log}) END AS category""",
        ]
        # Counts are read as DOUBLE and checked here: DuckDB's integer types round 1.5 to 2.
        bad = ['"Timestamp" IS NULL', '"Timestamp" < 0', '"Timestamp" >= 4e9']
        bad += [bad_count("Request tokens"), bad_count("Response tokens")]
        if "Session ID" in names:
            cols += ['trim("Session ID") AS session_id', '"Elapsed time" AS e2e_s']
            bad += ['"Elapsed time" IS NULL', '"Elapsed time" < 0']
        cols.append(f"({' OR '.join(bad)}) AS _bad")
        names_out = {c.rsplit(" AS ", 1)[1] for c in cols} - {"_time_ns"}
        return Staged(
            relation=f"SELECT {', '.join(cols)} FROM {src}",
            columns=names_out,
            rejects=rejects,
            clock="time_of_day",
            timezone=self.options.timezone,
            reset=reset,
            fallback=True,
        )

    def _exact(self, source: Source, names: list[str], work: Path) -> Staged:
        lf, count_reason = split_fields(scan_lines(source.plain_path(work)).filter(pl.col("_line") > 1), names)
        ts, ts_why = time_ns(pl.col("Timestamp"), "Timestamp", 10**9)
        inp, inp_why = nonneg_int(pl.col("Request tokens"), "Request tokens")
        out, out_why = nonneg_int(pl.col("Response tokens"), "Response tokens")
        log = pl.col("Log Type").str.strip_chars()
        category = (
            pl.when(log.str.starts_with("Conversation"))
            .then(pl.lit("conversation"))
            .when(log.str.starts_with("API"))
            .then(pl.lit("api"))
            .otherwise(log.str.to_lowercase())
        )
        reasons = [count_reason, ts_why, inp_why, out_why]
        cols = [
            ts.alias("_time_ns"),
            pl.col("Model").str.strip_chars().alias("model"),
            inp.alias("input_tokens"),
            out.alias("output_tokens"),
            pl.when(out == 0).then(pl.lit("failed")).otherwise(pl.lit("ok")).alias("status"),
            category.alias("category"),
        ]
        if "Session ID" in names:
            e2e, e2e_why = nonneg_float(pl.col("Elapsed time"), "Elapsed time")
            reasons.append(e2e_why)
            cols += [pl.col("Session ID").str.strip_chars().alias("session_id"), e2e.alias("e2e_s")]
        lf = lf.with_columns(cols)
        names_out = [c.meta.output_name() for c in cols if c.meta.output_name() != "_time_ns"]
        return stage_frame(lf, reasons, names_out, work, clock="time_of_day", timezone=self.options.timezone)


def _header(source: Source) -> list[str] | None:
    lines = source.head_lines(1)
    if not lines:
        return None
    names = [c.strip() for c in lines[0].split(",")]
    return names if names in (V10, V11) else None
