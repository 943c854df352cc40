"""Reading model-file fields with errors that name them: `clients[0].arrivals.rate: must be > 0, got -1`."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

from servetrace.errors import ModelFileError


def read_json(path: Path, what: str) -> Any:
    """A JSON file's content; an unreadable or malformed file is one ModelFileError naming it."""
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}") from exc


def field(d: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(d, dict):
        raise ModelFileError(f"{where}: must be an object, got {type(d).__name__}")
    if key not in d:
        raise ModelFileError(f"{where}.{key}: missing")
    return d[key]


def number(d: dict[str, Any], key: str, where: str, low: float | None = None, strict: bool = True) -> float:
    """A finite number, above `low` (or at least `low` when not `strict`)."""
    v = field(d, key, where)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ModelFileError(f"{where}.{key}: must be a finite number, got {v!r}")
    if low is not None and (v <= low if strict else v < low):
        raise ModelFileError(f"{where}.{key}: must be {'>' if strict else '>='} {low:g}, got {v!r}")
    return float(v)


def positive(d: dict[str, Any], key: str, where: str) -> float:
    return number(d, key, where, 0.0)


def probability(d: dict[str, Any], key: str, where: str) -> float:
    v = number(d, key, where, 0.0, strict=False)
    if v > 1:
        raise ModelFileError(f"{where}.{key}: must be a probability in [0, 1], got {v!r}")
    return v


def numbers(d: dict[str, Any], key: str, where: str, low: float | None = None, size: int | None = None) -> list[float]:
    """A non-empty list of finite numbers, each at least `low`."""
    v = field(d, key, where)
    if not isinstance(v, list) or not v:
        raise ModelFileError(f"{where}.{key}: must be a non-empty list of numbers")
    if size is not None and len(v) != size:
        raise ModelFileError(f"{where}.{key}: must have {size} values, got {len(v)}")
    out = []
    for i, x in enumerate(v):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise ModelFileError(f"{where}.{key}[{i}]: must be a finite number, got {x!r}")
        if low is not None and x < low:
            raise ModelFileError(f"{where}.{key}[{i}]: must be >= {low:g}, got {x!r}")
        out.append(float(x))
    return out


def increasing(values: list[float], where: str) -> list[float]:
    if any(b < a for a, b in itertools.pairwise(values)):
        raise ModelFileError(f"{where}: must not decrease")
    return values
