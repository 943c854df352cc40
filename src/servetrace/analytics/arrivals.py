"""Arrival statistics over an `arrival_s` column: timestamp quality, inter-arrival gaps, index of dispersion."""

from __future__ import annotations

import numpy as np

from servetrace.analytics.results import DispersionPoint, InterArrival, TimestampQuality

DEFAULT_WINDOWS_S = (0.1, 1.0, 10.0, 60.0, 600.0, 3600.0)
TRUST_FACTOR = 10  # dispersion below 10x the resolution is flagged


def timestamp_quality(arrival_s: np.ndarray) -> TimestampQuality:
    """The time quantum of the arrivals (gcd of the gaps, to the microsecond) and the share of zero gaps."""
    if len(arrival_s) < 2:
        return TimestampQuality(None, None, "fewer than 2 requests: no gaps")
    zeros, quantum_us = _scan_gaps(arrival_s)
    repeated = zeros / (len(arrival_s) - 1)
    if not quantum_us:
        return TimestampQuality(None, repeated, "all requests share one timestamp")
    resolution = quantum_us / 1e6
    note = None
    if repeated > 0.1 or resolution >= 0.1:
        note = (
            f"timestamps are bucketed at {resolution:g} s and {repeated:.0%} of gaps are 0: "
            f"burstiness below {TRUST_FACTOR * resolution:g} s is not measurable"
        )
    return TimestampQuality(resolution, repeated, note)


def _scan_gaps(arrival_s: np.ndarray, chunk: int = 1 << 20) -> tuple[int, int]:
    """(zero gaps, gcd of the gaps in microseconds), a chunk at a time: small temporaries, and the gcd is no
    longer computed once it reaches 1 us."""
    zeros, g = 0, 0
    for start in range(0, len(arrival_s) - 1, chunk):
        gaps = np.diff(arrival_s[start : start + chunk + 1])
        zeros += int(np.count_nonzero(gaps == 0))
        if g != 1:  # zero gaps do not change a gcd; gaps are >= 0, so +0.5 rounds
            g = int(np.gcd(g, np.gcd.reduce((gaps * 1e6 + 0.5).astype(np.int64))))
    return zeros, g


def interarrival(arrival_s: np.ndarray, gaps: np.ndarray | None = None) -> InterArrival:
    """Mean, median and CV of the gaps (`gaps`: np.diff(arrival_s), when the caller has it already)."""
    gaps = np.diff(arrival_s) if gaps is None else gaps
    if not len(gaps):
        return InterArrival(0, None, None, None)
    mean = float(gaps.mean())
    var = max(float(np.dot(gaps, gaps)) / len(gaps) - mean**2, 0.0)  # no temporary the size of the trace
    cv = float(np.sqrt(var) / mean) if mean > 0 else None
    return InterArrival(len(gaps), mean, float(np.median(gaps)), cv)


def counts(arrival_s: np.ndarray, window_s: float) -> np.ndarray:
    """Requests per complete window from the first arrival (arrivals sorted: the cost is per window, not row)."""
    if len(arrival_s) < 2:
        return np.zeros(0, dtype=np.int64)
    n = int((arrival_s[-1] - arrival_s[0]) // window_s)
    if n > len(arrival_s):  # more windows than requests: one counting pass is cheaper
        return np.bincount(((arrival_s - arrival_s[0]) // window_s).astype(np.int64), minlength=n + 1)[:n]
    edges = np.searchsorted(arrival_s, arrival_s[0] + window_s * np.arange(n + 1), side="left")
    return np.diff(edges)


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
