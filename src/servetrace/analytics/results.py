"""Typed characterization results. A figure that cannot be computed is None with a reason, never NaN."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1
QUANTILE_METHOD = "lower (the sample value at or below the rank; what DuckDB's quantile_disc returns)"


@dataclass(frozen=True)
class TimestampQuality:
    resolution_s: float | None  # the time quantum every arrival is a multiple of (None: fewer than 2 requests)
    repeated_share: float | None  # share of inter-arrival gaps that are exactly 0
    note: str | None = None  # said in reports when burstiness below the resolution is not to be trusted


@dataclass(frozen=True)
class InterArrival:
    count: int
    mean_s: float | None
    median_s: float | None
    cv: float | None  # standard deviation / mean (population standard deviation)


@dataclass(frozen=True)
class Fit:
    family: str
    params: dict[str, float]  # shape and scale (seconds); location fixed at 0
    loglik: float
    aic: float
    ks: float  # Kolmogorov-Smirnov distance to the gaps


@dataclass(frozen=True)
class GapFits:
    gaps: int  # positive gaps fitted (a uniform sample of 50,000 when there are more)
    fits: list[Fit]
    best: str | None  # smallest KS distance
    best_by_aic: str | None
    reason: str | None = None


@dataclass(frozen=True)
class WindowFits:
    window_s: float
    windows: int  # complete windows with enough gaps to fit
    best_counts: dict[str, int]  # family -> windows it fits best
    median_cv: float | None
    reason: str | None = None


@dataclass(frozen=True)
class RateLevel:
    window_s: float
    windows: int
    mean_rps: float | None
    peak_rps: float | None
    peak_to_mean: float | None
    reason: str | None = None


@dataclass(frozen=True)
class RateSeries:
    window_s: float
    start_s: list[float]  # window starts since the first request
    rps: list[float]  # requests per second in each window


@dataclass(frozen=True)
class Diurnal:
    per_hour_rps: list[float]  # mean request rate in each hour of the day, 0-23 (wall time of the trace)
    per_weekday_rps: list[float]  # Monday..Sunday, when the trace has dates and spans a week
    seasonal_strength: float | None  # STL, 24 h period: 0 none, 1 all variation is daily
    reason: str | None = None


@dataclass(frozen=True)
class Bursts:
    episodes: int  # runs of 10 s windows over 3x the median rate of the surrounding 10 minutes
    longest_s: float | None
    idle_gaps: int  # gaps of 60 s or more without a request
    idle_total_s: float
    idle_longest_s: float | None
    reason: str | None = None


@dataclass(frozen=True)
class DispersionPoint:
    window_s: float
    windows: int  # complete windows from the first arrival
    index: float | None  # variance / mean of the request counts per window (population variance)
    below_resolution: bool  # the window is under 10x the timestamp resolution: a flag, not a fact
    reason: str | None = None


@dataclass(frozen=True)
class Quantiles:
    column: str
    count: int
    mean: float | None
    values: dict[str, float | None]  # "p50" -> value


@dataclass(frozen=True)
class TailComparison:
    first: str
    second: str
    log_likelihood_ratio: float  # > 0 favours `first`
    p_value: float
    favoured: str  # first, second, or inconclusive (p > 0.1)


@dataclass(frozen=True)
class TailFit:
    column: str
    xmin: float | None  # threshold chosen by minimum KS distance
    tail_count: int
    alpha: float | None  # tail index: P(X > x) ~ x^-alpha above xmin (Hill / maximum likelihood)
    ks: float | None
    comparisons: list[TailComparison]
    verdict: str | None  # exponential (light), power_law, lognormal, or power_law_or_lognormal (undecided)
    reason: str | None = None


@dataclass(frozen=True)
class Correlation:
    pearson: float | None
    spearman: float | None
    reason: str | None = None


@dataclass(frozen=True)
class ModalityMix:
    shares: dict[str, float]  # "text only", "1 image", "2-4 images", "5+ images", "audio", "video" -> share
    image_tokens_per_image_p50: float | None
    max_window_image_share: float | None  # the largest share of image requests in one window (image storms)
    window_s: float
    reason: str | None = None
    image_share: float | None = None  # share of requests with images over the whole trace
    storm_windows: int = 0  # windows of >= 20 requests with at least twice the overall image share
    series_window_s: float | None = None  # the mix over time: share of image requests per window
    series_start_s: list[float] = field(default_factory=list)
    series_image_share: list[float | None] = field(default_factory=list)  # None: no request in the window


@dataclass(frozen=True)
class Sessions:
    sessions: int
    turns: dict[str, float]  # quantiles of turns per session
    think_time_s: dict[str, float]  # quantiles of the gap between consecutive turns of a session
    reason: str | None = None


@dataclass(frozen=True)
class CachePoint:
    capacity_blocks: int
    capacity_tokens: int | None  # capacity_blocks x the trace's block size, when known
    hit_ratio: float  # share of block reads an LRU cache of this size serves


@dataclass(frozen=True)
class PrefixReuse:
    blocks: int  # block reads: each request's hash_ids, a block repeated within one request read once
    unique_blocks: int
    hit_ratio: float | None  # unbounded cache: share of block reads an earlier request already made
    lru: list[CachePoint] = field(default_factory=list)  # LRU caches of 1, 2, 4, ... blocks up to every block
    reads_used: int = 0  # the block reads the LRU curve covers (the first 10 M when there are more)
    reason: str | None = None

    def capacity_for(self, share: float) -> CachePoint | None:
        """The smallest LRU size on the curve reaching `share` of the unbounded hit ratio."""
        if self.hit_ratio is None:
            return None
        return next((c for c in self.lru if c.hit_ratio >= share * self.hit_ratio), None)


@dataclass(frozen=True)
class GroupSummary:
    value: str
    requests: int
    share: float
    interarrival_cv: float | None
    dispersion_60s: float | None
    input_p50: float
    input_p99: float
    output_p50: float
    output_p99: float


@dataclass
class Characterization:
    trace: str
    rows: int
    span_s: float | None
    timestamps: TimestampQuality
    interarrival: InterArrival
    fits: GapFits
    window_fits: WindowFits
    dispersion: list[DispersionPoint]
    rates: list[RateLevel]
    rate_series: RateSeries
    bursts: Bursts
    hurst: float | None
    diurnal: Diurnal
    lengths: list[Quantiles]
    tails: list[TailFit]
    correlation: Correlation
    modality: ModalityMix
    sessions: Sessions
    prefix_reuse: PrefixReuse
    unavailable: dict[str, str] = field(default_factory=dict)  # figure -> why it could not be computed
    by: str | None = None  # the column of `groups`, when a breakdown was asked for
    groups: list[GroupSummary] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    quantile_method: str = QUANTILE_METHOD

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """The versioned JSON document; a NaN that slipped through fails here rather than pass as a number."""
        return json.dumps(self.to_dict(), allow_nan=False)
