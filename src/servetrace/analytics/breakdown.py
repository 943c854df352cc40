"""Core statistics per client, model or category: the first figures of a characterization, group by group."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from servetrace.analytics.arrivals import dispersion_curve, interarrival
from servetrace.analytics.results import GroupSummary
from servetrace.traces import Store
from servetrace.traces.formats.base import sql_str

GROUP_COLUMNS = ("client", "model", "category")
MAX_GROUPS = 20


def breakdown(store: Store, trace: str, by: str) -> list[GroupSummary]:
    """The largest groups (by requests) of `by`; a trace without that column gives no groups."""
    if by not in GROUP_COLUMNS:
        raise ValueError(f"--by must be one of {', '.join(GROUP_COLUMNS)}")
    t = sql_str(trace)
    table = store.query(
        f"""WITH top AS (SELECT "{by}" AS g, count(*) AS n FROM requests WHERE trace = {t} AND "{by}" IS NOT NULL
                         GROUP BY g ORDER BY n DESC, g LIMIT {MAX_GROUPS})
            SELECT top.g, r.arrival_s, r.input_tokens, r.output_tokens,
                   (SELECT count(*) FROM requests WHERE trace = {t}) AS total
            FROM requests r JOIN top ON r."{by}" = top.g WHERE r.trace = {t}
            ORDER BY top.n DESC, top.g, r.request_id"""
    )
    if not table.num_rows:
        return []
    groups = table.column("g").to_numpy(zero_copy_only=False)
    total = int(table.column("total")[0].as_py())
    starts = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))
    bounds = [*starts.tolist(), len(groups)]
    cols = {c: table.column(c).to_numpy() for c in ("arrival_s", "input_tokens", "output_tokens")}
    return [_summary(str(groups[a]), {k: v[a:b] for k, v in cols.items()}, total) for a, b in pairwise(bounds)]


def _summary(value: str, cols: dict[str, np.ndarray], total: int) -> GroupSummary:
    arrival = cols["arrival_s"]
    d60 = dispersion_curve(arrival, (60.0,))[0].index
    q = {c: np.quantile(cols[c], [0.5, 0.99], method="lower") for c in ("input_tokens", "output_tokens")}
    return GroupSummary(
        value, len(arrival), len(arrival) / total, interarrival(arrival).cv, d60,
        float(q["input_tokens"][0]), float(q["input_tokens"][1]), float(q["output_tokens"][0]),
        float(q["output_tokens"][1]),
    )  # fmt: skip
