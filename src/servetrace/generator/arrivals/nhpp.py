"""Non-homogeneous Poisson arrivals: a log-linear daily (and weekly) Fourier shape times a slow random multiplier.

    rate(t) = base_rps * exp(sum_k a_k cos(2 pi k (t + phase_s) / P) + b_k sin(2 pi k (t + phase_s) / P)) * M(t)

P is a day for `daily` and a week for `weekly`; entry k - 1 of each list is the [a_k, b_k] (cos, sin) pair of
harmonic k, so a different shape is a hand edit. M is piecewise constant on a `multiplier_step_s` grid,
M = exp(X - sigma^2 / 2) with X a stationary Gaussian AR(1) (an Ornstein-Uhlenbeck process sampled exactly,
correlation time `multiplier_tau_s`), so E[M] = 1 and `base_rps` and the shape set the mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Self

import numpy as np
import statsmodels.api as sm
from scipy import signal

from servetrace.errors import ModelFileError
from servetrace.generator.arrivals import register
from servetrace.generator.arrivals.base import ArrivalModel, TooShort
from servetrace.generator.params import field, number, positive

DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
HARMONICS = 3
BIN_S = 60.0  # count bins for the fit, coarser when the span would need more than MAX_BINS
MAX_BINS = 50_000
MIN_ARRIVALS = 20
MIN_BINS = 3
MULTIPLIER_STEP_S = 300.0
MIN_STEP_COUNT = 10.0  # expected arrivals per multiplier step when fitting; the step grows on sparse traces
MIN_STEPS = 4  # fewer multiplier steps in the span: no multiplier (sigma 0)
OVERDISPERSED = 1.2  # Pearson dispersion of the Poisson fit above which the GLM is negative binomial
RHO_RANGE = (0.01, 0.99)
SAMPLE_STEP_S = 60.0  # integration grid for sampling and the likelihood, finer for many harmonics
MAX_LOG_SWING = 20.0  # summed harmonic amplitudes in log space: beyond e^20 is a typo, not a traffic shape
MAX_SIGMA = 5.0

Pairs = list[list[float]]


@register
@dataclass(frozen=True)
class NHPP(ArrivalModel):
    base_rps: float
    daily: Pairs  # [cos, sin] coefficient of daily harmonic k at index k - 1
    weekly: Pairs
    phase_s: float = 0.0  # where t = 0 falls in the week (and so in the day)
    multiplier_sigma: float = 0.0  # stationary std of log M
    multiplier_tau_s: float = 3_600.0
    multiplier_step_s: float = MULTIPLIER_STEP_S

    name = "nhpp"
    description = "Poisson with a daily/weekly log-Fourier rate times a slow log-Gaussian AR(1) multiplier"

    @classmethod
    def fit(
        cls,
        arrival_s: np.ndarray,
        span_s: float,
        harmonics: int = HARMONICS,
        start_offset_s: float = 0.0,
        bin_s: float = BIN_S,
    ) -> Self:
        """Fourier terms by a log-linear GLM on bin counts, daily from one day of span and weekly from two weeks;
        shorter traces fit the intercept only and the multiplier carries all the variation."""
        bin_s = max(bin_s, span_s / MAX_BINS)
        if len(arrival_s) < MIN_ARRIVALS or span_s < MIN_BINS * bin_s:
            raise TooShort(f"fewer than {MIN_ARRIVALS} requests or {MIN_BINS} bins of {bin_s:g} s")
        phase_s = float(start_offset_s % WEEK_S)
        terms = _terms(harmonics if span_s >= DAY_S else 0, harmonics if span_s >= 2 * WEEK_S else 0)
        counts, exposure_s = _bin_counts(arrival_s, span_s, bin_s)
        mid_s = np.arange(len(counts)) * bin_s + exposure_s / 2
        design = np.column_stack([np.ones(len(counts)), _fourier(mid_s + phase_s, terms)])
        coef, expected = _fit_glm(counts, design, np.log(exposure_s))
        daily, weekly = _pairs(coef[1:], terms)
        step_s, sigma, tau_s = _fit_multiplier(counts, expected, bin_s)
        return cls(float(np.exp(coef[0])), daily, weekly, phase_s, sigma, tau_s, step_s)

    def sample(self, duration_s: float, rng: np.random.Generator) -> np.ndarray:
        """Inversion of the cumulative intensity on a fine grid (piecewise constant rate), all vectorized."""
        if duration_s <= 0:
            return np.zeros(0)
        edges_s = self._grid(duration_s)
        width_s = np.diff(edges_s)
        mid_s = edges_s[:-1] + width_s / 2
        rate_rps = self._rate(mid_s) * self._multiplier(mid_s, rng)
        cum = np.concatenate(([0.0], np.cumsum(rate_rps * width_s)))
        u = np.sort(rng.uniform(0.0, cum[-1], rng.poisson(cum[-1])))
        return np.asarray(np.minimum(np.interp(u, cum, edges_s), np.nextafter(duration_s, 0.0)))

    def scaled(self, rate_scale: float) -> Self:
        return replace(self, base_rps=self.base_rps * rate_scale)

    def params(self) -> dict[str, Any]:
        return {
            "base_rps": self.base_rps,
            "phase_s": self.phase_s,
            "daily": [list(p) for p in self.daily],
            "weekly": [list(p) for p in self.weekly],
            "multiplier_sigma": self.multiplier_sigma,
            "multiplier_tau_s": self.multiplier_tau_s,
            "multiplier_step_s": self.multiplier_step_s,
        }

    @classmethod
    def from_params(cls, d: dict[str, Any], where: str) -> Self:
        """`weekly` and `phase_s` may be left out (none, 0)."""
        base_rps = positive(d, "base_rps", where)
        sigma = number(d, "multiplier_sigma", where, 0.0, strict=False)
        if sigma > MAX_SIGMA:
            raise ModelFileError(f"{where}.multiplier_sigma: must be <= {MAX_SIGMA:g}, got {sigma!r}")
        return cls(
            base_rps,
            _pairs_field(d, "daily", where),
            _pairs_field(d, "weekly", where) if "weekly" in d else [],
            number(d, "phase_s", where) if "phase_s" in d else 0.0,
            sigma,
            positive(d, "multiplier_tau_s", where),
            positive(d, "multiplier_step_s", where),
        )

    def loglik(self, arrival_s: np.ndarray, span_s: float) -> float:
        """Of the deterministic rate (M = 1): sum of log rate at the arrivals minus its integral over the span."""
        edges_s = self._grid(span_s)
        width_s = np.diff(edges_s)
        integral = float(np.sum(self._rate(edges_s[:-1] + width_s / 2) * width_s))
        return float(np.sum(np.log(self._rate(np.asarray(arrival_s, dtype=float)))) - integral)

    def rescaled_gaps(self, arrival_s: np.ndarray) -> np.ndarray:
        """Through the deterministic rate's integral (M = 1), on the sampling grid."""
        edges_s = self._grid(float(arrival_s[-1]) + 1e-9 if len(arrival_s) else 1.0)
        width_s = np.diff(edges_s)
        cum = np.concatenate(([0.0], np.cumsum(self._rate(edges_s[:-1] + width_s / 2) * width_s)))
        return np.diff(np.interp(arrival_s, edges_s, cum))

    def mean_rate(self) -> float:
        """The rate averaged over a week (or a day): E[M] = 1."""
        period_s = WEEK_S if self.weekly else DAY_S
        n = math.ceil(period_s / self._step_s())
        return float(np.mean(self._rate(np.arange(n) * (period_s / n))))

    def _rate(self, t_s: np.ndarray) -> np.ndarray:
        """The deterministic rate (M = 1) at times `t_s` from the trace start."""
        terms = [(DAY_S, k + 1) for k in range(len(self.daily))] + [(WEEK_S, k + 1) for k in range(len(self.weekly))]
        coef = np.array([c for pair in self.daily + self.weekly for c in pair])
        if not terms:
            return np.full(len(t_s), self.base_rps)
        return np.asarray(self.base_rps * np.exp(_fourier(t_s + self.phase_s, terms) @ coef))

    def _step_s(self) -> float:
        """Integration step: SAMPLE_STEP_S, finer when the highest harmonic would get fewer than 16 points."""
        per_day = max(len(self.daily), len(self.weekly) / 7)
        return min(SAMPLE_STEP_S, DAY_S / per_day / 16) if per_day else SAMPLE_STEP_S

    def _grid(self, duration_s: float) -> np.ndarray:
        """Cell edges over [0, duration_s]; each cell lies inside one multiplier step."""
        step_s = self.multiplier_step_s / math.ceil(self.multiplier_step_s / self._step_s())
        n = max(math.ceil(duration_s / step_s * (1 - 1e-12)), 1)
        return np.asarray(np.minimum(np.arange(n + 1) * step_s, duration_s))

    def _multiplier(self, t_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """M at times `t_s`: exp(X - sigma^2 / 2) with X a stationary AR(1) on the multiplier grid."""
        if self.multiplier_sigma == 0 or len(t_s) == 0:
            return np.ones(len(t_s))
        step = (t_s // self.multiplier_step_s).astype(np.int64)
        rho = math.exp(-self.multiplier_step_s / self.multiplier_tau_s)
        shocks = rng.standard_normal(int(step[-1]) + 1) * self.multiplier_sigma
        shocks[1:] *= math.sqrt(1 - rho**2)  # the first is the stationary start
        x = signal.lfilter([1.0], [1.0, -rho], shocks)
        return np.asarray(np.exp(x - self.multiplier_sigma**2 / 2)[step])


def _terms(daily: int, weekly: int) -> list[tuple[float, int]]:
    """(period, harmonic) of the regressors; weekly multiples of 7 are daily harmonics and left out."""
    return [(DAY_S, k) for k in range(1, daily + 1)] + [(WEEK_S, k) for k in range(1, weekly + 1) if k % 7]


def _fourier(t_s: np.ndarray, terms: list[tuple[float, int]]) -> np.ndarray:
    """Columns cos, sin of each term at times `t_s` (phase included), shape (len(t_s), 2 * len(terms))."""
    angle = 2 * np.pi * np.outer(t_s, [k / period_s for period_s, k in terms])
    return np.stack([np.cos(angle), np.sin(angle)], axis=2).reshape(len(t_s), -1)


def _pairs(coef: np.ndarray, terms: list[tuple[float, int]]) -> tuple[Pairs, Pairs]:
    """The fitted coefficients as daily and weekly [cos, sin] lists indexed by harmonic ([0, 0] where left out)."""
    fitted = {term: [float(coef[2 * i]), float(coef[2 * i + 1])] for i, term in enumerate(terms)}
    daily = max((k for p, k in terms if p == DAY_S), default=0)
    weekly = max((k for p, k in terms if p == WEEK_S), default=0)
    return (
        [fitted.get((DAY_S, k), [0.0, 0.0]) for k in range(1, daily + 1)],
        [fitted.get((WEEK_S, k), [0.0, 0.0]) for k in range(1, weekly + 1)],
    )


def _bin_counts(arrival_s: np.ndarray, span_s: float, bin_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Counts and exposure (seconds) per bin over [0, span_s]; the last bin may be partial."""
    n = max(math.ceil(span_s / bin_s * (1 - 1e-12)), 1)
    index = np.clip((np.asarray(arrival_s) // bin_s).astype(np.int64), 0, n - 1)
    exposure_s = np.full(n, bin_s)
    exposure_s[-1] = span_s - (n - 1) * bin_s
    return np.bincount(index, minlength=n).astype(float), exposure_s


def _fit_glm(counts: np.ndarray, design: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and fitted bin means of a log-link GLM: Poisson, negative binomial when overdispersed
    (alpha by moments from the Poisson fit)."""
    poisson = sm.GLM(counts, design, family=sm.families.Poisson(), offset=offset).fit()
    mu = poisson.fittedvalues
    if poisson.pearson_chi2 / max(poisson.df_resid, 1.0) <= OVERDISPERSED:
        return np.asarray(poisson.params), np.asarray(mu)
    alpha = max(float(np.sum((counts - mu) ** 2 - mu) / np.sum(mu**2)), 1e-8)
    family = sm.families.NegativeBinomial(alpha=alpha)
    nb = sm.GLM(counts, design, family=family, offset=offset).fit(start_params=poisson.params)
    return np.asarray(nb.params), np.asarray(nb.fittedvalues)


def _fit_multiplier(counts: np.ndarray, expected: np.ndarray, bin_s: float) -> tuple[float, float, float]:
    """(step_s, sigma, tau_s) of the multiplier from observed over expected counts per multiplier step.

    Moments of the ratio: Var(c / e) = Var(M) + 1 / e, so Var(M) = sum((c - e)^2 - c) / sum(e^2) with the Poisson
    noise taken out; the lag-1 covariance carries no noise. Log-normal M turns both into sigma and rho of log M.
    """
    per_bin = max(float(np.mean(expected)), 1e-12)
    bins_per_step = max(round(MULTIPLIER_STEP_S / bin_s), math.ceil(MIN_STEP_COUNT / per_bin), 1)
    step_s = bins_per_step * bin_s
    n = len(counts) // bins_per_step
    if n < MIN_STEPS:
        return step_s, 0.0, step_s
    c = counts[: n * bins_per_step].reshape(n, bins_per_step).sum(axis=1)
    e = expected[: n * bins_per_step].reshape(n, bins_per_step).sum(axis=1)
    var_m = float(np.sum((c - e) ** 2 - c) / np.sum(e**2))
    if var_m <= 0:
        return step_s, 0.0, step_s
    sigma2 = math.log1p(min(var_m, math.expm1(MAX_SIGMA**2)))
    cov_m = float(np.sum((c[:-1] - e[:-1]) * (c[1:] - e[1:])) / np.sum(e[:-1] * e[1:]))
    rho_m = float(np.clip(cov_m / var_m, *RHO_RANGE))
    rho = float(np.clip(math.log1p(rho_m * math.expm1(sigma2)) / sigma2, *RHO_RANGE))
    return step_s, math.sqrt(sigma2), -step_s / math.log(rho)


def _pairs_field(d: dict[str, Any], key: str, where: str) -> Pairs:
    """A list (maybe empty) of [cos, sin] pairs of finite numbers, amplitudes summing to at most MAX_LOG_SWING."""
    v = field(d, key, where)
    if not isinstance(v, list):
        raise ModelFileError(f"{where}.{key}: must be a list of [cos, sin] pairs, got {type(v).__name__}")
    out = []
    for i, pair in enumerate(v):
        if not isinstance(pair, list) or len(pair) != 2 or not all(_finite(x) for x in pair):
            raise ModelFileError(f"{where}.{key}[{i}]: must be a [cos, sin] pair of finite numbers, got {pair!r}")
        out.append([float(pair[0]), float(pair[1])])
    swing = sum(math.hypot(a, b) for a, b in out)
    if swing > MAX_LOG_SWING:
        raise ModelFileError(f"{where}.{key}: amplitudes sum to {swing:g}, above {MAX_LOG_SWING:g} in log rate")
    return out


def _finite(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)
