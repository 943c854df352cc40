from __future__ import annotations

import numpy as np
import pytest

from servetrace.analytics.arrivals import dispersion_curve, interarrival, timestamp_quality


def test_poisson_process_has_dispersion_one_and_cv_one() -> None:
    rng = np.random.default_rng(7)
    arrivals = np.cumsum(rng.exponential(0.01, 400_000))  # 100 req/s for about 4,000 s
    ia = interarrival(arrivals)
    assert ia.cv == pytest.approx(1.0, abs=0.01)
    for p in dispersion_curve(arrivals, (1.0, 10.0, 60.0)):
        assert p.index == pytest.approx(1.0, abs=0.25 if p.window_s == 60 else 0.1), p


def test_bursty_on_off_process_has_dispersion_growing_with_the_window() -> None:
    rng = np.random.default_rng(1)
    rates = np.repeat(rng.choice([1.0, 50.0], size=200), 30)  # 30 s on/off segments
    counts = rng.poisson(rates)
    arrivals = np.sort(np.concatenate([s + rng.random(c) for s, c in enumerate(counts)]))
    curve = {p.window_s: p.index for p in dispersion_curve(arrivals, (1.0, 10.0, 60.0))}
    assert curve[1.0] < curve[10.0] < curve[60.0] and curve[60.0] > 100


def test_bucketed_timestamps_are_detected_and_flagged() -> None:
    rng = np.random.default_rng(3)
    arrivals = np.sort(np.floor(rng.uniform(0, 3000, 20_000) / 3) * 3)
    q = timestamp_quality(arrivals)
    assert q.resolution_s == 3.0 and q.repeated_share > 0.9 and "3 s" in (q.note or "")
    flags = {p.window_s: p.below_resolution for p in dispersion_curve(arrivals, (1.0, 10.0, 60.0), q.resolution_s)}
    assert flags == {1.0: True, 10.0: True, 60.0: False}


@pytest.mark.parametrize("arrivals", [np.array([]), np.array([0.0]), np.zeros(50)])
def test_degenerate_traces_give_reasons_not_nan(arrivals: np.ndarray) -> None:
    q, ia = timestamp_quality(arrivals), interarrival(arrivals)
    assert q.resolution_s is None and q.note
    assert ia.cv is None
    for p in dispersion_curve(arrivals):
        assert p.index is None and p.reason
