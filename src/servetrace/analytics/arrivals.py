"""Arrival statistics over an `arrival_s` column: timestamp quality, inter-arrival gaps, index of dispersion."""

from __future__ import annotations

import numpy as np

from servetrace.analytics.results import DispersionPoint, InterArrival, TimestampQuality

DEFAULT_WINDOWS_S = (0.1, 1.0, 10.0, 60.0, 600.0, 3600.0)
QUANTUM_NS = 1_000  # resolution is detected to the microsecond
TRUST_FACTOR = 10  # dispersion below 10x the resolution is flagged


def timestamp_quality(arrival_s: np.ndarray) -> TimestampQuality:
    """The time quantum of the arrivals (gcd of the gaps, to the microsecond) and the share of zero gaps."""
    if len(arrival_s) < 2:
        return TimestampQuality(None, None, "fewer than 2 requests: no gaps")
    gaps_us = np.round(np.diff(arrival_s) * 1e6).astype(np.int64)
    positive = gaps_us[gaps_us > 0]
    repeated = float(np.mean(gaps_us == 0))
    if not len(positive):
        return TimestampQuality(None, repeated, "all requests share one timestamp")
    resolution = float(np.gcd.reduce(positive)) / 1e6
    note = None
    if repeated > 0.1 or resolution >= 0.1:
        note = (
            f"timestamps are bucketed at {resolution:g} s and {repeated:.0%} of gaps are 0: "
            f"burstiness below {TRUST_FACTOR * resolution:g} s is not measurable"
        )
    return TimestampQuality(resolution, repeated, note)


def interarrival(arrival_s: np.ndarray) -> InterArrival:
    gaps = np.diff(arrival_s)
    if not len(gaps):
        return InterArrival(0, None, None, None)
    mean = float(gaps.mean())
    cv = float(gaps.std() / mean) if mean > 0 else None
    return InterArrival(len(gaps), mean, float(np.median(gaps)), cv)


def dispersion_curve(
    arrival_s: np.ndarray, windows_s: tuple[float, ...] = DEFAULT_WINDOWS_S, resolution_s: float | None = None
) -> list[DispersionPoint]:
    """Index of dispersion (variance/mean of counts) per window size, over complete windows from the first arrival."""
    out = []
    span = float(arrival_s[-1] - arrival_s[0]) if len(arrival_s) else 0.0
    for w in windows_s:
        below = resolution_s is not None and w < TRUST_FACTOR * resolution_s
        n = int(span // w)
        if n < 2:
            out.append(DispersionPoint(w, n, None, below, f"fewer than 2 complete {w:g} s windows"))
            continue
        counts = np.bincount(((arrival_s - arrival_s[0]) // w).astype(np.int64), minlength=n + 1)[:n]
        mean = counts.mean()
        index = float(counts.var() / mean) if mean > 0 else None
        out.append(DispersionPoint(w, n, index, below, None if index is not None else "no requests in the windows"))
    return out
