"""Windowed renewal arrivals, as ServeGen describes traffic: each window has its own rate and its own gamma or
Weibull gap shape (Poisson where a window holds too few requests to fit a shape).

The rate trajectory carries burstiness at the window scale and beyond; the per-window shape carries it below.
A duration longer than the fitted windows repeats them in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from scipy import special

from servetrace.analytics.fits import fit_family
from servetrace.errors import ModelFileError
from servetrace.generator.arrivals import register
from servetrace.generator.arrivals.base import ArrivalModel, TooShort
from servetrace.generator.params import field, numbers, positive, probability

WINDOW_S = 60.0
MIN_WINDOW_GAPS = 20  # fewer requests in a window: Poisson there
FAMILIES = ("poisson", "gamma", "weibull")


@register
@dataclass(frozen=True)
class Windowed(ArrivalModel):
    window_s: float
    rates_rps: list[float]
    families: list[str]
    shapes: list[float]  # 1.0 for poisson windows
    zero_share: float = 0.0

    name = "windowed"
    description = "per-window rate and gamma/Weibull gap shape (ServeGen)"

    @classmethod
    def fit(cls, arrival_s: np.ndarray, span_s: float, window_s: float = WINDOW_S) -> Self:
        n = int(span_s // window_s)
        if n < 2 or len(arrival_s) < 2 * MIN_WINDOW_GAPS:
            raise TooShort(f"fewer than 2 complete {window_s:g} s windows or {2 * MIN_WINDOW_GAPS} requests")
        bounds = np.searchsorted(arrival_s, window_s * np.arange(n + 1))
        rates, families, shapes = [], [], []
        for w in range(n):
            inside = arrival_s[bounds[w] : bounds[w + 1]]
            rates.append(len(inside) / window_s)
            family, shape = _best_shape(inside)
            families.append(family)
            shapes.append(shape)
        gaps = np.diff(arrival_s)
        return cls(window_s, rates, families, shapes, float(np.mean(gaps == 0)) if len(gaps) else 0.0)

    def sample(self, duration_s: float, rng: np.random.Generator) -> np.ndarray:
        out = []
        windows = int(np.ceil(duration_s / self.window_s))
        for w in range(windows):
            i = w % len(self.rates_rps)
            start = w * self.window_s
            length = min(self.window_s, duration_s - start)
            times = _window(self.rates_rps[i], self.families[i], self.shapes[i], length, self.zero_share, rng)
            out.append(start + times)
        return np.concatenate(out) if out else np.zeros(0)

    def scaled(self, rate_scale: float) -> Self:
        rates = [r * rate_scale for r in self.rates_rps]
        return type(self)(self.window_s, rates, self.families, self.shapes, self.zero_share)

    def params(self) -> dict[str, Any]:
        return {
            "window_s": self.window_s,
            "zero_share": self.zero_share,
            "rates_rps": self.rates_rps,
            "families": self.families,
            "shapes": self.shapes,
        }

    @classmethod
    def from_params(cls, d: dict[str, Any], where: str) -> Self:
        rates = numbers(d, "rates_rps", where, low=0.0)
        shapes = numbers(d, "shapes", where, size=len(rates))
        families = field(d, "families", where)
        if not isinstance(families, list) or len(families) != len(rates):
            raise ModelFileError(f"{where}.families: must list one family per window ({len(rates)})")
        for i, (f, k) in enumerate(zip(families, shapes, strict=True)):
            if f not in FAMILIES:
                raise ModelFileError(f"{where}.families[{i}]: must be one of {', '.join(FAMILIES)}, got {f!r}")
            if k <= 0:
                raise ModelFileError(f"{where}.shapes[{i}]: must be > 0, got {k!r}")
        zero = probability(d, "zero_share", where) if "zero_share" in d else 0.0
        if zero >= 1:
            raise ModelFileError(f"{where}.zero_share: must be below 1, got {zero!r}")
        return cls(positive(d, "window_s", where), rates, list(families), shapes, zero)

    def mean_rate(self) -> float:
        return float(np.mean(self.rates_rps))


def _best_shape(inside: np.ndarray) -> tuple[str, float]:
    """The gamma or Weibull shape closest to the window's gaps by KS; Poisson with too few gaps."""
    gaps = np.diff(inside)
    positive_gaps = np.sort(gaps[gaps > 0])
    if len(positive_gaps) < MIN_WINDOW_GAPS:
        return "poisson", 1.0
    fits = [f for f in (fit_family(name, positive_gaps) for name in ("gamma", "weibull")) if f is not None]
    if not fits:
        return "poisson", 1.0
    best = min(fits, key=lambda f: f.ks)
    return best.family, float(best.params["shape"])


def _window(
    rate: float, family: str, shape: float, length_s: float, zero_share: float, rng: np.random.Generator
) -> np.ndarray:
    """Arrivals in [0, length_s) at `rate` with gaps of `family` and `shape` (scale set by the rate)."""
    if rate <= 0 or length_s <= 0:
        return np.zeros(0)
    positive_rate = rate / (1 - zero_share)  # zero gaps add requests at no time: the rest are sparser
    if family == "poisson":
        n = rng.poisson(rate * length_s)
        return np.sort(rng.uniform(0, length_s, n))
    mean_gap = 1 / positive_rate
    n = int(1.2 * rate * length_s) + 32
    if family == "gamma":
        gaps = rng.gamma(shape, mean_gap / shape, n)
    else:
        gaps = mean_gap / special.gamma(1 + 1 / shape) * rng.weibull(shape, n)
    if zero_share:
        gaps[rng.uniform(size=n) < zero_share] = 0.0
    t0 = rng.uniform() * gaps[0]  # start part-way into a gap
    times = t0 + np.concatenate(([0.0], np.cumsum(gaps[1:])))
    while times[-1] < length_s:  # rare: a sparse draw; extend
        more = rng.gamma(shape, mean_gap / shape, n) if family == "gamma" else rng.weibull(shape, n) * mean_gap
        times = np.concatenate((times, times[-1] + np.cumsum(more)))
    return np.asarray(times[times < length_s])
