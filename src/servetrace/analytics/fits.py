"""Maximum-likelihood fits of inter-arrival gaps: exponential, gamma, Weibull, lognormal (location 0).

Each fit carries its KS distance and AIC. `best` is the family with the smallest KS distance (how the
published Azure and ServeGen figures name it); `best_by_aic` is given too. Zero gaps (repeated timestamps)
are left out, and the count of gaps used says so.
"""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
from scipy import stats

from servetrace.analytics.results import Fit, GapFits, WindowFits

FAMILIES = {
    "exponential": (stats.expon, ("scale",)),
    "gamma": (stats.gamma, ("shape", "scale")),
    "weibull": (stats.weibull_min, ("shape", "scale")),
    "lognormal": (stats.lognorm, ("sigma", "scale")),
}
MIN_GAPS = 20
WINDOW_S = 600.0
MAX_FIT_GAPS = 50_000  # maximum-likelihood estimates from 50,000 gaps are precise to well under 1%
MAX_WINDOW_GAPS = 1_000  # per window only the best family and the CV are kept


def fit_gaps(gaps: np.ndarray, max_gaps: int = MAX_FIT_GAPS) -> GapFits:
    """Fits on the positive gaps, or on a uniform sample (fixed seed) of `max_gaps` of them."""
    positive = gaps[gaps > 0]
    if len(positive) > max_gaps:
        positive = np.random.default_rng(0).choice(positive, max_gaps, replace=False)
    if len(positive) < MIN_GAPS:
        return GapFits(len(positive), [], None, None, f"fewer than {MIN_GAPS} positive gaps")
    if np.ptp(positive) <= 1e-9 * positive.max():
        return GapFits(len(positive), [], None, None, "all gaps are equal: the arrivals are regular, not random")
    fits = [f for f in (_fit(name, positive) for name in FAMILIES) if f is not None]
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


def _fit(name: str, x: np.ndarray) -> Fit | None:
    """The maximum-likelihood fit, or None when the optimiser fails on these gaps."""
    dist, names = FAMILIES[name]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            params = dist.fit(x, floc=0)
    except (ValueError, RuntimeError, FloatingPointError):
        return None
    shape_and_scale = [float(p) for i, p in enumerate(params) if i != len(params) - 2]  # drop loc
    loglik = float(np.sum(dist.logpdf(x, *params)))
    ks = float(stats.kstest(x, dist.cdf, args=params).statistic)
    return Fit(name, dict(zip(names, shape_and_scale, strict=True)), loglik, 2 * len(names) - 2 * loglik, ks)
