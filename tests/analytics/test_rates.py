from __future__ import annotations

import numpy as np
import pytest

from servetrace.analytics.rates import bursts, hurst, rate_levels


def test_rate_levels_and_peak_to_mean() -> None:
    arrivals = np.concatenate([np.arange(0, 100, 1.0), np.arange(100, 101, 0.01), np.arange(101, 200, 1.0)])
    levels = {r.window_s: r for r in rate_levels(arrivals)}
    # 298 requests fall in the 199 complete 1 s windows; [100, 101) holds the 100 of the burst.
    assert levels[1.0].peak_rps == 100 and levels[1.0].mean_rps == pytest.approx(298 / 199)
    assert levels[1.0].peak_to_mean == pytest.approx(100 / (298 / 199))
    assert levels[600.0].peak_to_mean is None and levels[600.0].reason


def test_a_single_burst_and_idle_gaps_are_found() -> None:
    rng = np.random.default_rng(9)
    base = np.cumsum(rng.exponential(1.0, 3000))
    burst = 1000 + rng.random(500) * 20  # 25 req/s for 20 s on a 1 req/s background
    pause = base[-1] + 120 + np.cumsum(rng.exponential(1.0, 100))  # a 2-minute silence, then more
    b = bursts(np.sort(np.concatenate([base, burst, pause])))
    assert b.episodes == 1 and b.longest_s is not None and 10 <= b.longest_s <= 30
    assert b.idle_gaps >= 1 and b.idle_longest_s is not None and b.idle_longest_s >= 120


def test_hurst_is_a_half_for_poisson_and_higher_for_long_range_dependence() -> None:
    rng = np.random.default_rng(10)
    poisson = np.cumsum(rng.exponential(0.05, 200_000))
    h, _ = hurst(poisson)
    assert h == pytest.approx(0.5, abs=0.08)
    # On/off sources with heavy-tailed (Pareto) period lengths give long-range dependence.
    periods = (rng.pareto(1.2, 4000) + 1) * 2
    on = np.arange(len(periods)) % 2 == 0
    edges = np.concatenate(([0.0], np.cumsum(periods)))
    chunks = [edges[i] + np.sort(rng.random(int(periods[i] * 20))) * periods[i] for i in np.flatnonzero(on)]
    h_lrd, _ = hurst(np.concatenate(chunks))
    assert h_lrd is not None and h_lrd > 0.65


def test_too_short_traces_give_reasons() -> None:
    assert hurst(np.array([0.0, 1.0]))[0] is None
    assert bursts(np.array([0.0, 1.0])).reason
