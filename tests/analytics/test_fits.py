from __future__ import annotations

import numpy as np
import pytest

from servetrace.analytics.fits import fit_gaps, fit_windows


def test_weibull_sample_is_recognised_with_its_shape() -> None:
    gaps = np.random.default_rng(2).weibull(0.4, 20_000) * 0.1
    r = fit_gaps(gaps)
    assert r.best == "weibull"
    weibull = next(f for f in r.fits if f.family == "weibull")
    assert weibull.params["shape"] == pytest.approx(0.4, rel=0.03)
    assert weibull.params["scale"] == pytest.approx(0.1, rel=0.05)


def test_gamma_sample_recovers_its_shape() -> None:
    gaps = np.random.default_rng(4).gamma(0.5, 2.0, 20_000)
    gamma = next(f for f in fit_gaps(gaps).fits if f.family == "gamma")
    assert gamma.params["shape"] == pytest.approx(0.5, rel=0.03)


def test_too_few_gaps_is_a_reason() -> None:
    r = fit_gaps(np.array([0.0, 0.0, 1.0]))
    assert r.best is None and r.fits == [] and r.reason


def test_window_fits_count_best_families_and_cv() -> None:
    arrivals = np.cumsum(np.random.default_rng(5).exponential(0.5, 20_000))  # Poisson: CV about 1
    r = fit_windows(arrivals, 600.0)
    assert r.windows == int((arrivals[-1] - arrivals[0]) // 600)
    assert sum(r.best_counts.values()) == r.windows and r.median_cv == pytest.approx(1.0, abs=0.05)


def test_regular_arrivals_are_a_reason_not_a_crash() -> None:
    r = fit_gaps(np.ones(500))
    assert r.best is None and "regular" in (r.reason or "")


@pytest.mark.parametrize("family", ["gamma", "weibull", "lognormal", "exponential"])
def test_likelihood_equations_reach_scipys_optimum(family: str) -> None:
    """The direct solutions are maximum-likelihood estimates: at least as likely as scipy's fit(floc=0)."""
    from scipy import stats

    dist = {"gamma": stats.gamma, "weibull": stats.weibull_min, "lognormal": stats.lognorm, "exponential": stats.expon}
    gaps = np.random.default_rng(9).gamma(0.7, 3.0, 5_000)
    ours = next(f for f in fit_gaps(gaps).fits if f.family == family)
    params = dist[family].fit(gaps, floc=0)
    assert ours.loglik >= float(np.sum(dist[family].logpdf(gaps, *params))) - 1e-6
    assert ours.ks == pytest.approx(stats.kstest(gaps, dist[family].cdf, args=params).statistic, abs=2e-3)
