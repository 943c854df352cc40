"""Gamma renewal arrivals (CV = 1 / sqrt(shape))."""

from __future__ import annotations

import numpy as np
from scipy import special

from servetrace.generator.arrivals import register
from servetrace.generator.arrivals.renewal import Renewal


@register
class GammaRenewal(Renewal):
    name = "gamma"
    family = "gamma"
    description = "renewal process with gamma gaps"

    def gaps(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.gamma(self.shape, self.scale_s, n)

    def mean_gap_s(self) -> float:
        return self.shape * self.scale_s

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        k, t = self.shape, self.scale_s
        return np.asarray((k - 1) * np.log(x) - x / t - special.gammaln(k) - k * np.log(t))

    def logsf(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(np.log(np.maximum(special.gammaincc(self.shape, x / self.scale_s), 1e-300)))
