from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.linalg import expm

from servetrace.analytics.arrivals import dispersion_curve
from servetrace.errors import ModelFileError
from servetrace.generator.arrivals import arrivals_from_dict
from servetrace.generator.arrivals.base import TooShort
from servetrace.generator.arrivals.mmpp import MMPP
from servetrace.generator.arrivals.poisson import Poisson

ON_OFF = MMPP([0.5, 20.0], [[0.0, 1 / 60], [1 / 20, 0.0]])  # off 60 s, on 20 s on average
THREE = MMPP([1.0, 5.0, 40.0], [[0.0, 1 / 60, 1 / 600], [1 / 20, 0.0, 1 / 100], [1 / 10, 0.0, 0.0]])  # cyclic
WHERE = "clients[0].arrivals"


def test_on_off_process_is_fitted_back() -> None:
    arrivals = ON_OFF.sample(7200.0, np.random.default_rng(1))
    fit = MMPP.fit(arrivals, 7200.0)
    assert len(fit.rates_rps) == 2  # BIC keeps the true number of states
    assert fit.rates_rps == pytest.approx(ON_OFF.rates_rps, rel=0.15)
    assert fit.switch_rps[0][1] == pytest.approx(1 / 60, rel=0.4)
    assert fit.switch_rps[1][0] == pytest.approx(1 / 20, rel=0.4)
    assert fit.mean_rate() == pytest.approx(len(arrivals) / 7200.0, rel=0.05)


def test_fixed_state_count_is_respected() -> None:
    arrivals = THREE.sample(3600.0, np.random.default_rng(2))
    fit = MMPP.fit(arrivals, 3600.0, states=3)
    assert len(fit.rates_rps) == 3 and fit.rates_rps == sorted(fit.rates_rps)
    assert fit.rates_rps[2] == pytest.approx(40.0, rel=0.15)


@pytest.mark.parametrize("model", [ON_OFF, THREE], ids=["two-state", "three-state"])
def test_sample_has_the_stationary_rate_and_is_overdispersed(model: MMPP) -> None:
    duration_s = 300 * 3600.0
    arrivals = model.sample(duration_s, np.random.default_rng(3))
    assert np.all(np.diff(arrivals) >= 0) and arrivals[0] >= 0 and arrivals[-1] < duration_s
    assert len(arrivals) / duration_s == pytest.approx(model.mean_rate(), rel=0.03)
    (point,) = dispersion_curve(arrivals, (60.0,))
    assert point.index is not None and point.index > 20


def test_stationary_rate_of_the_on_off_process() -> None:
    assert ON_OFF.mean_rate() == pytest.approx(0.75 * 0.5 + 0.25 * 20.0)


def test_same_seed_gives_the_same_sample() -> None:
    a = THREE.sample(3600.0, np.random.default_rng(11))
    b = THREE.sample(3600.0, np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, THREE.sample(3600.0, np.random.default_rng(12)))


def test_scaled_multiplies_rates_and_keeps_switching() -> None:
    half = ON_OFF.scaled(0.5)
    assert half.rates_rps == [0.25, 10.0] and half.switch_rps == ON_OFF.switch_rps
    assert half.mean_rate() == pytest.approx(ON_OFF.mean_rate() / 2)


def test_params_round_trip() -> None:
    assert MMPP.from_params(THREE.params(), WHERE) == THREE
    assert arrivals_from_dict(ON_OFF.to_dict(), WHERE) == ON_OFF


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rates_rps": [1.0, -1.0]}, r"clients\[0\]\.arrivals\.rates_rps\[1\]: must be >= 0, got -1"),
        ({"rates_rps": [0.0, 0.0]}, r"arrivals\.rates_rps: at least one rate must be > 0"),
        ({"rates_rps": [1.0] * 5}, r"arrivals\.rates_rps: must have 2 to 4 states, got 5"),
        ({"switch_rps": [[0.0, 0.1], [0.1]]}, r"arrivals\.switch_rps\[1\]: must be a list of 2 rates"),
        ({"switch_rps": [[0.0, 0.1]]}, r"arrivals\.switch_rps: must be a 2 x 2 list of lists"),
        ({"switch_rps": [[0.0, 0.1], [-1, 0.0]]}, r"arrivals\.switch_rps\[1\]\[0\]: must be >= 0, got -1"),
        ({"switch_rps": [[-0.1, 0.1], [0.1, 0.0]]}, r"arrivals\.switch_rps\[0\]\[0\]: the diagonal must be 0"),
        ({"switch_rps": [[0.0, 0.1], [0.0, 0.0]]}, r"arrivals\.switch_rps: state 0 cannot be reached from state 1"),
        ({"switch_rps": [[0.0, "x"], [0.1, 0.0]]}, r"arrivals\.switch_rps\[0\]\[1\]: must be a finite number"),
    ],
)
def test_from_params_errors_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelFileError, match=message):
        MMPP.from_params({**ON_OFF.params(), **change}, WHERE)


def test_missing_switch_matrix_is_named() -> None:
    with pytest.raises(ModelFileError, match=r"arrivals\.switch_rps: missing"):
        MMPP.from_params({"rates_rps": [1.0, 2.0]}, WHERE)


def test_loglik_prefers_the_true_model_to_poisson() -> None:
    arrivals = ON_OFF.sample(3600.0, np.random.default_rng(4))
    poisson = Poisson.fit(arrivals, 3600.0)
    assert ON_OFF.loglik(arrivals, 3600.0) > poisson.loglik(arrivals, 3600.0) + 1000
    assert MMPP.fit(arrivals, 3600.0).loglik(arrivals, 3600.0) > poisson.loglik(arrivals, 3600.0) + 1000


@pytest.mark.parametrize("model", [THREE, MMPP([0.0, 3.0], [[0.0, 0.1], [0.2, 0.0]])], ids=["cyclic", "off-state"])
def test_loglik_matches_the_sequential_matrix_exponential_recursion(model: MMPP) -> None:
    arrivals = model.sample(300.0, np.random.default_rng(5))
    arrivals = np.sort(np.concatenate((arrivals, arrivals[:5])))  # repeated timestamps: zero gaps
    assert model.loglik(arrivals, 320.0) == pytest.approx(_sequential_loglik(model, arrivals, 320.0), rel=1e-9)
    assert model.loglik(np.zeros(0), 50.0) == pytest.approx(_sequential_loglik(model, np.zeros(0), 50.0))


def test_too_few_requests_raise_too_short() -> None:
    with pytest.raises(TooShort):
        MMPP.fit(np.linspace(0.0, 90.0, 10), 100.0)


def _sequential_loglik(model: MMPP, arrival_s: np.ndarray, span_s: float) -> float:
    """The textbook recursion, one expm per gap."""
    switch = np.array(model.switch_rps)
    rates = np.diag(model.rates_rps)
    drift = switch - np.diag(switch.sum(axis=1)) - rates
    alpha, total, previous_s = model._stationary(), 0.0, 0.0
    for t in arrival_s:
        alpha = alpha @ expm(drift * (t - previous_s)) @ rates
        total += np.log(alpha.sum())
        alpha, previous_s = alpha / alpha.sum(), t
    return float(total + np.log(alpha @ expm(drift * (span_s - previous_s)) @ np.ones(len(alpha))))
