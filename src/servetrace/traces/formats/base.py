"""What every reader provides, and the helpers the readers share.

A reader turns a source file into a *staged* DuckDB relation: one row per good request with `_time_ns`
(BIGINT nanoseconds: since the epoch for absolute clocks, since the trace's own zero otherwise) and any of
the canonical attribute columns, plus a query listing the rejected rows (line, reason, raw text). Ingest
does the rest (origin, ordering, conforming, storing) the same way for every format.

Two engines do the parsing: DuckDB's typed CSV reader (fastest; its reject store gives exact line numbers
for field-count and cast errors) and polars over raw lines (exact line numbers for any check we write).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import duckdb
import polars as pl

from servetrace.traces.source import Source

Clock = Literal["absolute", "time_of_day", "relative"]
RAW_CHARS = 500
INT_LIMIT = 2.0**63  # counts at or above this do not fit the int64 columns


@dataclass(frozen=True)
class ReadOptions:
    mapping: dict[str, str] = field(default_factory=dict)  # canonical column -> source column (generic)
    time_unit: str | None = None  # s, ms, us, ns for numeric timestamps (generic)
    time_format: str | None = None  # strptime format for text timestamps (generic)
    timezone: str | None = None  # overrides the zone a format implies
    block_size: int | None = None  # overrides the format's prefix-cache block size


@dataclass
class Staged:
    relation: str  # SELECT yielding `_time_ns` and the columns in `columns`
    columns: set[str]
    rejects: str | None  # SELECT line, reason, raw; valid once `relation` has been scanned
    clock: Clock
    timezone: str | None = None
    block_size: int | None = None
    reset: list[str] = field(default_factory=list)  # statements to run between a probe and the main scan
    fallback: bool = False  # a fast path: on a bad row (`_bad`) or an engine error, stage again with exact=True
    meta: dict[str, object] = field(default_factory=dict)  # catalog fields a reader knows (native traces)


class Reader(ABC):
    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, options: ReadOptions | None = None) -> None:
        self.options = options or ReadOptions()

    @classmethod
    def sniff(cls, source: Source) -> bool:
        """True when the file is certainly of this format (from its first lines)."""
        return False

    @abstractmethod
    def stage(self, source: Source, con: duckdb.DuckDBPyConnection, work: Path, exact: bool = False) -> Staged:
        """Prepare the staged relation; may write intermediate files into `work`.

        A reader may offer a fast path (`exact=False`, `Staged.fallback` set) that cannot name the line of every
        bad row, and an exact path that can; ingest retries with the exact one when the fast one gives up.
        """

    def finalize(self, con: duckdb.DuckDBPyConnection, stored: Path, work: Path) -> Path:
        """Rewrite the stored, ordered file when a format needs the final order (e.g. parent links)."""
        return stored


def sql_str(value: str | Path) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


# ---- DuckDB typed CSV -------------------------------------------------------------------------------


def duck_csv(path: Path, columns: dict[str, str], expected: dict[str, str], tag: str) -> tuple[str, str, list[str]]:
    """FROM-clause reading a headed, unquoted CSV with typed columns, its rejects query and its reset statements.

    `expected` describes, per source column, what a valid value looks like (used in reject reasons).
    Unsigned column types make DuckDB reject negative numbers with the line number.
    """
    cols = ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in columns.items())
    # An empty field of a typed column is a cast error (a reject with its line), not a NULL.
    required = ", ".join(sql_str(k) for k, v in columns.items() if v != "VARCHAR")
    table, scan = f"_rejects_{tag}", f"_reject_scans_{tag}"
    src = (
        f"read_csv({sql_str(path)}, columns={{{cols}}}, header=true, auto_detect=false, delim=',', "
        f"quote='', escape='', strict_mode=true, store_rejects=true, rejects_table='{table}', "
        f"rejects_scan='{scan}', rejects_limit=0, force_not_null=[{required}])"
    )
    want = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in expected.items())
    rejects = f"""
        SELECT line::BIGINT AS line,
          CASE
            WHEN error_type = 'CAST' AND regexp_extract(error_message, 'Could not convert string "(.*)" to', 1) = ''
                 THEN column_name || ': missing'
            WHEN error_type = 'CAST' THEN column_name || ': invalid value "'
                 || regexp_extract(error_message, 'Could not convert string "(.*)" to', 1)
                 || '" (expected ' || (CASE column_name {want} ELSE 'a valid value' END) || ')'
            WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') THEN
                 'expected ' || regexp_extract(error_message, 'Columns: (\\d+)', 1) || ' fields, found '
                 || regexp_extract(error_message, 'Found: (\\d+)', 1)
            WHEN error_type = 'INVALID ENCODING' THEN 'invalid UTF-8 bytes'
            ELSE lower(error_type) || ': ' || error_message
          END AS reason,
          left(trim(csv_line, chr(10) || chr(13)), {RAW_CHARS}) AS raw
        FROM {table}
        -- one reject per line: a field-count error first, else the leftmost bad field
        QUALIFY row_number() OVER (
            PARTITION BY line ORDER BY error_type NOT IN ('MISSING COLUMNS', 'TOO MANY COLUMNS'), column_idx) = 1
        ORDER BY line"""
    reset = [f"DROP TABLE IF EXISTS {table}", f"DROP TABLE IF EXISTS {scan}"]
    return src, rejects, reset


# ---- polars over raw lines --------------------------------------------------------------------------


def scan_lines(path: Path) -> pl.LazyFrame:
    """Every physical line as (`_line` 1-based, `text`); blank lines are kept (as null) so numbers stay exact."""
    return pl.scan_csv(
        path,
        has_header=False,
        separator="\x1f",
        quote_char=None,
        schema={"text": pl.String},
        row_index_name="_line",
        row_index_offset=1,
        encoding="utf8-lossy",  # a bad byte rejects its line (see stage_frame), never the whole file
    ).with_columns(pl.col("_line").cast(pl.Int64))


def nonneg_int(text: pl.Expr, field_name: str) -> tuple[pl.Expr, pl.Expr]:
    """(value, reason): a non-negative integer parsed from text (`12` or `12.0`), else a reason naming the field."""
    t = text.str.strip_chars()
    f = t.cast(pl.Float64, strict=False)
    ok_int = f.is_finite() & (f == f.floor()) & (f < INT_LIMIT)
    value = pl.when(ok_int & (f >= 0)).then(f.cast(pl.Int64, strict=False))
    return value, _reason(t, field_name, ok_int, f, "a non-negative integer")


def nonneg_float(text: pl.Expr, field_name: str) -> tuple[pl.Expr, pl.Expr]:
    """(value, reason): a finite, non-negative number parsed from text, else a reason naming the field."""
    t = text.str.strip_chars()
    f = t.cast(pl.Float64, strict=False)
    ok = f.is_finite()
    value = pl.when(ok & (f >= 0)).then(f)
    return value, _reason(t, field_name, ok, f, "a non-negative number")


def _reason(t: pl.Expr, field_name: str, ok: pl.Expr, f: pl.Expr, what: str) -> pl.Expr:
    # The same words as DuckDB's typed readers use, so the fast and exact paths agree.
    shown = pl.lit(f'{field_name}: invalid value "') + t.str.slice(0, 40) + pl.lit(f'" (expected {what})')
    missing = t.is_null() | (t == "")
    return pl.when(missing).then(pl.lit(f"{field_name}: missing")).when(~ok.fill_null(False) | (f < 0)).then(shown)


def stage_frame(lf: pl.LazyFrame, reasons: list[pl.Expr], columns: list[str], work: Path, **kw: object) -> Staged:
    """Write a polars frame (`_line`, `text`, `_time_ns`, columns) to a staged Parquet file and describe it.

    A row is rejected with the first non-null reason; blank lines are skipped silently.
    """
    # Lines are decoded leniently; a replaced byte rejects the line, as DuckDB's reader does.
    encoding = pl.when(pl.col("text").str.contains("\ufffd", literal=True)).then(pl.lit("invalid UTF-8 bytes"))
    reason = pl.coalesce([encoding, *reasons])
    out = lf.filter(pl.col("text").is_not_null() & (pl.col("text").str.strip_chars() != "")).select(
        "_line",
        reason.alias("_reject"),
        pl.when(reason.is_not_null()).then(pl.col("text").str.slice(0, RAW_CHARS)).alias("_raw"),
        pl.col("_time_ns").cast(pl.Int64),
        *columns,
    )
    path = work / "staged.parquet"
    out.sink_parquet(path)
    f = sql_str(path)
    cols = ", ".join(f'"{c}"' for c in ["_time_ns", *columns])
    return Staged(
        relation=f"SELECT {cols} FROM read_parquet({f}) WHERE _reject IS NULL",
        columns=set(columns),
        rejects=f"SELECT _line AS line, _reject AS reason, _raw AS raw FROM read_parquet({f}) "
        "WHERE _reject IS NOT NULL ORDER BY _line",
        **kw,  # type: ignore[arg-type]
    )


def split_fields(lf: pl.LazyFrame, names: list[str], sep: str = ",") -> tuple[pl.LazyFrame, pl.Expr]:
    """Split `text` into named string fields; the reason expression flags a wrong field count."""
    n = len(names)
    parts = pl.col("text").str.splitn(sep, n + 1)
    lf = lf.with_columns(parts.struct.rename_fields([*names, "_extra"]).alias("_f")).unnest("_f")
    count = pl.col("text").str.count_matches(sep, literal=True) + 1
    bad = pl.col(names[-1]).is_null() | pl.col("_extra").is_not_null()
    reason = pl.when(bad).then(pl.lit(f"expected {n} fields, found ") + count.cast(pl.String))
    return lf, reason


def time_ns(text: pl.Expr, field_name: str, unit_ns: int) -> tuple[pl.Expr, pl.Expr]:
    """(int64 ns, reason) from a non-negative decimal time in units of `unit_ns` nanoseconds.

    Plain decimals are converted exactly (whole units plus the fraction, to the nanosecond), since float64
    cannot hold epoch nanoseconds; exponent notation falls back to float arithmetic.
    """
    value, reason = nonneg_float(text, field_name)
    t = text.str.strip_chars()
    parts = t.str.split_exact(".", 1)
    whole = parts.struct.field("field_0").cast(pl.Int64, strict=False)
    digits = parts.struct.field("field_1").fill_null("")
    frac = (digits + pl.lit("000000000")).str.slice(0, 9).cast(pl.Int64, strict=False)
    exact = whole * unit_ns + (frac * unit_ns / 1_000_000_000).round().cast(pl.Int64)
    ok = digits.str.contains(r"^[0-9]*$")
    fits = value * unit_ns < 2.0**62  # times beyond year 2116 in ns would overflow int64 arithmetic
    approx = (value * unit_ns).round().cast(pl.Int64, strict=False)
    ns = pl.when(ok & exact.is_not_null()).then(exact).otherwise(approx)
    too_big = pl.when(value.is_not_null() & ~fits).then(pl.lit(f"{field_name}: value too large for a time"))
    return pl.when(value.is_not_null() & fits).then(ns), pl.coalesce(reason, too_big)


# ---- DuckDB JSON lines (fast path: any malformed line is an error, and the reader falls back) ---------------


def duck_jsonl(path: Path, columns: dict[str, str]) -> str:
    """FROM-clause reading JSON lines with typed fields; other keys are ignored, a missing key is NULL."""
    cols = ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in columns.items())
    return f"read_json({sql_str(path)}, format='newline_delimited', columns={{{cols}}})"


def bad_count(col: str) -> str:
    """SQL: true unless `col` (a DOUBLE) is a non-negative whole number."""
    c = f'"{col}"'
    return f"({c} IS NULL OR NOT isfinite({c}) OR {c} < 0 OR {c} >= {INT_LIMIT} OR {c} <> floor({c}))"


def bad_time(col: str) -> str:
    """SQL: true unless `col` is a finite, non-negative number."""
    return f'("{col}" IS NULL OR NOT isfinite("{col}") OR "{col}" < 0)'


def exact_csv(
    source: Source, work: Path, names: list[str], time: tuple[str, str, str], counts: dict[str, str]
) -> tuple[pl.LazyFrame, list[pl.Expr], list[str]]:
    """The exact path of a headed, unquoted CSV: split lines, parse the time with `time_format`, check counts.

    `time` is (column, strptime format, what a valid value looks like). Returns the frame (with `_time_ns` and
    the `counts` destinations), the reasons, and the output columns."""
    time_col, time_format, expected = time
    lf, count_reason = split_fields(scan_lines(source.plain_path(work)).filter(pl.col("_line") > 1), names)
    text = pl.col(time_col).str.strip_chars()
    parsed = text.str.to_datetime(time_format, strict=False, time_unit="ns")
    time_why = (
        pl.when(text.is_null() | (text == ""))
        .then(pl.lit(f"{time_col}: missing"))
        .when(parsed.is_null())
        .then(pl.lit(f'{time_col}: invalid value "') + text.str.slice(0, 40) + pl.lit(f'" (expected {expected})'))
    )
    reasons, cols = [count_reason, time_why], [parsed.dt.epoch("ns").alias("_time_ns")]
    for src, dst in counts.items():
        value, why = nonneg_int(pl.col(src), src)
        cols.append(value.alias(dst))
        reasons.append(why)
    return lf.with_columns(cols), reasons, list(counts.values())


def fast_counts(counts: dict[str, str]) -> tuple[str, str]:
    """SELECT items renaming DOUBLE count columns, and the SQL flagging a row with a bad count."""
    items = ", ".join(f'"{src}" AS {dst}' for src, dst in counts.items())
    return items, " OR ".join(bad_count(src) for src in counts)
