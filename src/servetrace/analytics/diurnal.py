"""Daily and weekly patterns: mean rate per hour of day and per weekday, and STL seasonal strength."""

from __future__ import annotations

import warnings
from datetime import datetime

import numpy as np
from statsmodels.tsa.seasonal import STL

from servetrace.analytics.results import Diurnal

MIN_DAYS = 2.0


def diurnal(arrival_s: np.ndarray, start: datetime | None, clock: str) -> Diurnal:
    """Profiles in the trace's own wall time (its start time's zone); needs a clock and two days of data."""
    if clock == "relative" or start is None:
        return Diurnal([], [], None, "the trace has no wall-clock time")
    span_days = float(arrival_s[-1] - arrival_s[0]) / 86400 if len(arrival_s) > 1 else 0.0
    if span_days < MIN_DAYS:
        return Diurnal([], [], None, f"the trace spans {span_days:.2f} days; daily patterns need {MIN_DAYS:g}")
    offset = start.hour * 3600 + start.minute * 60 + start.second + start.microsecond / 1e6
    hours = np.floor((arrival_s + offset) / 3600).astype(np.int64)  # hours since midnight of day 1
    counts = np.bincount(hours - hours[0])[1:-1]  # complete hours only
    first = hours[0] + 1
    hour_of_day = (first + np.arange(len(counts))) % 24
    per_hour = [float(counts[hour_of_day == h].mean() / 3600) for h in range(24)]
    weekday0 = start.weekday() if clock == "absolute" else None
    per_weekday: list[float] = []
    if weekday0 is not None and span_days >= 7:
        day = (weekday0 + (first + np.arange(len(counts))) // 24) % 7
        per_weekday = [float(counts[day == d].mean() / 3600) for d in range(7)]
    return Diurnal(per_hour, per_weekday, _seasonal_strength(counts))


def _seasonal_strength(hourly: np.ndarray) -> float | None:
    """1 - var(residual) / var(seasonal + residual) of an STL decomposition with a 24-hour period."""
    if len(hourly) < 48:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = STL(hourly.astype(float), period=24, robust=True).fit()
    total = np.var(fit.seasonal + fit.resid)
    return float(max(0.0, 1 - np.var(fit.resid) / total)) if total > 0 else None
