"""Qwen / Bailian usage traces (JSON lines).

`chat_id, parent_chat_id (-1 for none), timestamp (s), input_length, output_length, type
(text|image|search|file), turn, hash_ids` with 16-token blocks. Parent links become `parent_id` (the parent's
request_id) and each chain of turns becomes one session, named by its first chat_id. Fast path: DuckDB's
JSON reader; any malformed line or bad value sends the file to the exact path (polars over lines).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from servetrace.traces.formats import register
from servetrace.traces.formats.base import (
    Reader,
    Staged,
    bad_count,
    bad_time,
    duck_jsonl,
    nonneg_int,
    scan_lines,
    sql_str,
    stage_frame,
    time_ns,
)
from servetrace.traces.formats.jsonl import first_keys, int_list, object_reason, raw_value
from servetrace.traces.parquet import copy_query
from servetrace.traces.source import Source

KEYS = {"chat_id", "parent_chat_id", "timestamp", "input_length", "output_length", "type", "turn"}
BLOCK_TOKENS = 16
EPOCH_AFTER_S = 1e9  # timestamps above this are Unix time, below it seconds since the trace's start
COLUMNS = ["_chat_id", "_parent_chat_id", "input_tokens", "output_tokens", "turn", "category", "hash_ids"]


@register
class Qwen(Reader):
    name = "qwen"
    description = "Qwen/Bailian usage JSONL (chat_id, parent_chat_id, timestamp s, ..., type, turn, hash_ids)"

    @classmethod
    def sniff(cls, source: Source) -> bool:
        lines = source.head_lines(1)
        return bool(lines) and first_keys(lines[0]) >= KEYS

    def stage(self, source: Source, con: duckdb.DuckDBPyConnection, work: Path, exact: bool = False) -> Staged:
        staged = self._exact(source, work) if exact else self._fast(source)
        first = con.execute(f"SELECT _time_ns FROM ({staged.relation}) LIMIT 1").fetchall()
        if first and first[0][0] is not None and first[0][0] / 1e9 > EPOCH_AFTER_S:
            staged.clock, staged.timezone = "absolute", self.options.timezone or "UTC"
        return staged

    def _fast(self, source: Source) -> Staged:
        numbers = ["timestamp", "input_length", "output_length", "turn"]
        # Ids as text: DOUBLE would round ids beyond 2**53, and BIGINT rounds 5.5 to 6.
        ids = dict.fromkeys(("chat_id", "parent_chat_id"), "VARCHAR")
        types = {**ids, **dict.fromkeys(numbers, "DOUBLE"), "type": "VARCHAR", "hash_ids": "BIGINT[]"}
        src = duck_jsonl(source.path, types)
        bad = [f"NOT coalesce(regexp_full_match({c}, '-?[0-9]{{1,18}}'), false)" for c in ids]
        bad += [bad_time("timestamp"), "timestamp >= 4e9", "type IS NULL"]
        bad += [bad_count(c) for c in ("input_length", "output_length", "turn")]
        return Staged(
            relation=f"""SELECT TRY_CAST(round(timestamp * 1e9) AS BIGINT) AS _time_ns,
                TRY_CAST(chat_id AS BIGINT) AS _chat_id, TRY_CAST(parent_chat_id AS BIGINT) AS _parent_chat_id,
                input_length AS input_tokens, output_length AS output_tokens, turn, type AS category, hash_ids,
                ({" OR ".join(bad)}) AS _bad FROM {src}""",
            columns={*COLUMNS, "_bad"},
            rejects=None,
            clock="relative",
            block_size=self.options.block_size or BLOCK_TOKENS,
            fallback=True,
        )

    def _exact(self, source: Source, work: Path) -> Staged:
        ts, ts_why = time_ns(raw_value("timestamp"), "timestamp", 10**9)
        inp, inp_why = nonneg_int(raw_value("input_length"), "input_length")
        out, out_why = nonneg_int(raw_value("output_length"), "output_length")
        turn, turn_why = nonneg_int(raw_value("turn"), "turn")
        chat = raw_value("chat_id").str.strip_chars().cast(pl.Int64, strict=False)
        parent = raw_value("parent_chat_id").str.strip_chars().cast(pl.Int64, strict=False)
        hashes, hash_why = int_list("hash_ids")
        kind = raw_value("type")
        reasons = [
            object_reason(),
            pl.when(chat.is_null()).then(pl.lit("chat_id: missing or not an integer")),
            pl.when(parent.is_null()).then(pl.lit("parent_chat_id: missing or not an integer")),
            ts_why,
            inp_why,
            out_why,
            turn_why,
            pl.when(kind.is_null()).then(pl.lit("type: missing")),
            pl.when(pl.col("text").str.contains('"hash_ids"')).then(hash_why),
        ]
        lf = scan_lines(source.plain_path(work)).with_columns(
            ts.alias("_time_ns"),
            chat.alias("_chat_id"),
            parent.alias("_parent_chat_id"),
            inp.alias("input_tokens"),
            out.alias("output_tokens"),
            turn.alias("turn"),
            kind.alias("category"),
            hashes.alias("hash_ids"),
        )
        bs = self.options.block_size or BLOCK_TOKENS
        return stage_frame(lf, reasons, COLUMNS, work, clock="relative", block_size=bs)

    def finalize(self, con: duckdb.DuckDBPyConnection, stored: Path, work: Path) -> Path:
        """Link turns: parent_id is the parent's row position; session_id names the chain's first chat.

        The links are computed on the id columns alone and joined back by position (no key join)."""
        ids = pq.read_table(stored, columns=["_chat_id", "_parent_chat_id"])
        chat = ids.column("_chat_id").to_numpy()
        parent_row = _rows_of(chat, ids.column("_parent_chat_id").to_numpy())
        del ids
        links = pa.table({"parent_id": pa.array(parent_row, mask=parent_row < 0), "_session": chat[_roots(parent_row)]})
        keep = [c for c in pq.read_schema(stored).names if c not in ("_chat_id", "_parent_chat_id")]
        cols = ", ".join(f'r."{c}"' for c in keep)
        con.register("_links", links)
        out = work / "linked.parquet"
        copy_query(
            con,
            f"SELECT {cols}, l.parent_id, CAST(l._session AS VARCHAR) AS session_id "
            f"FROM read_parquet({sql_str(stored)}) r POSITIONAL JOIN _links l",
            out,
        )
        con.unregister("_links")
        return out


def _rows_of(chat: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """For each row, the row of its parent chat (-1 when none or absent); chat ids are unique per trace."""
    if not len(chat):
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(chat, kind="stable")
    pos = np.clip(np.searchsorted(chat[order], parent), 0, len(chat) - 1)
    found = (parent >= 0) & (chat[order][pos] == parent)
    return np.where(found, order[pos], -1)


def _roots(parent_row: np.ndarray) -> np.ndarray:
    """The first row of each row's chain, by pointer jumping (log of the chain length in steps)."""
    root = np.where(parent_row >= 0, parent_row, np.arange(len(parent_row)))
    for _ in range(64):  # 2**64 turns is beyond any chain; a cycle (broken data) stops here too
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    return root
