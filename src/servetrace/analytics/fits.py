"""Maximum-likelihood fits of inter-arrival gaps: exponential, gamma, Weibull, lognormal (location 0).

Each fit carries its KS distance and AIC. `best` is the family with the smallest KS distance (how the
published Azure and ServeGen figures name it); `best_by_aic` is given too. Zero gaps (repeated timestamps)
are left out, and the count of gaps used says so.

The estimators solve the likelihood equations directly (closed form for exponential and lognormal, Newton for
the gamma shape, bracketing for the Weibull shape): the same optimum as scipy's `fit(floc=0)`, at a fraction of
its cost, which matters for the per-window fits.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable

import numpy as np
from scipy import optimize, special

from servetrace.analytics.results import Fit, GapFits, WindowFits

MIN_GAPS = 20
WINDOW_S = 600.0
MAX_FIT_GAPS = 50_000  # maximum-likelihood estimates from 50,000 gaps are precise to well under 1%
MAX_WINDOW_GAPS = 1_000  # per window only the best family and the CV are kept

Estimate = tuple[dict[str, float], Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]


def fit_gaps(gaps: np.ndarray, max_gaps: int = MAX_FIT_GAPS) -> GapFits:
    """Fits on the positive gaps, or on a uniform sample (fixed seed) of `max_gaps` of them."""
    positive = gaps[gaps > 0]
    if len(positive) > max_gaps:
        positive = np.random.default_rng(0).choice(positive, max_gaps, replace=False)
    if len(positive) < MIN_GAPS:
        return GapFits(len(positive), [], None, None, f"fewer than {MIN_GAPS} positive gaps")
    if np.ptp(positive) <= 1e-9 * positive.max():
        return GapFits(len(positive), [], None, None, "all gaps are equal: the arrivals are regular, not random")
    x = np.sort(positive)
    fits = [f for f in (fit_family(name, x) for name in ESTIMATORS) if f is not None]
    if not fits:
        return GapFits(len(positive), [], None, None, "no family could be fitted")
    best = min(fits, key=lambda f: f.ks).family
    best_aic = min(fits, key=lambda f: f.aic).family
    return GapFits(len(positive), fits, best, best_aic)


def fit_windows(arrival_s: np.ndarray, window_s: float = WINDOW_S) -> WindowFits:
    """The best family and the CV of gaps in each complete window with enough gaps (ServeGen's view)."""
    if len(arrival_s) < 2:
        return WindowFits(window_s, 0, {}, None, "fewer than 2 requests")
    complete = int((arrival_s[-1] - arrival_s[0]) // window_s)
    bounds = np.searchsorted(arrival_s, arrival_s[0] + window_s * np.arange(complete + 1))  # arrivals are sorted
    best: Counter[str] = Counter()
    cvs = []
    for w in range(complete):
        gaps = np.diff(arrival_s[bounds[w] : bounds[w + 1]])
        result = fit_gaps(gaps, MAX_WINDOW_GAPS)
        if result.best is None:
            continue
        best[result.best] += 1
        cvs.append(float(gaps.std() / gaps.mean()))
    if not cvs:
        return WindowFits(window_s, 0, {}, None, f"no complete {window_s:g} s window with {MIN_GAPS} gaps")
    return WindowFits(window_s, len(cvs), dict(best), float(np.median(cvs)))


def fit_family(name: str, x: np.ndarray) -> Fit | None:
    """The maximum-likelihood fit on sorted positive gaps, or None when its equation has no finite root."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            params, logpdf, cdf = ESTIMATORS[name](x)
            loglik = float(np.sum(logpdf(x)))
            ks = _ks_sorted(cdf(x))
    except (ValueError, RuntimeError, FloatingPointError, ZeroDivisionError):
        return None
    if not (np.isfinite(loglik) and np.isfinite(ks) and all(np.isfinite(v) and v > 0 for v in params.values())):
        return None
    return Fit(name, params, loglik, 2 * len(params) - 2 * loglik, ks)


def _ks_sorted(f: np.ndarray) -> float:
    """KS distance of a sorted sample from a continuous distribution, given the model CDF at each point."""
    n = len(f)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - f), np.max(f - (i - 1) / n)))


def _exponential(x: np.ndarray) -> Estimate:
    s = float(x.mean())
    return {"scale": s}, lambda v: -np.log(s) - v / s, lambda v: -np.expm1(-v / s)


def _lognormal(x: np.ndarray) -> Estimate:
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std())
    if sigma <= 0:
        raise ValueError("constant gaps")
    return (
        {"sigma": sigma, "scale": float(np.exp(mu))},
        lambda v: -np.log(v * sigma * np.sqrt(2 * np.pi)) - (np.log(v) - mu) ** 2 / (2 * sigma**2),
        lambda v: special.ndtr((np.log(v) - mu) / sigma),
    )


def _gamma(x: np.ndarray) -> Estimate:
    """Shape from log(k) - digamma(k) = log(mean) - mean(log) by Newton, from Minka's starting point."""
    s = float(np.log(x.mean()) - np.log(x).mean())
    if s <= 0:
        raise ValueError("constant gaps")
    k = (3 - s + np.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
    for _ in range(50):
        step = (np.log(k) - special.digamma(k) - s) / (1 / k - special.polygamma(1, k))
        k = max(k - step, k / 10)
        if abs(step) < 1e-10 * k:
            break
    a, t = float(k), float(x.mean() / k)
    return (
        {"shape": a, "scale": t},
        lambda v: (a - 1) * np.log(v) - v / t - special.gammaln(a) - a * np.log(t),
        lambda v: special.gammainc(a, v / t),
    )


def _weibull(x: np.ndarray) -> Estimate:
    """Shape from 1/k + mean(log y) = sum(y^k log y) / sum(y^k), on gaps scaled by their geometric mean."""
    logs = np.log(x)
    g = float(logs.mean())
    ly = logs - g
    top = float(ly.max())

    def equation(k: float) -> float:
        w = np.exp(k * (ly - top))  # y^k up to a common factor, which cancels
        return 1 / k - float(np.dot(w, ly) / w.sum())

    shape = float(optimize.brentq(equation, 1e-3, 1e3, xtol=1e-10))
    scale = float(np.exp(g + top + np.log(np.mean(np.exp(shape * (ly - top)))) / shape))
    return (
        {"shape": shape, "scale": scale},
        lambda v: np.log(shape / scale) + (shape - 1) * np.log(v / scale) - (v / scale) ** shape,
        lambda v: -np.expm1(-((v / scale) ** shape)),
    )


ESTIMATORS: dict[str, Callable[[np.ndarray], Estimate]] = {
    "exponential": _exponential,
    "gamma": _gamma,
    "weibull": _weibull,
    "lognormal": _lognormal,
}
FAMILIES = tuple(ESTIMATORS)
