from __future__ import annotations

import numpy as np
import pytest

from servetrace.analytics.tails import tail_fit


def test_pareto_sample_recovers_its_tail_index_and_is_called_a_power_law() -> None:
    x = (np.random.default_rng(11).pareto(1.5, 50_000) + 1) * 100  # P(X > x) ~ x^-1.5 above 100
    r = tail_fit("x", x)
    assert r.alpha == pytest.approx(1.5, rel=0.06)
    assert r.verdict in ("power_law", "power_law_or_lognormal") and r.xmin is not None and r.xmin >= 100
    assert (
        next(c for c in r.comparisons if c.second == "exponential" and c.first == "power_law").favoured == "power_law"
    )


def test_lognormal_sample_is_not_called_a_power_law() -> None:
    x = np.random.default_rng(12).lognormal(6, 1.0, 50_000)
    r = tail_fit("x", x)
    assert r.verdict in ("lognormal", "power_law_or_lognormal")


def test_exponential_sample_has_an_exponential_tail() -> None:
    x = np.random.default_rng(13).exponential(100, 50_000)
    assert tail_fit("x", x).verdict == "exponential"


def test_too_little_data_gives_a_reason() -> None:
    r = tail_fit("x", np.array([1.0, 2.0, 3.0]))
    assert r.alpha is None and r.verdict is None and r.reason
