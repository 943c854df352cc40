from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from servetrace.errors import ModelFileError
from servetrace.generator.arrivals import arrivals_from_dict
from servetrace.generator.arrivals.base import TooShort
from servetrace.generator.arrivals.nhpp import NHPP

DAY_S = 86_400.0
PEAK_S = 15 * 3600.0  # the true daily peak, 15:00


def daily_rate(t_s: np.ndarray) -> np.ndarray:
    """2 req/s times exp(0.5 cos) peaking at PEAK_S."""
    return np.asarray(2.0 * np.exp(0.5 * np.cos(2 * np.pi * (t_s - PEAK_S) / DAY_S)))


def thinned(rate: Callable[[np.ndarray], np.ndarray], max_rps: float, span_s: float, seed: int) -> np.ndarray:
    """Arrivals of an inhomogeneous Poisson process by thinning (independent of the model's own sampler)."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, span_s, rng.poisson(max_rps * span_s)))
    return t[rng.uniform(size=len(t)) < rate(t) / max_rps]


def model(**kw: object) -> NHPP:
    d: dict[str, object] = {
        "base_rps": 2.0,
        "daily": [[0.5 * math.cos(2 * math.pi * PEAK_S / DAY_S), 0.5 * math.sin(2 * math.pi * PEAK_S / DAY_S)]],
        "weekly": [],
        "phase_s": 0.0,
        "multiplier_sigma": 0.0,
        "multiplier_tau_s": 3600.0,
        "multiplier_step_s": 300.0,
    }
    return NHPP.from_params({**d, **kw}, "arrivals")


def test_a_daily_sinusoid_is_fitted_back() -> None:
    span_s = 3 * DAY_S
    m = NHPP.fit(thinned(daily_rate, 2.0 * math.exp(0.5), span_s, seed=1), span_s)
    assert m.base_rps == pytest.approx(2.0, rel=0.1)
    assert len(m.daily) == 3 and m.weekly == []
    a, b = m.daily[0]
    assert math.hypot(a, b) == pytest.approx(0.5, rel=0.15)
    peak_s = (math.atan2(b, a) / (2 * math.pi) * DAY_S) % DAY_S
    assert peak_s == pytest.approx(PEAK_S, abs=1800)
    assert max(math.hypot(*p) for p in m.daily[1:]) < 0.05
    assert m.multiplier_sigma < 0.05


def test_the_fitted_model_beats_a_flat_one_on_held_out_data() -> None:
    span_s = 2 * DAY_S
    m = NHPP.fit(thinned(daily_rate, 2.0 * math.exp(0.5), span_s, seed=2), span_s)
    held_out = thinned(daily_rate, 2.0 * math.exp(0.5), span_s, seed=3)
    flat = model(base_rps=len(held_out) / span_s, daily=[])
    assert m.loglik(held_out, span_s) > flat.loglik(held_out, span_s) + 1000
    # with no Fourier terms the likelihood is the homogeneous Poisson one
    assert flat.loglik(held_out, span_s) == pytest.approx(len(held_out) * math.log(flat.base_rps) - len(held_out))


def test_sampling_has_the_mean_count_and_the_daily_shape() -> None:
    m = model()
    arrivals = m.sample(3 * DAY_S, np.random.default_rng(4))
    assert len(arrivals) == pytest.approx(m.mean_rate() * 3 * DAY_S, rel=0.02)
    assert np.all(np.diff(arrivals) >= 0) and arrivals[0] >= 0 and arrivals[-1] < 3 * DAY_S
    hourly = np.bincount((arrivals % DAY_S // 3600).astype(int), minlength=24)
    assert np.corrcoef(hourly, daily_rate(np.arange(24) * 3600.0 + 1800))[0, 1] > 0.9


def test_the_random_multiplier_keeps_the_mean() -> None:
    m = model(base_rps=0.2, multiplier_sigma=0.3, multiplier_tau_s=1800.0)
    counts = [len(m.sample(7 * DAY_S, np.random.default_rng(seed))) for seed in range(8)]
    assert np.mean(counts) == pytest.approx(m.mean_rate() * 7 * DAY_S, rel=0.04)


def test_a_known_multiplier_is_fitted_back() -> None:
    truth = model(multiplier_sigma=0.3, multiplier_tau_s=3600.0)
    m = NHPP.fit(truth.sample(7 * DAY_S, np.random.default_rng(0)), 7 * DAY_S)
    assert m.multiplier_sigma == pytest.approx(0.3, rel=0.3)
    assert m.multiplier_tau_s == pytest.approx(3600.0, rel=0.5)


def test_an_hour_fits_the_intercept_only_and_puts_overdispersion_in_the_multiplier() -> None:
    rng = np.random.default_rng(5)
    counts = rng.poisson(5.0 * np.exp(rng.normal(0, 0.5, 12)) * 300)  # 5-minute windows of different rates
    arrivals = np.sort(np.concatenate([300 * i + rng.uniform(0, 300, c) for i, c in enumerate(counts)]))
    m = NHPP.fit(arrivals, 3600.0)
    assert m.daily == [] and m.weekly == []
    assert m.base_rps == pytest.approx(len(arrivals) / 3600.0)
    assert m.multiplier_sigma > 0.15
    flat = NHPP.fit(np.sort(rng.uniform(0, 3600, 18_000)), 3600.0)
    assert flat.multiplier_sigma < 0.1


def test_weekly_terms_need_two_weeks_and_the_offset_sets_the_phase() -> None:
    truth = model(base_rps=0.05, weekly=[[0.2, 0.1]])
    arrivals = truth.sample(15 * DAY_S, np.random.default_rng(6))
    m = NHPP.fit(arrivals, 15 * DAY_S, harmonics=2, start_offset_s=DAY_S + 7 * 86_400 * 3)
    assert len(m.daily) == 2 and len(m.weekly) == 2 and m.phase_s == DAY_S
    short = NHPP.fit(arrivals[arrivals < 13 * DAY_S], 13 * DAY_S)
    assert len(short.daily) == 3 and short.weekly == []


def test_params_round_trip_and_scaling() -> None:
    m = model(weekly=[[0.1, -0.2], [0.0, 0.05]], phase_s=3600.0, multiplier_sigma=0.2)
    assert NHPP.from_params(m.params(), "arrivals") == m
    assert arrivals_from_dict(m.to_dict(), "arrivals") == m
    assert m.scaled(3.0).mean_rate() == pytest.approx(3.0 * m.mean_rate())
    assert m.scaled(3.0).daily == m.daily
    # weekly and phase_s may be left out
    d = {k: v for k, v in m.params().items() if k not in ("weekly", "phase_s")}
    assert NHPP.from_params(d, "arrivals") == model(multiplier_sigma=0.2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"base_rps": -1.0}, "arrivals.base_rps: must be > 0"),
        ({"daily": 0.5}, "arrivals.daily: must be a list"),
        ({"daily": [[0.1, 0.2], [1.0, 2.0, 3.0]]}, "arrivals.daily[1]: must be a [cos, sin] pair"),
        ({"weekly": [["a", 0.0]]}, "arrivals.weekly[0]: must be a [cos, sin] pair"),
        ({"daily": [[30.0, 0.0]]}, "arrivals.daily: amplitudes sum to 30"),
        ({"multiplier_sigma": -0.1}, "arrivals.multiplier_sigma: must be >= 0"),
        ({"multiplier_tau_s": 0.0}, "arrivals.multiplier_tau_s: must be > 0"),
        ({"multiplier_step_s": None}, "arrivals.multiplier_step_s: must be a finite number"),
    ],
)
def test_from_params_errors_name_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(ModelFileError) as err:
        model(**change)
    assert message in str(err.value)


def test_same_seed_same_samples() -> None:
    m = model(multiplier_sigma=0.3)
    a, b = (m.sample(DAY_S, np.random.default_rng(9)) for _ in range(2))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, m.sample(DAY_S, np.random.default_rng(10)))
    assert len(m.sample(0.0, np.random.default_rng(9))) == 0


@pytest.mark.parametrize(
    ("arrival_s", "span_s"),
    [(np.arange(10.0), 3600.0), (np.linspace(0, 100, 200), 150.0)],
    ids=["few-arrivals", "two-bins"],
)
def test_too_short(arrival_s: np.ndarray, span_s: float) -> None:
    with pytest.raises(TooShort):
        NHPP.fit(arrival_s, span_s)
