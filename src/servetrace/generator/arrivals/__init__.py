"""Arrival models behind a registry: one implementation per file, each with fit, sample and a dict form."""

from __future__ import annotations

from typing import Any

from servetrace.errors import ModelFileError
from servetrace.generator.arrivals.base import ArrivalModel, TooShort

_MODELS: dict[str, type[ArrivalModel]] = {}


def register(cls: type[ArrivalModel]) -> type[ArrivalModel]:
    _MODELS[cls.name] = cls
    return cls


def arrival_models() -> dict[str, type[ArrivalModel]]:
    return dict(_MODELS)


def get_model(name: str) -> type[ArrivalModel]:
    try:
        return _MODELS[name]
    except KeyError:
        raise ModelFileError(f"unknown arrival model {name!r}; known: {', '.join(sorted(_MODELS))}") from None


def arrivals_from_dict(d: Any, where: str) -> ArrivalModel:
    if not isinstance(d, dict) or "model" not in d:
        raise ModelFileError(f"{where}.model: missing")
    if d["model"] not in _MODELS:
        raise ModelFileError(
            f"{where}.model: unknown arrival model {d['model']!r}; known: {', '.join(sorted(_MODELS))}"
        )
    return _MODELS[d["model"]].from_params(d, where)


# The implementations register themselves on import.
from servetrace.generator.arrivals import cox, gamma, hawkes, mmpp, nhpp, poisson, weibull, windowed  # noqa: E402, F401

__all__ = ["ArrivalModel", "TooShort", "arrival_models", "arrivals_from_dict", "get_model", "register"]
