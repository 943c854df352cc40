"""Heavy tails in the manner of Clauset, Shalizi and Newman (2009), on the continuous approximation.

The threshold x_min minimises the KS distance between the tail and its fitted power law (over candidate
quantiles); the tail index alpha (P(X > x) ~ x^-alpha) is the maximum-likelihood (Hill) estimate above it.
Power law, lognormal and exponential tails are compared by Vuong's normalised log-likelihood ratio.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

from servetrace.analytics.results import TailComparison, TailFit

MIN_TAIL = 50
KS_POINTS = 100_000
CANDIDATE_QUANTILES = np.linspace(0.5, 0.995, 60)
SIGNIFICANCE = 0.1


def tail_fit(column: str, values: np.ndarray) -> TailFit:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    if len(x) < 2 * MIN_TAIL or np.unique(x).size < 10:
        return TailFit(column, None, 0, None, None, [], None, "too few distinct positive values for a tail")
    best = _threshold(np.sort(x))
    if best is None:
        return TailFit(column, None, 0, None, None, [], None, f"no threshold leaves {MIN_TAIL} values in the tail")
    xmin, alpha, ks = best
    tail = x[x >= xmin]
    ll = {
        "power_law": _ll_power(tail, xmin, alpha),
        "lognormal": _ll_lognormal(tail, xmin),
        "exponential": _ll_exponential(tail, xmin),
    }
    pairs = [("power_law", "lognormal"), ("power_law", "exponential"), ("lognormal", "exponential")]
    comparisons = [_compare(a, b, ll[a], ll[b]) for a, b in pairs]
    return TailFit(column, float(xmin), len(tail), alpha, ks, comparisons, _verdict(comparisons))


def _threshold(x: np.ndarray) -> tuple[float, float, float] | None:
    """(x_min, alpha, KS) with the smallest KS distance over candidate thresholds (x sorted ascending).

    alpha comes from suffix sums of log(x) (exact); KS is read at up to KS_POINTS order statistics of the tail
    (within 1/KS_POINTS of the exact distance)."""
    best = None
    logs = np.log(x)
    suffix = np.concatenate((np.cumsum(logs[::-1])[::-1], [0.0]))  # suffix[i] = sum(logs[i:])
    for xmin in np.unique(np.quantile(x, CANDIDATE_QUANTILES, method="lower")):
        start = int(np.searchsorted(x, xmin))
        n = len(x) - start
        if n < MIN_TAIL:
            continue
        alpha = n / (suffix[start] - n * np.log(xmin))
        if not np.isfinite(alpha) or alpha <= 0:
            continue
        ranks = np.unique(np.linspace(0, n - 1, min(n, KS_POINTS)).astype(np.int64))
        empirical = ranks / n
        model = 1 - (x[start + ranks] / xmin) ** -alpha
        ks = float(np.max(np.abs(empirical - model)))
        if best is None or ks < best[2]:
            best = (float(xmin), float(alpha), ks)
    return best


def _ll_power(t: np.ndarray, xmin: float, alpha: float) -> np.ndarray:
    return np.asarray(np.log(alpha / xmin) - (alpha + 1) * np.log(t / xmin))


def _ll_exponential(t: np.ndarray, xmin: float) -> np.ndarray:
    lam = 1.0 / max(float(np.mean(t - xmin)), 1e-12)
    return np.asarray(np.log(lam) - lam * (t - xmin))


def _ll_lognormal(t: np.ndarray, xmin: float) -> np.ndarray:
    """Lognormal truncated at x_min, fitted by maximum likelihood."""
    logs = np.log(t)

    def nll(p: np.ndarray) -> float:
        mu, sigma = p[0], np.exp(p[1])
        tail_mass = stats.norm.sf((np.log(xmin) - mu) / sigma)
        if tail_mass <= 1e-300:
            return 1e300
        return -float(np.sum(stats.norm.logpdf(logs, mu, sigma) - logs - np.log(tail_mass)))

    start = np.array([logs.mean(), np.log(max(logs.std(), 1e-3))])
    p = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9}).x
    mu, sigma = p[0], np.exp(p[1])
    tail_mass = stats.norm.sf((np.log(xmin) - mu) / sigma)
    return np.asarray(stats.norm.logpdf(logs, mu, sigma) - logs - np.log(tail_mass))


def _compare(first: str, second: str, ll_a: np.ndarray, ll_b: np.ndarray) -> TailComparison:
    """Vuong's test: R > 0 favours `first`; p is the two-sided significance of the sign of R."""
    diff = ll_a - ll_b
    r = float(diff.sum())
    sd = float(diff.std())
    p = float(special.erfc(abs(r) / (np.sqrt(2 * len(diff)) * sd))) if sd > 0 else 1.0
    favoured = "inconclusive" if p > SIGNIFICANCE else (first if r > 0 else second)
    return TailComparison(first, second, r, p, favoured)


def _verdict(comparisons: list[TailComparison]) -> str:
    """Light (exponential) unless a heavier family beats it; then power law, lognormal, or both possible."""
    won = {(c.first, c.second): c.favoured for c in comparisons}
    if won["power_law", "exponential"] != "power_law" and won["lognormal", "exponential"] != "lognormal":
        return "exponential"
    pl_vs_ln = won["power_law", "lognormal"]
    return pl_vs_ln if pl_vs_ln != "inconclusive" else "power_law_or_lognormal"
