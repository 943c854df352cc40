from __future__ import annotations

import numpy as np
import pytest

from servetrace.analytics.arrivals import dispersion_curve
from servetrace.errors import ModelFileError
from servetrace.generator.arrivals import TooShort, arrivals_from_dict
from servetrace.generator.arrivals.cox import Cox

WINDOWS = (1.0, 10.0, 60.0, 300.0)


def on_off(rng: np.random.Generator, hours: float = 2.0) -> np.ndarray:
    """Poisson at 2 or 10 req/s, switching every 2 minutes, with 5-request batches 1 ms apart half the time."""
    span = hours * 3600
    rates = np.repeat(rng.choice([2.0, 10.0], int(span // 120) + 1), 120)[: int(span)]
    starts = np.concatenate([s + rng.uniform(0, 1, rng.poisson(r)) for s, r in enumerate(rates)])
    batch = rng.uniform(size=len(starts)) < 0.5
    extra = np.repeat(starts[batch], 4) + np.tile(np.arange(1, 5) * 1e-3, batch.sum())
    return np.sort(np.concatenate([starts, extra]))


def test_sample_keeps_the_dispersion_curve_a_poisson_fit_loses() -> None:
    arrivals = on_off(np.random.default_rng(1))
    span = float(arrivals[-1])
    model = Cox.fit(arrivals, span)
    real = np.array([p.index for p in dispersion_curve(arrivals, WINDOWS)])
    synth = np.array([p.index for p in dispersion_curve(model.sample(span, np.random.default_rng(2)), WINDOWS)])
    assert np.all(np.abs(synth / real - 1) < 0.25), (real, synth)
    assert model.batch_sizes[4] > 0.3  # batches of 5 found
    assert len(model.sample(span, np.random.default_rng(3))) == pytest.approx(len(arrivals), rel=0.05)


def test_round_trip_scale_and_errors() -> None:
    model = Cox.fit(on_off(np.random.default_rng(4), 0.5), 1800.0)
    again = arrivals_from_dict(model.to_dict(), "arrivals")
    assert again == model and model.scaled(3).mean_rate() == pytest.approx(3 * model.mean_rate())
    bad = {**model.to_dict(), "sigma2": [-1.0] * len(model.tau_s)}
    with pytest.raises(ModelFileError, match=r"arrivals\.sigma2\[0\]: must be >= 0"):
        arrivals_from_dict(bad, "arrivals")
    with pytest.raises(ModelFileError, match="must sum to 1"):
        arrivals_from_dict({**model.to_dict(), "batch_sizes": [0.5]}, "arrivals")
    with pytest.raises(TooShort):
        Cox.fit(np.array([0.0, 1.0, 2.0]), 3.0)
