"""Request attributes: input and output tokens jointly, modality, reasoning and failures, per stratum.

Strata split requests by modality ("text", "image", "audio", "video") where the trace records counts. In each
stratum input tokens follow a quantile table and output tokens a table per input bucket (input deciles): the
output-given-input dependence, so the input/output correlation survives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pyarrow as pa

from servetrace.errors import ModelFileError
from servetrace.generator.params import field as require
from servetrace.generator.params import increasing, numbers, probability
from servetrace.generator.tables import QuantileTable

INPUT_BUCKETS = 10
MIN_BUCKET = 200  # fewer requests per bucket: fewer buckets
OUTPUT_POINTS = 201
MEDIA = ("image", "audio", "video")


@dataclass(frozen=True)
class Stratum:
    share: float  # of the client's requests
    input_tokens: QuantileTable
    input_edges: list[float]  # upper input bound of each bucket but the last
    output_tokens: list[QuantileTable]  # one per input bucket
    media_count: QuantileTable | None = None  # images (audio clips, videos) per request, for media strata
    media_tokens_per_item: QuantileTable | None = None
    reasoning_share_of_output: QuantileTable | None = None  # reasoning_tokens / output_tokens
    failed_share: float = 0.0  # requests the trace marks failed (output 0)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "share": self.share,
            "failed_share": self.failed_share,
            "input_tokens": self.input_tokens.to_dict(),
            "input_edges": self.input_edges,
            "output_tokens": [t.to_dict() for t in self.output_tokens],
        }
        for key in ("media_count", "media_tokens_per_item", "reasoning_share_of_output"):
            table = getattr(self, key)
            if table is not None:
                d[key] = table.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str) -> Self:
        edges = increasing(numbers(d, "input_edges", where), f"{where}.input_edges") if d.get("input_edges") else []
        outputs = require(d, "output_tokens", where)
        if not isinstance(outputs, list) or len(outputs) != len(edges) + 1:
            raise ModelFileError(f"{where}.output_tokens: must hold one table per input bucket ({len(edges) + 1})")
        optional = {
            key: QuantileTable.from_dict(d[key], f"{where}.{key}") if d.get(key) is not None else None
            for key in ("media_count", "media_tokens_per_item", "reasoning_share_of_output")
        }
        return cls(
            probability(d, "share", where),
            QuantileTable.from_dict(require(d, "input_tokens", where), f"{where}.input_tokens"),
            edges,
            [QuantileTable.from_dict(t, f"{where}.output_tokens[{i}]") for i, t in enumerate(outputs)],
            failed_share=probability(d, "failed_share", where) if "failed_share" in d else 0.0,
            **optional,
        )


@dataclass(frozen=True)
class Attributes:
    strata: dict[str, Stratum]  # "text", "image", "audio", "video"
    columns: list[str] = field(default_factory=list)  # the canonical columns a sample fills

    @classmethod
    def fit(cls, table: pa.Table) -> Self:
        cols = set(table.column_names)
        kind = _kinds(table)
        strata = {}
        for name in ("text", *MEDIA):
            rows = kind == name
            if rows.sum():
                strata[name] = _fit_stratum(table, rows, name, len(kind))
        out = ["input_tokens", "output_tokens"]
        out += [c for c in ("image_count", "image_tokens", "audio_count", "audio_tokens", "video_count",
                            "video_tokens", "reasoning_tokens", "status") if c in cols]  # fmt: skip
        return cls(strata, out)

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Columns for `n` requests; media strata fill their count and token columns, others 0."""
        names = list(self.strata)
        shares = np.array([self.strata[s].share for s in names])
        which = rng.choice(len(names), size=n, p=shares / shares.sum())
        out = {c: np.zeros(n, dtype=np.int64) for c in self.columns if c != "status"}
        failed = np.zeros(n, dtype=bool)
        for i, name in enumerate(names):
            rows = np.flatnonzero(which == i)
            self._fill(name, self.strata[name], rows, out, failed, rng)
        if "status" in self.columns:
            out["status"] = np.where(failed, "failed", "ok")
        return out

    def _fill(
        self, name: str, s: Stratum, rows: np.ndarray, out: dict[str, np.ndarray], failed: np.ndarray,
        rng: np.random.Generator,
    ) -> None:  # fmt: skip
        n = len(rows)
        inp = s.input_tokens.sample(n, rng)
        bucket = np.searchsorted(s.input_edges, inp, side="left")
        u = rng.uniform(size=n)
        outp = np.zeros(n)
        for b, table in enumerate(s.output_tokens):
            pick = bucket == b
            outp[pick] = table.sample_u(u[pick])
        fail = rng.uniform(size=n) < s.failed_share
        outp[fail] = 0
        failed[rows] = fail
        out["input_tokens"][rows], out["output_tokens"][rows] = inp, outp
        if s.media_count is not None and f"{name}_count" in out:
            count = np.maximum(s.media_count.sample(n, rng), 1)
            out[f"{name}_count"][rows] = count
            if s.media_tokens_per_item is not None and f"{name}_tokens" in out:
                tokens = count * s.media_tokens_per_item.sample(n, rng)
                out[f"{name}_tokens"][rows] = tokens
                out["input_tokens"][rows] = np.maximum(inp, tokens)  # the context holds the media tokens
        if s.reasoning_share_of_output is not None and "reasoning_tokens" in out:
            out["reasoning_tokens"][rows] = np.rint(outp * s.reasoning_share_of_output.sample(n, rng))

    def with_share(self, kind: str, share: float) -> Self:
        """The mix with `kind` at `share` of requests, the other strata keeping their proportions."""
        if kind not in self.strata:
            raise ModelFileError(f"the model has no {kind!r} requests to set a share for")
        rest = sum(s.share for k, s in self.strata.items() if k != kind)
        strata = {}
        for k, s in self.strata.items():
            new = share if k == kind else (s.share / rest * (1 - share) if rest else 0.0)
            strata[k] = Stratum(**{**s.__dict__, "share": new})
        return type(self)(strata, self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "strata": {k: s.to_dict() for k, s in self.strata.items()}}

    @classmethod
    def from_dict(cls, d: Any, where: str) -> Self:
        strata_d = require(d, "strata", where)
        if not isinstance(strata_d, dict) or not strata_d:
            raise ModelFileError(f"{where}.strata: must map text/image/audio/video to a stratum")
        strata = {}
        for k, v in strata_d.items():
            if k not in ("text", *MEDIA):
                raise ModelFileError(f"{where}.strata.{k}: unknown stratum (text, image, audio, video)")
            strata[k] = Stratum.from_dict(v, f"{where}.strata.{k}")
        if abs(sum(s.share for s in strata.values()) - 1) > 1e-3:
            raise ModelFileError(f"{where}.strata: the shares must sum to 1")
        columns = d.get("columns") or ["input_tokens", "output_tokens"]
        return cls(strata, list(columns))


def _kinds(table: pa.Table) -> np.ndarray:
    n = table.num_rows
    kind = np.full(n, "text", dtype=object)
    for media in reversed(MEDIA):  # video wins over audio over image, as the characterization's mix
        col = f"{media}_count"
        if col in table.column_names:
            count = table.column(col).to_numpy(zero_copy_only=False)
            kind[np.nan_to_num(count.astype(float)) > 0] = media
    return kind


def _fit_stratum(table: pa.Table, rows: np.ndarray, name: str, total: int) -> Stratum:
    share = float(rows.sum() / total)
    failed_rows = np.zeros(len(rows), dtype=bool)
    if "status" in table.column_names:
        failed_rows = table.column("status").to_numpy(zero_copy_only=False) == "failed"
    failed = float(failed_rows[rows].mean()) if rows.any() else 0.0
    rows = rows & ~failed_rows if failed < 1 else rows  # failures come back through failed_share
    inp = _col(table, "input_tokens")[rows]
    out = _col(table, "output_tokens")[rows]
    buckets = int(np.clip(len(inp) // MIN_BUCKET, 1, INPUT_BUCKETS))
    edges = np.unique(np.quantile(inp, np.linspace(0, 1, buckets + 1)[1:-1], method="lower")).tolist()
    index = np.searchsorted(edges, inp, side="left")
    outputs = [QuantileTable.fit(out[index == b], OUTPUT_POINTS, tail=True) for b in range(len(edges) + 1)]
    media_count = media_tokens = reasoning = None
    if name in MEDIA:
        count = _col(table, f"{name}_count")[rows]
        media_count = QuantileTable.fit(count, tail=True)
        if f"{name}_tokens" in table.column_names:
            tokens = _col(table, f"{name}_tokens")[rows]
            ok = np.isfinite(tokens) & (count > 0)
            media_tokens = QuantileTable.fit(tokens[ok] / count[ok], integer=False) if ok.any() else None
    if "reasoning_tokens" in table.column_names:
        r = _col(table, "reasoning_tokens")[rows]
        ok = np.isfinite(r) & (out > 0)
        reasoning = QuantileTable.fit(np.clip(r[ok] / out[ok], 0, 1), 101, integer=False) if ok.any() else None
    return Stratum(
        share, QuantileTable.fit(inp, tail=True), [float(e) for e in edges], outputs,
        media_count, media_tokens, reasoning, failed,
    )  # fmt: skip


def _col(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)
