"""Renewal arrivals: independent gaps from one distribution, with a share of zero gaps (repeated timestamps).

Gamma and Weibull subclasses name the family; the shape carries the burstiness (CV above 1 for shape below 1).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from servetrace.analytics.fits import fit_family
from servetrace.errors import ModelFileError
from servetrace.generator.arrivals.base import ArrivalModel, TooShort
from servetrace.generator.params import positive, probability

MIN_GAPS = 20


@dataclass(frozen=True)
class Renewal(ArrivalModel):
    shape: float
    scale_s: float
    zero_share: float = 0.0  # share of gaps that are exactly 0 (bucketed timestamps)

    family: ClassVar[str]

    @abstractmethod
    def gaps(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` positive gaps from the family."""

    @abstractmethod
    def mean_gap_s(self) -> float:
        """Mean of the positive gaps."""

    @abstractmethod
    def logpdf(self, x: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def logsf(self, x: np.ndarray) -> np.ndarray: ...

    @classmethod
    def fit(cls, arrival_s: np.ndarray, span_s: float) -> Self:
        gaps = np.diff(arrival_s)
        positive_gaps = np.sort(gaps[gaps > 0])
        if len(positive_gaps) < MIN_GAPS:
            raise TooShort(f"fewer than {MIN_GAPS} positive gaps")
        fit = fit_family(cls.family, positive_gaps)
        if fit is None:
            raise TooShort(f"no {cls.family} fit to these gaps")
        model = cls(fit.params["shape"], fit.params["scale"], float(np.mean(gaps == 0)))
        # The likelihood fits the bulk of the gaps and can miss their mean by far (Azure code: by half), which
        # would double the rate; the scale is set to keep the trace's mean gap, the shape to the fitted one.
        return cls(model.shape, model.scale_s * float(positive_gaps.mean()) / model.mean_gap_s(), model.zero_share)

    def sample(self, duration_s: float, rng: np.random.Generator) -> np.ndarray:
        """Gaps in batches until the duration is covered; the first arrival is a uniform fraction of a gap in."""
        rate = self.mean_rate()
        out, t = [], rng.uniform() * self.gaps(1, rng)[0]
        while t < duration_s:
            n = int(1.1 * (duration_s - t) * rate) + 64
            g = self.gaps(n, rng)
            if self.zero_share:
                g[rng.uniform(size=n) < self.zero_share] = 0.0
            times = t + np.concatenate(([0.0], np.cumsum(g[:-1])))
            out.append(times[times < duration_s])
            t = float(times[-1] + g[-1])
        return np.concatenate(out) if out else np.zeros(0)

    def scaled(self, rate_scale: float) -> Self:
        return type(self)(self.shape, self.scale_s / rate_scale, self.zero_share)

    def params(self) -> dict[str, Any]:
        return {"shape": self.shape, "scale_s": self.scale_s, "zero_share": self.zero_share}

    @classmethod
    def from_params(cls, d: dict[str, Any], where: str) -> Self:
        zero = probability(d, "zero_share", where) if "zero_share" in d else 0.0
        if zero >= 1:
            raise ModelFileError(f"{where}.zero_share: must be below 1, got {zero!r}")
        return cls(positive(d, "shape", where), positive(d, "scale_s", where), zero)

    def loglik(self, arrival_s: np.ndarray, span_s: float) -> float:
        """Gaps from 0 to the last arrival, plus the censored gap to the end of the span."""
        gaps = np.diff(np.concatenate(([0.0], arrival_s)))
        zero = gaps == 0
        ll = float(np.sum(self.logpdf(gaps[~zero])))
        if self.zero_share:
            ll += zero.sum() * np.log(self.zero_share) + (~zero).sum() * np.log1p(-self.zero_share)
        elif zero.any():
            return float("-inf")
        tail = span_s - (arrival_s[-1] if len(arrival_s) else 0.0)
        return ll + float(self.logsf(np.array([max(tail, 1e-12)]))[0])

    def rescaled_gaps(self, arrival_s: np.ndarray) -> np.ndarray:
        """-log S(gap) of each positive gap (zero gaps are the model's point mass, left out)."""
        gaps = np.diff(arrival_s)
        return np.asarray(-self.logsf(gaps[gaps > 0]))

    def mean_rate(self) -> float:
        return 1.0 / ((1 - self.zero_share) * self.mean_gap_s())
