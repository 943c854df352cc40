"""A Cox (doubly stochastic Poisson) process: the trace's own rate trajectory, denoised, times a log-Gaussian
multiplier that carries the burstiness below the trajectory's window. The default model: it reproduces the
index-of-dispersion curve, which a renewal fit cannot (a single gamma has dispersion CV^2 at every scale).

    rate(t) = rates_rps[window of t] * exp(X(t) - var/2),   X = sum of independent OU processes X_k
    X_k: variance sigma2[k], correlation time tau_s[k] (all below window_s / 4)

Requests closer than 10 ms form batches (sizes and inner gaps kept as distributions): the process above draws
batch starts. Fit: the per-window rates are the counts, shrunk toward their local mean just enough that the
counts the model draws vary as much as the trace's (plain counts would add the sampling noise twice). The sigma2
are least squares on the log dispersion curve of the arrivals after rescaling time by the trajectory (the analytic curve
of a log-Gaussian Cox process: D(T) = 1 + rate * (2/T) * int_0^T (T - u) C(u) du, C(u) = exp(sum sigma2_k
exp(-u / tau_k)) - 1). Sampling: the OU paths on a grid, the cumulative rate, arrivals by inversion. A longer
duration repeats the trajectory in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Self

import numpy as np
from scipy import optimize, signal

from servetrace.analytics.arrivals import dispersion_curve
from servetrace.errors import ModelFileError
from servetrace.generator.arrivals import register
from servetrace.generator.arrivals.base import ArrivalModel, TooShort
from servetrace.generator.params import increasing, numbers, positive

MIN_PER_WINDOW = 10.0  # the trajectory window holds this many requests on average (at least 5 s)
MIN_WINDOW_S = 5.0
BATCH_GAP_S = 0.01
GAP_QUANTILES = 101
SMOOTH_WINDOWS = 15  # the local mean the counts shrink toward: +-15 windows
MAX_GRID = 20_000_000
_U = np.concatenate(([0.0], np.geomspace(1e-4, 1e6, 3000)))  # lags for the dispersion integral


@register
@dataclass(frozen=True)
class Cox(ArrivalModel):
    window_s: float
    rates_rps: list[float]
    tau_s: list[float]
    sigma2: list[float]
    batch_gap_s: float = BATCH_GAP_S  # requests closer than this form one batch
    batch_sizes: list[float] = dataclass_field(default_factory=lambda: [1.0])  # P(size = 1, 2, ...)
    batch_gaps_s: list[float] = dataclass_field(default_factory=list)  # quantiles of the gaps inside batches

    name = "cox"
    description = "denoised rate trajectory x multi-scale log-Gaussian multiplier (fits the dispersion curve)"

    @classmethod
    def fit(cls, arrival_s: np.ndarray, span_s: float, window_s: float | None = None) -> Self:
        rate = len(arrival_s) / span_s if span_s > 0 else 0.0
        w = window_s or max(MIN_WINDOW_S, float(np.ceil(MIN_PER_WINDOW / max(rate, 1e-9))))
        n = int(span_s // w)
        if n < 4 or len(arrival_s) < 50:
            raise TooShort(f"fewer than 4 complete {w:g} s windows or 50 requests")
        inside = arrival_s[arrival_s < n * w]
        starts, sizes, inner = _batches(inside, BATCH_GAP_S)
        counts = np.diff(np.searchsorted(inside, w * np.arange(n + 1))).astype(float)
        start_counts = np.diff(np.searchsorted(starts, w * np.arange(n + 1))).astype(float)
        taus = _taus(w)
        sigma2 = _fit_multiplier(starts, start_counts, w, taus)
        d_starts = _dispersion(sigma2, taus, start_counts.mean() / w, np.array([w]))[0]
        noise = start_counts.mean() * (d_starts * sizes.mean() ** 2 + sizes.var())  # compound count variance
        rates = _shrunk(counts, noise) / w
        pmf = np.bincount(sizes)[1:] / len(sizes)
        gaps = np.quantile(inner, np.linspace(0, 1, GAP_QUANTILES)).tolist() if len(inner) else []
        return cls(w, [float(r) for r in rates], [float(t) for t in taus], [float(s) for s in sigma2], BATCH_GAP_S,
                   [float(p) for p in pmf], [float(g) for g in gaps])  # fmt: skip

    def sample(self, duration_s: float, rng: np.random.Generator) -> np.ndarray:
        taus, sig2 = np.array(self.tau_s), np.array(self.sigma2)
        active = sig2 > 1e-6
        taus, sig2 = taus[active], sig2[active]
        step = min(float(taus.min()) / 4 if len(taus) else self.window_s / 4, self.window_s / 4)
        step = max(step, duration_s / MAX_GRID)
        t = np.arange(int(np.ceil(duration_s / step)) + 1) * step
        x = np.zeros(len(t))
        for tau, var in zip(taus, sig2, strict=True):
            x += _ou_path(t, float(tau), float(var), step, rng)
        windows = (t // self.window_s).astype(np.int64) % len(self.rates_rps)
        mean_size = float(np.dot(np.arange(1, len(self.batch_sizes) + 1), self.batch_sizes))
        intensity = np.asarray(self.rates_rps)[windows] / mean_size * np.exp(x - sig2.sum() / 2)
        cum = np.concatenate(([0.0], np.cumsum(intensity[:-1] * step)))
        starts = np.interp(np.sort(rng.uniform(0.0, cum[-1], rng.poisson(cum[-1]))), cum, t)
        times = np.sort(self._batched(starts, rng))
        return times[times < duration_s]

    def _batched(self, starts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Each start becomes a batch: a size from `batch_sizes`, gaps inside from `batch_gaps_s`."""
        if len(self.batch_sizes) == 1 or not self.batch_gaps_s:
            return starts
        sizes = rng.choice(np.arange(1, len(self.batch_sizes) + 1), size=len(starts), p=self.batch_sizes)
        owner = np.repeat(np.arange(len(starts)), sizes)
        first = np.repeat(np.cumsum(sizes) - sizes, sizes)
        gaps = np.interp(rng.uniform(size=len(owner)), np.linspace(0, 1, len(self.batch_gaps_s)), self.batch_gaps_s)
        gaps[first == np.arange(len(owner))] = 0.0
        offsets = np.cumsum(gaps)
        return np.asarray(starts[owner] + offsets - offsets[first])

    def scaled(self, rate_scale: float) -> Self:
        rates = [r * rate_scale for r in self.rates_rps]
        return type(self)(self.window_s, rates, self.tau_s, self.sigma2, self.batch_gap_s, self.batch_sizes,
                          self.batch_gaps_s)  # fmt: skip

    def params(self) -> dict[str, Any]:
        return {
            "window_s": self.window_s,
            "tau_s": self.tau_s,
            "sigma2": self.sigma2,
            "batch_gap_s": self.batch_gap_s,
            "batch_sizes": self.batch_sizes,
            "batch_gaps_s": self.batch_gaps_s,
            "rates_rps": self.rates_rps,
        }

    @classmethod
    def from_params(cls, d: dict[str, Any], where: str) -> Self:
        taus = numbers(d, "tau_s", where)
        if any(t <= 0 for t in taus):
            raise ModelFileError(f"{where}.tau_s: every correlation time must be > 0")
        sigma2 = numbers(d, "sigma2", where, low=0.0, size=len(taus))
        rates = numbers(d, "rates_rps", where, low=0.0)
        sizes = numbers(d, "batch_sizes", where, low=0.0) if "batch_sizes" in d else [1.0]
        if abs(sum(sizes) - 1) > 1e-6:
            raise ModelFileError(f"{where}.batch_sizes: probabilities of sizes 1, 2, ... must sum to 1")
        gaps = increasing(numbers(d, "batch_gaps_s", where, low=0.0), f"{where}.batch_gaps_s") if d.get(
            "batch_gaps_s") else []  # fmt: skip
        gap = positive(d, "batch_gap_s", where) if "batch_gap_s" in d else BATCH_GAP_S
        return cls(positive(d, "window_s", where), rates, taus, sigma2, gap, sizes, gaps)

    def rescaled_gaps(self, arrival_s: np.ndarray) -> np.ndarray:
        """Through the trajectory's compensator (the multiplier at its mean): bursts below the window show."""
        rates = np.asarray(self.rates_rps)
        cum = np.concatenate(([0.0], np.cumsum(rates * self.window_s)))
        w = (arrival_s // self.window_s).astype(np.int64)
        whole, part = w // len(rates), w % len(rates)
        big = whole * cum[-1] + cum[part] + (arrival_s - w * self.window_s) * rates[part]
        return np.diff(big)

    def mean_rate(self) -> float:
        return float(np.mean(self.rates_rps))


def _batches(arrival_s: np.ndarray, gap_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(batch start times, batch sizes, gaps inside batches): a gap under `gap_s` continues a batch."""
    gaps = np.diff(arrival_s)
    start = np.concatenate(([True], gaps >= gap_s))
    sizes = np.diff(np.append(np.flatnonzero(start), len(arrival_s)))
    return arrival_s[start], sizes, gaps[gaps < gap_s]


def _taus(window_s: float) -> np.ndarray:
    """Correlation times 0.05 s x 3^k up to a quarter of the trajectory window."""
    taus = 0.05 * 3.0 ** np.arange(12)
    return taus[taus <= window_s / 4]


def _fit_multiplier(arrival_s: np.ndarray, counts: np.ndarray, window_s: float, taus: np.ndarray) -> np.ndarray:
    """sigma2 by least squares on the log dispersion curve of the arrivals, time rescaled by the trajectory."""
    if not len(taus):
        return np.zeros(0)
    rates = counts / window_s
    cum = np.concatenate(([0.0], np.cumsum(counts)))
    w = np.minimum((arrival_s // window_s).astype(np.int64), len(counts) - 1)
    mean_rate = cum[-1] / (len(counts) * window_s)
    rescaled = (cum[w] + (arrival_s - w * window_s) * rates[w]) / mean_rate
    windows = tuple(x for x in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120) if x <= window_s / 4)
    points = [p for p in dispersion_curve(rescaled, windows) if p.index is not None and p.windows >= 20]
    if not points:
        return np.zeros(len(taus))
    t_s = np.array([p.window_s for p in points])
    target = np.log([max(p.index or 0.0, 1e-3) for p in points])

    def residual(log_sigma2: np.ndarray) -> np.ndarray:
        return np.asarray(np.log(_dispersion(np.exp(log_sigma2), taus, mean_rate, t_s)) - target)

    fit = optimize.least_squares(residual, np.full(len(taus), -3.0), bounds=(-20.0, 3.0))
    sigma2 = np.exp(fit.x)
    return np.where(sigma2 < 1e-6, 0.0, sigma2)


def _dispersion(sigma2: np.ndarray, taus: np.ndarray, rate: float, windows_s: np.ndarray) -> np.ndarray:
    """Index of dispersion of a log-Gaussian Cox process with constant mean `rate`, at each window."""
    out = []
    for t in windows_s:
        u = np.append(_U[t > _U], t)
        cov = np.expm1(np.sum(sigma2[:, None] * np.exp(-u[None, :] / taus[:, None]), axis=0))
        out.append(1.0 + rate * 2.0 / t * np.trapezoid((t - u) * cov, u))
    return np.array(out)


def _shrunk(counts: np.ndarray, noise_var: float) -> np.ndarray:
    """Counts pulled toward their local mean so that their variance about it loses the sampling noise."""
    k = min(SMOOTH_WINDOWS, (len(counts) - 1) // 2)
    padded = np.pad(counts, k, mode="edge")
    local = np.convolve(padded, np.ones(2 * k + 1) / (2 * k + 1), mode="valid")
    resid = counts - local
    keep = np.sqrt(max(0.0, 1.0 - noise_var / max(float(np.var(resid)), 1e-12)))
    return np.asarray(np.maximum(local + keep * resid, 0.0))


def _ou_path(t: np.ndarray, tau: float, var: float, step: float, rng: np.random.Generator) -> np.ndarray:
    """A stationary Ornstein-Uhlenbeck path (variance `var`, correlation time `tau`), exact on its own grid of
    tau/4 (or `step`, if coarser), held constant between its points."""
    own = max(tau / 4, step)
    m = int(np.ceil(t[-1] / own)) + 2
    rho = np.exp(-own / tau)
    noise = rng.normal(0.0, np.sqrt(var * (1 - rho**2)), m)
    noise[0] = rng.normal(0.0, np.sqrt(var))
    path = signal.lfilter([1.0], [1.0, -rho], noise)
    return np.asarray(path[np.minimum((t / own).astype(np.int64), m - 1)])
