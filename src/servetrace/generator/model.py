"""The workload model file: versioned JSON a person can read and edit.

    {"servetrace_model": 1, "duration_s": ..., "block_size": ..., "source": {...},
     "clients": [{"name": ..., "arrivals": {"model": ..., ...}, "attributes": {...},
                  "sessions": {...}?, "prefix": {...}?}]}

Every field is validated on load; an error names the field (`clients[0].arrivals.rate_rps: must be > 0`).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servetrace.errors import ModelFileError, UsageError
from servetrace.generator.arrivals import ArrivalModel, arrivals_from_dict
from servetrace.generator.attributes import Attributes
from servetrace.generator.params import field as require
from servetrace.generator.params import positive, read_json
from servetrace.generator.prefix import PrefixModel
from servetrace.generator.sessions import SessionModel

VERSION = 1
SHARE_ALIASES = {"image_share": "image", "audio_share": "audio", "video_share": "video", "text_share": "text"}


@dataclass(frozen=True)
class Client:
    name: str
    arrivals: ArrivalModel
    attributes: Attributes
    sessions: SessionModel | None = None
    prefix: PrefixModel | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "arrivals": self.arrivals.to_dict()}
        if self.sessions is not None:
            d["sessions"] = self.sessions.to_dict()
        if self.prefix is not None:
            d["prefix"] = self.prefix.to_dict()
        d["attributes"] = self.attributes.to_dict()
        return d


@dataclass(frozen=True)
class WorkloadModel:
    clients: list[Client]
    duration_s: float
    block_size: int | None = None
    source: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "servetrace_model": VERSION,
            "duration_s": self.duration_s,
            "block_size": self.block_size,
            "source": self.source,
            "clients": [c.to_dict() for c in self.clients],
        }

    def mean_rate(self) -> float:
        return sum(c.arrivals.mean_rate() for c in self.clients)


def from_dict(d: Any) -> WorkloadModel:
    if not isinstance(d, dict):
        raise ModelFileError("the model file must hold a JSON object")
    version = d.get("servetrace_model")
    if version != VERSION:
        raise ModelFileError(
            f"servetrace_model: unknown model file version {version!r} (this servetrace reads {VERSION})"
        )
    clients_d = require(d, "clients", "")
    if not isinstance(clients_d, list) or not clients_d:
        raise ModelFileError("clients: must be a non-empty list")
    clients = [_client(c, f"clients[{i}]") for i, c in enumerate(clients_d)]
    block = d.get("block_size")
    if block is not None and (not isinstance(block, int) or isinstance(block, bool) or block <= 0):
        raise ModelFileError(f"block_size: must be a positive integer or null, got {block!r}")
    source = d.get("source") or {}
    return WorkloadModel(clients, positive(d, "duration_s", ""), block, source if isinstance(source, dict) else {})


def _client(d: Any, where: str) -> Client:
    name = require(d, "name", where)
    if not isinstance(name, str) or not name:
        raise ModelFileError(f"{where}.name: must be a non-empty string")
    return Client(
        name,
        arrivals_from_dict(require(d, "arrivals", where), f"{where}.arrivals"),
        Attributes.from_dict(require(d, "attributes", where), f"{where}.attributes"),
        SessionModel.from_dict(d["sessions"], f"{where}.sessions") if d.get("sessions") else None,
        PrefixModel.from_dict(d["prefix"], f"{where}.prefix") if d.get("prefix") else None,
    )


def load_model(path: str | Path, sets: list[str] | None = None) -> WorkloadModel:
    """Read and validate a model file; `sets` are `key=value` edits applied first (see `apply_sets`)."""
    p = Path(path)
    d, shares = apply_sets(read_json(p, "the model file"), sets or [])
    try:
        model = from_dict(d)
    except ModelFileError as exc:
        raise ModelFileError(f"{p}: {exc}") from exc
    for kind, share in shares.items():
        model = with_share(model, kind, share)
    return model


def apply_sets(d: dict[str, Any], sets: list[str]) -> tuple[dict[str, Any], dict[str, float]]:
    """`image_share=0.4` (and audio, video, text) set a modality's share in every client; any other key is a
    dotted path into the file (`clients.0.arrivals.rate_rps=3`), its value JSON."""
    shares: dict[str, float] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {item!r}: expected key=value")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if key in SHARE_ALIASES:
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise UsageError(f"--set {key}: must be a share between 0 and 1, got {raw!r}")
            shares[SHARE_ALIASES[key]] = float(value)
        else:
            _set_path(d, key, value)
    return d, shares


def _set_path(d: Any, key: str, value: Any) -> None:
    parts = key.split(".")
    node = d
    for i, part in enumerate(parts[:-1]):
        node = _child(node, part, ".".join(parts[: i + 1]))
    last = parts[-1]
    if isinstance(node, list):
        node[_index(node, last, key)] = value
    elif isinstance(node, dict) and last in node:
        node[last] = value
    else:
        raise UsageError(f"--set {key}: no such field in the model file")


def _child(node: Any, part: str, path: str) -> Any:
    if isinstance(node, list):
        return node[_index(node, part, path)]
    if isinstance(node, dict) and part in node:
        return node[part]
    raise UsageError(f"--set {path}: no such field in the model file")


def _index(node: list[Any], part: str, path: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise UsageError(f"--set {path}: no such list position")
    return int(part)


def with_share(model: WorkloadModel, kind: str, share: float) -> WorkloadModel:
    clients = [c for c in model.clients if kind in c.attributes.strata]
    if not clients:
        raise UsageError(f"--set {kind}_share: the model has no {kind} requests")
    out = [
        Client(c.name, c.arrivals, c.attributes.with_share(kind, share), c.sessions, c.prefix)
        if kind in c.attributes.strata else c
        for c in model.clients
    ]  # fmt: skip
    return WorkloadModel(out, model.duration_s, model.block_size, model.source)


def save_model(model: WorkloadModel, path: str | Path) -> Path:
    """Write the model file atomically (indented JSON)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(model.to_dict(), indent=1, allow_nan=False) + "\n")
    os.replace(tmp, p)
    return p
