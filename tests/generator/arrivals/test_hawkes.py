from __future__ import annotations

import numpy as np
import pytest

from servetrace.errors import ModelFileError
from servetrace.generator.arrivals import arrivals_from_dict
from servetrace.generator.arrivals.hawkes import Hawkes
from servetrace.generator.arrivals.poisson import Poisson


def test_fit_recovers_a_simulated_process_and_beats_poisson() -> None:
    truth = Hawkes(3600.0, [1.0], [0.6], [2.0])
    arrivals = truth.sample(4 * 3600.0, np.random.default_rng(0))
    assert len(arrivals) / (4 * 3600) == pytest.approx(truth.mean_rate(), rel=0.15)
    fitted = Hawkes.fit(arrivals, 4 * 3600.0, kernels=1)
    assert fitted.branching[0] == pytest.approx(0.6, abs=0.08)
    assert fitted.decay_per_s[0] == pytest.approx(2.0, rel=0.3)
    assert fitted.loglik(arrivals, 4 * 3600.0) > Poisson.fit(arrivals, 4 * 3600.0).loglik(arrivals, 4 * 3600.0)
    gaps = fitted.rescaled_gaps(arrivals)
    assert np.mean(gaps) == pytest.approx(1.0, rel=0.05)  # time rescaling: Exp(1) under the right model


def test_round_trip_and_an_unstable_branching_ratio_is_refused() -> None:
    m = Hawkes(3600.0, [1.0, 2.0], [0.3, 0.2], [10.0, 0.1])
    assert arrivals_from_dict(m.to_dict(), "a") == m
    with pytest.raises(ModelFileError, match=r"a\.branching: must sum to below 1"):
        arrivals_from_dict({**m.to_dict(), "branching": [0.7, 0.4]}, "a")
    same = m.sample(600, np.random.default_rng(5)), m.sample(600, np.random.default_rng(5))
    assert np.array_equal(*same)
