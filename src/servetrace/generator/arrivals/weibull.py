"""Weibull renewal arrivals (shape below 1: bursty, the published fit of the Azure 2023 traces)."""

from __future__ import annotations

import numpy as np
from scipy import special

from servetrace.generator.arrivals import register
from servetrace.generator.arrivals.renewal import Renewal


@register
class WeibullRenewal(Renewal):
    name = "weibull"
    family = "weibull"
    description = "renewal process with Weibull gaps"

    def gaps(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.scale_s * rng.weibull(self.shape, n)

    def mean_gap_s(self) -> float:
        return float(self.scale_s * special.gamma(1 + 1 / self.shape))

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        k, lam = self.shape, self.scale_s
        return np.asarray(np.log(k / lam) + (k - 1) * np.log(x / lam) - (x / lam) ** k)

    def logsf(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(-((x / self.scale_s) ** self.shape))
