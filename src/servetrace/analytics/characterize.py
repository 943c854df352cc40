"""Characterize one stored trace."""

from __future__ import annotations

import numpy as np

from servetrace.analytics.arrivals import dispersion_curve, interarrival, timestamp_quality
from servetrace.analytics.breakdown import breakdown
from servetrace.analytics.diurnal import diurnal
from servetrace.analytics.fits import fit_gaps, fit_windows
from servetrace.analytics.lengths import correlation, quantiles
from servetrace.analytics.mix import modality_mix, prefix_reuse, sessions
from servetrace.analytics.rates import bursts, hurst, rate_levels, rate_series
from servetrace.analytics.results import Characterization
from servetrace.analytics.tails import tail_fit
from servetrace.analytics.values import value_counts
from servetrace.errors import StoreError
from servetrace.traces import Store

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


def _compute(store: Store, trace: str) -> Characterization:
    info = store.get(trace)
    table = store.read_columns(info.name, ("arrival_s", *LENGTH_COLUMNS))
    arrival = table.column("arrival_s").to_numpy()
    if len(arrival) > 1 and not np.all(arrival[1:] >= arrival[:-1]):
        raise StoreError(f"trace {info.name}: stored arrivals are not in order; ingest it again")
    quality = timestamp_quality(arrival)
    gaps = np.diff(arrival)
    unavailable: dict[str, str] = {}
    if len(arrival) < 2:
        unavailable["interarrival"] = "fewer than 2 requests"
    lengths, tails = [], []
    for name in LENGTH_COLUMNS:
        if name not in table.column_names or (table.column(name).null_count == len(arrival) and len(arrival)):
            unavailable[name] = "the trace does not record it"
            continue
        vc = value_counts(table.column(name))
        lengths.append(quantiles(name, vc))
        if name in TAIL_COLUMNS:
            tails.append(tail_fit(name, vc))
    hurst_value, hurst_reason = hurst(arrival)
    if hurst_reason:
        unavailable["hurst"] = hurst_reason
    corr = correlation(table)
    if corr.reason:
        unavailable["correlation"] = corr.reason
    return Characterization(
        trace=info.name,
        rows=len(arrival),
        span_s=float(arrival[-1]) if len(arrival) else None,
        timestamps=quality,
        interarrival=interarrival(arrival, gaps),
        fits=fit_gaps(gaps),
        window_fits=fit_windows(arrival),
        dispersion=dispersion_curve(arrival, resolution_s=quality.resolution_s),
        rates=rate_levels(arrival),
        rate_series=rate_series(arrival),
        bursts=bursts(arrival, gaps),
        hurst=hurst_value,
        diurnal=diurnal(arrival, info.start_time, info.clock),
        lengths=lengths,
        tails=tails,
        correlation=corr,
        modality=modality_mix(store, info.name),
        sessions=sessions(store, info.name),
        prefix_reuse=prefix_reuse(store, info.name),
        unavailable=unavailable,
    )
