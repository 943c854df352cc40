"""Empirical distributions as quantile tables: fitted from a column, sampled by inverse transform.

A table holds the values at evenly spaced probabilities 0..1 (the min and max included); sampling interpolates
between them, so the sample's distribution is within 1/(points - 1) of the data's in KS distance, before
rounding integer columns. Above p99.9 a table may carry a power-law tail (Hill's alpha from the analytics),
capped at `cap`, so larger-than-seen values can appear as they would in a longer trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from servetrace.analytics.tails import tail_fit
from servetrace.errors import ModelFileError
from servetrace.generator.params import increasing, number, numbers

POINTS = 1001
TAIL_FROM = 0.999


@dataclass(frozen=True)
class QuantileTable:
    quantiles: list[float]  # values at probabilities linspace(0, 1, len)
    integer: bool = True
    tail_alpha: float | None = None  # power-law tail above p99.9, P(X > x) ~ x^-alpha
    cap: float | None = None  # no sample above this (the tail's upper end)

    @classmethod
    def fit(cls, values: np.ndarray, points: int = POINTS, integer: bool = True, tail: bool = False) -> Self:
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        if not len(v):
            raise ValueError("no values to fit")
        q = np.quantile(v, np.linspace(0, 1, points))
        alpha = None
        if tail and len(v) >= 1000:
            fit = tail_fit("x", v)
            if fit.verdict in ("power_law", "power_law_or_lognormal") and fit.alpha and fit.alpha > 1:
                alpha = round(float(fit.alpha), 4)
        return cls([float(x) for x in q], integer, alpha, float(v.max()) if alpha else None)

    def sample_u(self, u: np.ndarray) -> np.ndarray:
        """Values at probabilities `u` (inverse transform): one uniform draw per value keeps strata aligned."""
        grid = np.linspace(0, 1, len(self.quantiles))
        x = np.interp(u, grid, self.quantiles)
        if self.tail_alpha:
            hi = u > TAIL_FROM
            base = np.interp(TAIL_FROM, grid, self.quantiles)
            pareto = base * ((1 - u[hi]) / (1 - TAIL_FROM)) ** (-1 / self.tail_alpha)
            x[hi] = np.minimum(pareto, self.cap or np.inf)
        return np.asarray(np.rint(x) if self.integer else x)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.sample_u(rng.uniform(size=n))

    def mean(self) -> float:
        return float(np.mean(self.sample_u(np.linspace(0, 1, 20001))))

    def scaled(self, factor: float) -> Self:
        cap = self.cap * factor if self.cap else None
        return type(self)([q * factor for q in self.quantiles], self.integer, self.tail_alpha, cap)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"quantiles": [round(q, 6) for q in self.quantiles]}
        if not self.integer:
            d["integer"] = False
        if self.tail_alpha:
            d["tail_alpha"], d["cap"] = self.tail_alpha, self.cap
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str) -> Self:
        if not isinstance(d, dict):
            raise ModelFileError(f"{where}: must be an object with 'quantiles'")
        q = increasing(numbers(d, "quantiles", where, low=0.0), f"{where}.quantiles")
        if len(q) < 2:
            raise ModelFileError(f"{where}.quantiles: needs at least 2 values (p0 and p100)")
        alpha = number(d, "tail_alpha", where, 0.0) if d.get("tail_alpha") is not None else None
        cap = number(d, "cap", where, 0.0) if alpha else None
        return cls(q, bool(d.get("integer", True)), alpha, cap)
