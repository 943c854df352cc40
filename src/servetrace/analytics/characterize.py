"""Characterize one stored trace."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from servetrace.analytics.arrivals import dispersion_curve, interarrival, timestamp_quality
from servetrace.analytics.breakdown import breakdown
from servetrace.analytics.diurnal import diurnal
from servetrace.analytics.fits import fit_gaps, fit_windows
from servetrace.analytics.lengths import correlation, quantiles
from servetrace.analytics.mix import modality_mix, prefix_reuse, sessions
from servetrace.analytics.rates import bursts, hurst, rate_levels, rate_series
from servetrace.analytics.results import Characterization, Quantiles, TailFit
from servetrace.analytics.tails import tail_fit
from servetrace.traces import Store
from servetrace.traces.formats.base import sql_str

KIND = "characterize"
TAIL_COLUMNS = ("input_tokens", "output_tokens", "image_count", "reasoning_tokens")
LENGTH_COLUMNS = ("input_tokens", "output_tokens", "image_count", "image_tokens", "audio_tokens", "video_tokens",
                  "reasoning_tokens")  # fmt: skip


def characterize(store: Store, trace: str, save: bool = True, by: str | None = None) -> Characterization:
    """Characterize a stored trace (and each group of `by`); the result is kept in the store's `analyses` table
    unless `save` is off."""
    result = _compute(store, trace)
    if by is not None:
        result.by, result.groups = by, breakdown(store, result.trace, by)
        if not result.groups:
            result.unavailable[f"by {by}"] = f"the trace records no {by}"
    if save:
        store.save_analysis(result.trace, KIND, result.to_json())
    return result


def _tails(table: pa.Table, lengths: list[Quantiles]) -> list[TailFit]:
    columns = [q.column for q in lengths if q.column in TAIL_COLUMNS]
    return [tail_fit(c, table.column(c).to_numpy(zero_copy_only=False).astype(float)) for c in columns]


def _compute(store: Store, trace: str) -> Characterization:
    info = store.get(trace)
    cols = ", ".join(("arrival_s", *LENGTH_COLUMNS))
    table = store.query(f"SELECT {cols} FROM requests WHERE trace = {sql_str(info.name)} ORDER BY request_id")
    arrival = table.column("arrival_s").to_numpy()
    quality = timestamp_quality(arrival)
    unavailable: dict[str, str] = {}
    if len(arrival) < 2:
        unavailable["interarrival"] = "fewer than 2 requests"
    lengths = []
    for name in LENGTH_COLUMNS:
        col = table.column(name)
        if col.null_count == len(col) and len(col):
            unavailable[name] = "the trace does not record it"
            continue
        lengths.append(quantiles(name, col.to_numpy(zero_copy_only=False).astype(float)))
    hurst_value, hurst_reason = hurst(arrival)
    if hurst_reason:
        unavailable["hurst"] = hurst_reason
    inp = table.column("input_tokens").to_numpy().astype(float)
    out = table.column("output_tokens").to_numpy().astype(float)
    corr = correlation(inp, out)
    if corr.reason:
        unavailable["correlation"] = corr.reason
    return Characterization(
        trace=info.name,
        rows=len(arrival),
        span_s=float(arrival[-1]) if len(arrival) else None,
        timestamps=quality,
        interarrival=interarrival(arrival),
        fits=fit_gaps(np.diff(arrival)),
        window_fits=fit_windows(arrival),
        dispersion=dispersion_curve(arrival, resolution_s=quality.resolution_s),
        rates=rate_levels(arrival),
        rate_series=rate_series(arrival),
        bursts=bursts(arrival),
        hurst=hurst_value,
        diurnal=diurnal(arrival, info.start_time, info.clock),
        lengths=lengths,
        tails=_tails(table, lengths),
        correlation=corr,
        modality=modality_mix(store, info.name),
        sessions=sessions(store, info.name),
        prefix_reuse=prefix_reuse(store, info.name),
        unavailable=unavailable,
    )
