"""Request rate over time: peak-to-mean per resolution, burst episodes, idle gaps, Hurst exponent."""

from __future__ import annotations

import numpy as np

from servetrace.analytics.arrivals import counts
from servetrace.analytics.results import Bursts, RateLevel, RateSeries

RESOLUTIONS_S = (1.0, 10.0, 60.0, 600.0)
BURST_WINDOW_S = 10.0
BURST_FACTOR = 3.0  # a window with over 3x the median rate of its surroundings is a burst
LOCAL_WINDOWS = 61  # the surroundings: 61 windows (10 minutes at 10 s)
IDLE_GAP_S = 60.0
HURST_WINDOWS_S = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def rate_series(arrival_s: np.ndarray, max_points: int = 2000) -> RateSeries:
    """Requests per second over time, in windows of at least a minute, at most `max_points` of them."""
    span = float(arrival_s[-1] - arrival_s[0]) if len(arrival_s) > 1 else 0.0
    window = max(60.0, span / max_points)
    c = counts(arrival_s, window)
    return RateSeries(window, [i * window for i in range(len(c))], [float(x) / window for x in c])


def rate_levels(arrival_s: np.ndarray) -> list[RateLevel]:
    out = []
    for w in RESOLUTIONS_S:
        c = counts(arrival_s, w)
        if len(c) < 2 or c.mean() == 0:
            out.append(RateLevel(w, len(c), None, None, None, f"fewer than 2 complete {w:g} s windows"))
            continue
        mean = float(c.mean()) / w
        out.append(RateLevel(w, len(c), mean, float(c.max()) / w, float(c.max() / c.mean())))
    return out


def bursts(arrival_s: np.ndarray, gaps: np.ndarray | None = None) -> Bursts:
    """Burst episodes (runs of windows far above the local median rate) and idle gaps between requests."""
    gaps = np.diff(arrival_s) if gaps is None else gaps
    idle = gaps[gaps >= IDLE_GAP_S]
    c = counts(arrival_s, BURST_WINDOW_S).astype(float)
    if len(c) < LOCAL_WINDOWS:
        reason = f"fewer than {LOCAL_WINDOWS} complete {BURST_WINDOW_S:g} s windows"
        return Bursts(0, None, len(idle), float(idle.sum()), float(idle.max()) if len(idle) else None, reason)
    half = LOCAL_WINDOWS // 2
    padded = np.pad(c, half, mode="edge")
    local = np.median(np.lib.stride_tricks.sliding_window_view(padded, LOCAL_WINDOWS), axis=1)
    hot = c > BURST_FACTOR * np.maximum(local, 1.0)
    starts = np.flatnonzero(hot & ~np.concatenate(([False], hot[:-1])))
    ends = np.flatnonzero(hot & ~np.concatenate((hot[1:], [False])))
    longest = float((ends - starts + 1).max() * BURST_WINDOW_S) if len(starts) else None
    return Bursts(len(starts), longest, len(idle), float(idle.sum()), float(idle.max()) if len(idle) else None)


def hurst(arrival_s: np.ndarray) -> tuple[float | None, str | None]:
    """Hurst exponent by the aggregated-variance method on counts (0.5: no long-range dependence)."""
    points = []
    for w in HURST_WINDOWS_S:
        c = counts(arrival_s, w)
        if len(c) >= 20 and c.var() > 0:
            points.append((np.log(w), np.log(c.var() / w**2)))
    if len(points) < 3:
        return None, "fewer than 3 window sizes with 20 complete windows and varying counts"
    x, y = np.array(points).T
    slope = np.polyfit(x, y, 1)[0]  # variance of the mean rate ~ w^(2H - 2)
    return float(1 + slope / 2), None
