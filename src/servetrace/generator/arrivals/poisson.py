"""Homogeneous Poisson arrivals: the baseline every other model is compared with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from servetrace.generator.arrivals import register
from servetrace.generator.arrivals.base import ArrivalModel, TooShort
from servetrace.generator.params import positive


@register
@dataclass(frozen=True)
class Poisson(ArrivalModel):
    rate_rps: float

    name = "poisson"
    description = "homogeneous Poisson process (exponential gaps, dispersion 1 at every window)"

    @classmethod
    def fit(cls, arrival_s: np.ndarray, span_s: float) -> Self:
        if len(arrival_s) < 1 or span_s <= 0:
            raise TooShort("no requests over a positive span")
        return cls(len(arrival_s) / span_s)

    def sample(self, duration_s: float, rng: np.random.Generator) -> np.ndarray:
        n = rng.poisson(self.rate_rps * duration_s)
        return np.sort(rng.uniform(0.0, duration_s, n))

    def scaled(self, rate_scale: float) -> Self:
        return type(self)(self.rate_rps * rate_scale)

    def params(self) -> dict[str, Any]:
        return {"rate_rps": self.rate_rps}

    @classmethod
    def from_params(cls, d: dict[str, Any], where: str) -> Self:
        return cls(positive(d, "rate_rps", where))

    def loglik(self, arrival_s: np.ndarray, span_s: float) -> float:
        return float(len(arrival_s) * np.log(self.rate_rps) - self.rate_rps * span_s)

    def rescaled_gaps(self, arrival_s: np.ndarray) -> np.ndarray:
        return np.diff(arrival_s) * self.rate_rps

    def mean_rate(self) -> float:
        return self.rate_rps
