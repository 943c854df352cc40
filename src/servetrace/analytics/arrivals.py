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


def counts(arrival_s: np.ndarray, window_s: float) -> np.ndarray:
    """Requests per complete window from the first arrival."""
    if len(arrival_s) < 2:
        return np.zeros(0, dtype=np.int64)
    n = int((arrival_s[-1] - arrival_s[0]) // window_s)
    return np.bincount(((arrival_s - arrival_s[0]) // window_s).astype(np.int64), minlength=n + 1)[:n]


def dispersion_curve(
    arrival_s: np.ndarray, windows_s: tuple[float, ...] = DEFAULT_WINDOWS_S, resolution_s: float | None = None
) -> list[DispersionPoint]:
    """Index of dispersion (variance/mean of counts) per window size, over complete windows from the first arrival."""
    out = []
    for w in windows_s:
        below = resolution_s is not None and w < TRUST_FACTOR * resolution_s
        c = counts(arrival_s, w)
        if len(c) < 2:
            out.append(DispersionPoint(w, len(c), None, below, f"fewer than 2 complete {w:g} s windows"))
            continue
        mean = c.mean()
        index = float(c.var() / mean) if mean > 0 else None
        out.append(
            DispersionPoint(w, len(c), index, below, None if index is not None else "no requests in the windows")
        )
    return out
