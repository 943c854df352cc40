"""Heavy tails in the manner of Clauset, Shalizi and Newman (2009), on the continuous approximation.

The threshold x_min minimises the KS distance between the tail and its fitted power law (over candidate
quantiles); the tail index alpha (P(X > x) ~ x^-alpha) is the maximum-likelihood (Hill) estimate above it.
Power law, lognormal and exponential tails are compared by Vuong's normalised log-likelihood ratio.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

from servetrace.analytics.results import TailComparison, TailFit
from servetrace.analytics.values import ValueCounts, value_counts

MIN_TAIL = 50
KS_POINTS = 100_000
CANDIDATE_QUANTILES = np.linspace(0.5, 0.995, 60)
SIGNIFICANCE = 0.1


def tail_fit(column: str, values: np.ndarray | ValueCounts) -> TailFit:
    vc = (values if isinstance(values, ValueCounts) else value_counts(values)).positive()
    if vc.n < 2 * MIN_TAIL or len(vc.values) < 10:
        return TailFit(column, None, 0, None, None, [], None, "too few distinct positive values for a tail")
    best = _threshold(vc)
    if best is None:
        return TailFit(column, None, 0, None, None, [], None, f"no threshold leaves {MIN_TAIL} values in the tail")
    xmin, alpha, ks = best
    keep = vc.values >= xmin
    t, w = vc.values[keep], vc.counts[keep].astype(float)
    ll = {
        "power_law": _ll_power(t, xmin, alpha),
        "lognormal": _ll_lognormal(t, w, xmin),
        "exponential": _ll_exponential(t, w, xmin),
    }
    pairs = [("power_law", "lognormal"), ("power_law", "exponential"), ("lognormal", "exponential")]
    comparisons = [_compare(a, b, ll[a] - ll[b], w) for a, b in pairs]
    return TailFit(column, float(xmin), int(w.sum()), alpha, ks, comparisons, _verdict(comparisons))


def _threshold(vc: ValueCounts) -> tuple[float, float, float] | None:
    """(x_min, alpha, KS) with the smallest KS distance over candidate thresholds.

    alpha comes from suffix sums of count * log(x) (exact). KS compares the tail's empirical CDF on both sides
    of each distinct value with the fitted power law: exact, unless the tail has over KS_POINTS distinct values,
    which are then read at KS_POINTS evenly spaced ones."""
    best = None
    x, c = vc.values, vc.counts
    cum = np.concatenate(([0], vc.cumulative))  # cum[j] = values before x[j]
    suffix = np.concatenate((np.cumsum((c * np.log(x))[::-1])[::-1], [0.0]))  # suffix[j] = sum over x[j:]
    for xmin in np.unique([vc.quantile(q) for q in CANDIDATE_QUANTILES]):
        start = int(np.searchsorted(x, xmin))
        n = int(cum[-1] - cum[start])
        if n < MIN_TAIL:
            continue
        spread = suffix[start] - n * np.log(xmin)  # sum of log(x / x_min) over the tail; 0 when all equal x_min
        if spread <= 0:
            continue
        alpha = n / spread
        idx = start + np.linspace(0, len(x) - start - 1, min(len(x) - start, KS_POINTS)).astype(np.int64)  # distinct
        model = 1 - (x[idx] / xmin) ** -alpha
        below, upto = (cum[idx] - cum[start]) / n, (cum[idx + 1] - cum[start]) / n
        ks = float(max(np.max(np.abs(below - model)), np.max(np.abs(upto - model))))
        if best is None or ks < best[2]:
            best = (float(xmin), float(alpha), ks)
    return best


def _ll_power(t: np.ndarray, xmin: float, alpha: float) -> np.ndarray:
    return np.asarray(np.log(alpha / xmin) - (alpha + 1) * np.log(t / xmin))


def _ll_exponential(t: np.ndarray, w: np.ndarray, xmin: float) -> np.ndarray:
    lam = 1.0 / max(float(np.dot(w, t - xmin) / w.sum()), 1e-12)
    return np.asarray(np.log(lam) - lam * (t - xmin))


def _ll_lognormal(t: np.ndarray, w: np.ndarray, xmin: float) -> np.ndarray:
    """Lognormal truncated at x_min, fitted by maximum likelihood (values `t` weighted by their counts `w`)."""
    logs = np.log(t)

    def ll(mu: float, sigma: float) -> np.ndarray:
        tail_mass = stats.norm.sf((np.log(xmin) - mu) / sigma)
        return np.asarray(stats.norm.logpdf(logs, mu, sigma) - logs - np.log(max(tail_mass, 1e-300)))

    mean = float(np.dot(w, logs) / w.sum())
    sd = float(np.sqrt(np.dot(w, (logs - mean) ** 2) / w.sum()))
    start = np.array([mean, np.log(max(sd, 1e-3))])
    p = optimize.minimize(
        lambda p: -float(np.dot(w, ll(p[0], np.exp(p[1])))),
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-9},
    ).x
    return ll(p[0], np.exp(p[1]))


def _compare(first: str, second: str, diff: np.ndarray, w: np.ndarray) -> TailComparison:
    """Vuong's test on per-value log-likelihood differences weighted by counts: R > 0 favours `first`; p is the
    two-sided significance of the sign of R."""
    n = float(w.sum())
    r = float(np.dot(w, diff))
    sd = float(np.sqrt(max(np.dot(w, (diff - r / n) ** 2) / n, 0.0)))
    p = float(special.erfc(abs(r) / (np.sqrt(2 * n) * sd))) if sd > 0 else 1.0
    favoured = "inconclusive" if p > SIGNIFICANCE else (first if r > 0 else second)
    return TailComparison(first, second, r, p, favoured)


def _verdict(comparisons: list[TailComparison]) -> str:
    """Light (exponential) unless a heavier family beats it; then power law, lognormal, or both possible."""
    won = {(c.first, c.second): c.favoured for c in comparisons}
    if won["power_law", "exponential"] != "power_law" and won["lognormal", "exponential"] != "lognormal":
        return "exponential"
    pl_vs_ln = won["power_law", "lognormal"]
    return pl_vs_ln if pl_vs_ln != "inconclusive" else "power_law_or_lognormal"
