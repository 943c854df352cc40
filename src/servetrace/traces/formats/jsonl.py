"""Field extraction from JSON lines with polars, line by line and without failing on a bad line.

A line must be one JSON object; each wanted field is pulled out by an anchored pattern, so a line that
lacks a field or has a broken value is rejected with a reason naming that field.
"""

from __future__ import annotations

import json
import re

import polars as pl

_NUMBER = r"(-?[0-9][0-9]*(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|NaN|-?Infinity|null)"


def first_keys(line: str) -> set[str]:
    """The keys of a JSON object line, or an empty set when it is not one."""
    try:
        obj = json.loads(line)
    except ValueError:
        return set()
    return set(obj) if isinstance(obj, dict) else set()


def raw_value(key: str) -> pl.Expr:
    """The text of a scalar number or string value of `key` (quotes removed), or null."""
    pattern = rf'"{re.escape(key)}"\s*:\s*(?:"([^"]*)"|{_NUMBER})'
    text = pl.col("text")
    return pl.coalesce(text.str.extract(pattern, 1), text.str.extract(pattern, 2))


def int_list(key: str) -> tuple[pl.Expr, pl.Expr]:
    """(list of int64, reason) for an array-of-integers value of `key`."""
    body = pl.col("text").str.extract(rf'"{re.escape(key)}"\s*:\s*\[([^\]]*)\]', 1)
    items = body.str.replace_all(r"\s", "").str.split(",")
    items = pl.when(body.str.strip_chars() == "").then(pl.lit([], pl.List(pl.String))).otherwise(items)
    ints = items.list.eval(pl.element().cast(pl.Int64, strict=False))
    bad = ints.list.eval(pl.element().is_null()).list.any()
    reason = (
        pl.when(body.is_null())
        .then(pl.lit(f"{key}: missing or not a list of integers"))
        .when(bad)
        .then(pl.lit(f"{key}: list has a non-integer item"))
    )
    return ints, reason


def object_reason() -> pl.Expr:
    t = pl.col("text").str.strip_chars()
    ok = t.str.starts_with("{") & t.str.ends_with("}")
    return pl.when(~ok).then(pl.lit("not a JSON object line"))
