from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from servetrace.analytics.diurnal import diurnal


def _daily(days: float, seed: int = 0) -> np.ndarray:
    """A Poisson process whose rate peaks at 14:00 each day (thinning), from midnight."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.exponential(1 / 4.0, int(days * 86400 * 4.2)))
    t = t[t < days * 86400]
    rate = 2 + 1.5 * np.sin(2 * np.pi * (t / 3600 - 8) / 24)
    return t[rng.random(len(t)) < rate / 3.5]


def test_daily_peak_and_strong_seasonality() -> None:
    d = diurnal(_daily(3.0), datetime(2024, 5, 10), "absolute")
    assert int(np.argmax(d.per_hour_rps)) in (13, 14, 15)
    # Base 4 req/s kept with probability rate/3.5: 4 req/s at the 14:00 peak, 4/7 req/s at the 02:00 trough.
    assert d.per_hour_rps[14] == pytest.approx(4.0, rel=0.05)
    assert d.per_hour_rps[2] == pytest.approx(4 / 7, rel=0.15)
    assert d.seasonal_strength is not None and d.seasonal_strength > 0.8
    assert d.per_weekday_rps == []  # under a week


def test_week_long_trace_has_weekday_profile() -> None:
    d = diurnal(_daily(8.0, seed=1), datetime(2024, 5, 10, 6, 30), "absolute")
    assert len(d.per_weekday_rps) == 7 and all(r > 1 for r in d.per_weekday_rps)


def test_short_or_clockless_traces_give_reasons() -> None:
    assert "no wall-clock" in (diurnal(np.arange(10.0), None, "relative").reason or "")
    assert "spans" in (diurnal(np.arange(0, 3600.0), datetime(2023, 11, 16), "absolute").reason or "")
