"""Sampling a synthetic trace from a workload model, and storing it like any other trace."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from servetrace import __version__
from servetrace.errors import UsageError
from servetrace.generator.model import Client, WorkloadModel
from servetrace.generator.prefix import blocks_for
from servetrace.traces import IngestResult, Store, ingest
from servetrace.traces.formats.native import export_metadata
from servetrace.traces.schema import COLUMN_BY_NAME


def generate(model: WorkloadModel, duration_s: float | None = None, seed: int = 0, rate_scale: float = 1.0) -> pa.Table:
    """A synthetic trace (canonical columns, arrival order): the same model, duration and seed give the same rows."""
    duration = model.duration_s if duration_s is None else duration_s
    if duration <= 0:
        raise UsageError(f"--duration must be positive, got {duration:g} s")
    if rate_scale <= 0:
        raise UsageError(f"--rate-scale must be positive, got {rate_scale:g}")
    seeds = np.random.SeedSequence(seed).spawn(len(model.clients))
    parts = [_client(c, duration, rate_scale, model.block_size, np.random.default_rng(s)) for c, s in zip(
        model.clients, seeds, strict=True)]  # fmt: skip
    offsets = np.cumsum([0] + [p.num_rows for p in parts])[:-1]
    parts = [_globalize_parents(p, int(o)) for p, o in zip(parts, offsets, strict=True)]
    table = pa.concat_tables(parts, promote_options="default") if len(parts) > 1 else parts[0]
    order = np.argsort(table.column("arrival_s").to_numpy(), kind="stable")
    table = table.take(order)
    if "parent_id" in table.column_names:  # parents pointed at rows before the sort: follow the permutation
        where = np.empty(len(order), dtype=np.int64)
        where[order] = np.arange(len(order))
        parent = table.column("parent_id").combine_chunks()
        new = pa.array(where[parent.fill_null(0).to_numpy()], pa.int64(), mask=parent.is_null().to_numpy(False))
        table = table.set_column(table.column_names.index("parent_id"), "parent_id", new)
    return table


def _client(
    c: Client, duration: float, rate_scale: float, block_size: int | None, rng: np.random.Generator
) -> pa.Table:
    starts = c.arrivals.scaled(rate_scale).sample(duration, rng)
    cols: dict[str, Any] = {}
    if c.sessions is not None:
        s = c.sessions.expand(starts, duration, rng)
        arrival = s["arrival_s"]
        cols["session_id"] = pa.array([f"{c.name}-{i}" for i in s["session"]], pa.string())
        cols["turn"] = pa.array(s["turn"], pa.int64())
        cols["parent_id"] = pa.array(np.where(s["previous"] >= 0, s["previous"], 0), pa.int64(),
                                     mask=s["previous"] < 0)  # fmt: skip
    else:
        arrival = starts
    n = len(arrival)
    attrs = c.attributes.sample(n, rng)
    if c.sessions is not None:
        c.sessions.grow_context(s["turn"], s["previous"], attrs["input_tokens"], attrs["output_tokens"], rng)
    table: dict[str, Any] = {"arrival_s": pa.array(arrival, pa.float64()), **cols}
    for name, values in attrs.items():
        table[name] = pa.array(values, COLUMN_BY_NAME[name].type)
    if c.prefix is not None and block_size:
        table["hash_ids"] = c.prefix.sample(blocks_for(attrs["input_tokens"], block_size), rng)
    table["client"] = pa.array([c.name] * n, pa.string())
    return pa.table(table)


def _globalize_parents(part: pa.Table, offset: int) -> pa.Table:
    """parent_id numbered within a client's part becomes its row in the concatenation of all parts."""
    if "parent_id" not in part.column_names or not offset:
        return part
    shifted = pc.add(part.column("parent_id"), offset)
    return part.set_column(part.column_names.index("parent_id"), "parent_id", shifted)


def store_synthetic(
    store: Store, table: pa.Table, name: str, meta: dict[str, Any], replace: bool = False, block_size: int | None = None
) -> IngestResult:
    """Store a generated table as trace `name` (through the native reader: same checks, atomic commit)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"{name}.parquet"
        table = table.append_column("request_id", pa.array(np.arange(table.num_rows), pa.int64()))
        entry: dict[str, object] = {"name": name, "clock": "relative", "block_size": block_size, "format": "synthetic",
                 "servetrace_version": __version__}  # fmt: skip
        pq.write_table(table.replace_schema_metadata(export_metadata(entry)), path)
        return ingest(store, path, name=name, fmt="servetrace", replace=replace, meta={"generator": meta})
