from __future__ import annotations

import numpy as np
import pytest

from servetrace.errors import ModelFileError
from servetrace.generator.arrivals import arrivals_from_dict
from servetrace.generator.arrivals.gamma import GammaRenewal
from servetrace.generator.arrivals.poisson import Poisson
from servetrace.generator.arrivals.weibull import WeibullRenewal
from servetrace.generator.arrivals.windowed import Windowed


@pytest.mark.parametrize("cls", [GammaRenewal, WeibullRenewal])
def test_renewal_keeps_the_rate_and_the_shape(cls: type[GammaRenewal]) -> None:
    rng = np.random.default_rng(0)
    gaps = rng.gamma(0.5, 2.0, 20_000) if cls is GammaRenewal else 1.5 * rng.weibull(0.5, 20_000)
    arrivals = np.cumsum(gaps)
    model = cls.fit(arrivals, float(arrivals[-1]))
    assert model.shape == pytest.approx(0.5, rel=0.05)
    sample = model.sample(float(arrivals[-1]), np.random.default_rng(1))
    assert len(sample) == pytest.approx(len(arrivals), rel=0.05)
    assert arrivals_from_dict(model.to_dict(), "a") == model


def test_poisson_and_windowed_basics() -> None:
    p = Poisson(5.0)
    assert len(p.sample(1000, np.random.default_rng(0))) == pytest.approx(5000, rel=0.05)
    arrivals = np.sort(np.random.default_rng(2).uniform(0, 3600, 7200))
    w = Windowed.fit(arrivals, 3600.0)
    assert len(w.rates_rps) == 60 and w.mean_rate() == pytest.approx(2.0, rel=0.02)
    assert arrivals_from_dict(w.to_dict(), "a") == w
    with pytest.raises(ModelFileError, match=r"a\.families\[0\]: must be one of"):
        arrivals_from_dict({**w.to_dict(), "families": ["pareto"] * 60}, "a")
