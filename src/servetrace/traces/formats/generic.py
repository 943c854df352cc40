"""Generic CSV, TSV, Parquet and JSON-lines files (plain, .gz or .zst) with a column mapping.

`--map arrival=ts,input_tokens=prompt_len,output_tokens=completion_len[,model=m,...]` maps canonical
columns to the file's; `arrival` is required, and timestamps are numbers in `--time-unit` (default seconds)
or text parsed with `--time-format` (default: ISO-8601).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from servetrace.errors import SourceError, UsageError
from servetrace.traces.formats import register
from servetrace.traces.formats.base import (
    Clock,
    Reader,
    Staged,
    nonneg_float,
    nonneg_int,
    scan_lines,
    split_fields,
    stage_frame,
    time_ns,
)
from servetrace.traces.formats.jsonl import int_list, object_reason, raw_value
from servetrace.traces.schema import ATTRIBUTE_COLUMNS
from servetrace.traces.source import Source

REQUIRED = ("arrival", "input_tokens", "output_tokens")
UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
EPOCH_AFTER_S = 1e9
INT_COLUMNS = {
    "turn",
    "parent_id",
    "input_tokens",
    "output_tokens",
    "text_tokens",
    "image_count",
    "image_tokens",
    "audio_count",
    "audio_tokens",
    "video_count",
    "video_tokens",
    "reasoning_tokens",
}
STATUS_VALUES = {
    "ok": "ok",
    "success": "ok",
    "succeeded": "ok",
    "200": "ok",
    "failed": "failed",
    "fail": "failed",
    "error": "failed",
    "failure": "failed",
}


@register
class Generic(Reader):
    name = "generic"
    description = "any CSV/TSV/Parquet/JSONL (.gz/.zst) with --map arrival=COL,input_tokens=COL,output_tokens=COL"

    def stage(self, source: Source, con: duckdb.DuckDBPyConnection, work: Path, exact: bool = False) -> Staged:
        mapping = self._mapping()
        kind = _kind(source)
        path = source.plain_path(work)
        if kind == "jsonl":
            lf = scan_lines(path).with_columns(raw_value(src).alias(dst) for dst, src in mapping.items())
            reasons = [object_reason()]
        else:
            lf, raw = _table_frame(path, kind, mapping, source)
            if "text" not in lf.collect_schema():
                lf = lf.with_columns(raw)  # the row as read, before any column is converted
            has_count = "_fields_why" in lf.collect_schema()
            reasons = [pl.col("_fields_why")] if has_count else []
        schema = lf.collect_schema()
        missing = [src for dst, src in mapping.items() if dst not in schema]
        if missing:
            raise SourceError(f"{source.name}: no column {missing[0]!r} (from --map); columns are {_columns(lf)}")
        time_ns, clock, tz, why = self._time(lf, schema["arrival"])
        cols, more = self._attributes(mapping, schema, kind)
        reasons += [
            pl.when(pl.col("arrival").is_null()).then(pl.lit(f"{mapping['arrival']}: missing")),
            why,
            *more,
        ]
        # Reasons read the raw columns, so compute them in the same step that replaces those columns.
        lf = lf.with_columns(time_ns.alias("_time_ns"), *cols, pl.coalesce(reasons).alias("_why"))
        reasons = [pl.col("_why")]
        names = [c.meta.output_name() for c in cols]
        return stage_frame(
            lf,
            reasons,
            names,
            work,
            clock=clock,
            timezone=self.options.timezone or tz,
            block_size=self.options.block_size,
        )

    def _mapping(self) -> dict[str, str]:
        mapping = dict(self.options.mapping)
        if "arrival_s" in mapping:
            mapping["arrival"] = mapping.pop("arrival_s")
        # parent_id is a request_id (a row position after sorting), which a source column cannot give.
        unknown = sorted(set(mapping) - {"arrival", *ATTRIBUTE_COLUMNS} | ({"parent_id"} & set(mapping)))
        if unknown:
            mappable = ", ".join(c for c in ATTRIBUTE_COLUMNS if c != "parent_id")
            raise UsageError(f"--map: cannot map {unknown[0]!r}; mappable: arrival, {mappable}")
        absent = [c for c in REQUIRED if c not in mapping]
        if absent:
            raise UsageError(f"--format generic needs --map with {', '.join(REQUIRED)} (missing {absent[0]})")
        return mapping

    def _time(self, lf: pl.LazyFrame, dtype: pl.DataType) -> tuple[pl.Expr, Clock, str | None, pl.Expr]:
        a = pl.col("arrival")
        if isinstance(dtype, pl.Datetime):
            return a.dt.epoch("ns"), "absolute", dtype.time_zone, pl.lit(None, pl.String)
        text = a.cast(pl.String).str.strip_chars()
        opt = self.options
        first = lf.select(text).filter(text.is_not_null() & (text != "")).head(1).collect()
        sample = first.item() if first.height else "0"
        numeric = opt.time_format is None and (opt.time_unit is not None or _is_number(sample))
        if numeric:
            unit = opt.time_unit or "s"
            if unit not in UNIT_NS:
                raise UsageError(f"--time-unit must be one of {', '.join(UNIT_NS)}, not {unit!r}")
            value, why = time_ns(text, "arrival", UNIT_NS[unit])
            epoch = float(sample) * UNIT_NS[unit] / 1e9 > EPOCH_AFTER_S if _is_number(sample) else False
            return value, "absolute" if epoch else "relative", "UTC" if epoch else None, why
        parsed = text.str.to_datetime(opt.time_format, strict=False, time_unit="ns")
        probe = pl.select(pl.lit(sample).str.to_datetime(opt.time_format, strict=False, time_unit="ns"))
        tz = probe.dtypes[0].time_zone if isinstance(probe.dtypes[0], pl.Datetime) else None
        fmt = opt.time_format or "ISO-8601"
        why = pl.when(text.is_not_null() & parsed.is_null()).then(
            pl.lit('arrival: invalid timestamp "') + text.str.slice(0, 40) + pl.lit(f'" (expected {fmt})')
        )
        return parsed.dt.epoch("ns"), "absolute", tz, why

    def _attributes(self, mapping: dict[str, str], schema: pl.Schema, kind: str) -> tuple[list[pl.Expr], list[pl.Expr]]:
        cols, reasons = [], []
        for dst in mapping:
            if dst == "arrival":
                continue
            c = pl.col(dst)
            if dst in INT_COLUMNS:
                value, why = nonneg_int(c.cast(pl.String), mapping[dst])
            elif dst == "e2e_s":
                value, why = nonneg_float(c.cast(pl.String), mapping[dst])
            elif dst == "hash_ids":
                value, why = _hash_ids(dst, schema[dst], kind, mapping[dst])
            elif dst == "status":
                s = c.cast(pl.String).str.strip_chars().str.to_lowercase()
                value = s.replace_strict(STATUS_VALUES, default=None)
                why = pl.when(value.is_null()).then(pl.lit(f"{mapping[dst]}: status must be ok or failed"))
            else:
                value, why = c.cast(pl.String).str.strip_chars(), pl.lit(None, pl.String)
            cols.append(value.alias(dst))
            reasons.append(why)
        return cols, reasons


def _hash_ids(dst: str, dtype: pl.DataType, kind: str, src: str) -> tuple[pl.Expr, pl.Expr]:
    if isinstance(dtype, pl.List):
        return pl.col(dst).cast(pl.List(pl.Int64)), pl.lit(None, pl.String)
    if kind == "jsonl":
        value, why = int_list(src)
        return value, why
    # Text such as "[1, 2, 3]" or "1 2 3"; anything else is a reject.
    text = pl.col(dst).cast(pl.String).str.strip_chars()
    ok = text.str.contains(r"^\[?\s*(-?\d{1,18}\s*[, ]\s*)*(-?\d{1,18})?\s*\]?$")
    ints = pl.when(ok).then(text.str.extract_all(r"-?\d+").list.eval(pl.element().cast(pl.Int64, strict=False)))
    return ints, pl.when(text.is_not_null() & ~ok).then(pl.lit(f"{src}: not a list of integers"))


def _table_frame(path: Path, kind: str, mapping: dict[str, str], source: Source) -> tuple[pl.LazyFrame, pl.Expr]:
    sep = "\t" if kind == "tsv" else ","
    header = source.head_lines(1)
    if kind == "parquet":
        lf = pl.scan_parquet(path, row_index_name="_line", row_index_offset=1)
    elif header and '"' not in source.head.decode("utf-8", "replace"):
        return _split_frame(path, sep, header[0], mapping, source)
    else:
        lf = pl.scan_csv(
            path,
            separator="\t" if kind == "tsv" else ",",
            infer_schema=False,
            row_index_name="_line",
            row_index_offset=2,
        )
    names = lf.collect_schema().names()
    absent = [src for src in mapping.values() if src not in names]
    if absent:
        raise SourceError(f"{source.name}: no column {absent[0]!r} (from --map); columns are {names[:20]}")
    lf = lf.select(pl.col("_line").cast(pl.Int64), *(pl.col(src).alias(dst) for dst, src in mapping.items()))
    raw = pl.concat_str([pl.col(d).cast(pl.String).fill_null("") for d in mapping], separator=",").alias("text")
    return lf, raw


def _split_frame(
    path: Path, sep: str, header: str, mapping: dict[str, str], source: Source
) -> tuple[pl.LazyFrame, pl.Expr]:
    """Unquoted delimited text, split per line: exact line numbers and field-count rejects."""
    names = [n.strip() for n in header.split(sep)]
    absent = [src for src in mapping.values() if src not in names]
    if absent:
        raise SourceError(f"{source.name}: no column {absent[0]!r} (from --map); columns are {names[:20]}")
    fields = [f"_c{i}" for i in range(len(names))]
    lf, count_reason = split_fields(scan_lines(path).filter(pl.col("_line") > 1), fields, sep)
    lf = lf.with_columns(count_reason.alias("_fields_why"))
    keep = [pl.col(fields[names.index(src)]).alias(dst) for dst, src in mapping.items()]
    return lf.select("_line", "text", "_fields_why", *keep), pl.col("text")


def _kind(source: Source) -> str:
    if source.is_parquet:
        return "parquet"
    kinds = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
    kind = kinds.get(source.inner_suffix)
    if kind is None:
        raise SourceError(f"{source.name}: generic format reads .csv, .tsv, .parquet, .jsonl (optionally .gz/.zst)")
    return kind


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _columns(lf: pl.LazyFrame) -> list[str]:
    return [c for c in lf.collect_schema().names() if not c.startswith("_")][:20]
