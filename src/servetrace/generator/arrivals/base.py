"""The arrival-model protocol: fit to arrival times, sample a new sequence, scale the rate, round-trip a dict."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np


class TooShort(Exception):
    """The trace is too short or too sparse for this model; the caller falls back and says so."""


class ArrivalModel(ABC):
    """Arrival times in seconds from 0. Implementations are dataclasses of their parameters."""

    name: ClassVar[str]
    description: ClassVar[str]

    @classmethod
    @abstractmethod
    def fit(cls, arrival_s: np.ndarray, span_s: float) -> Self:
        """Fit to sorted arrivals observed over [0, span_s]; raise TooShort when they cannot support the model."""

    @abstractmethod
    def sample(self, duration_s: float, rng: np.random.Generator) -> np.ndarray:
        """Sorted arrival times in [0, duration_s)."""

    @abstractmethod
    def scaled(self, rate_scale: float) -> Self:
        """The same process with every rate multiplied by `rate_scale` (burst structure kept)."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The parameters as JSON values (the model file's `arrivals` object, without `model`)."""

    @classmethod
    @abstractmethod
    def from_params(cls, d: dict[str, Any], where: str) -> Self:
        """Validate and build from a model file's `arrivals` object; errors name `where`.field."""

    def loglik(self, arrival_s: np.ndarray, span_s: float) -> float | None:
        """Log-likelihood of arrivals over [0, span_s] (held-out selection); None when not tractable."""
        return None

    def rescaled_gaps(self, arrival_s: np.ndarray) -> np.ndarray | None:
        """Time-rescaling (Brown et al. 2002): the gaps of the arrivals mapped through the model's compensator,
        Exp(1) when the model is right; None when the model has no closed-form compensator."""
        return None

    def mean_rate(self) -> float:
        """Requests per second, in the long run."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.name, **self.params()}
