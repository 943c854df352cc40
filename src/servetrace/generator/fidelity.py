"""How close a synthetic trace is to a real one, next to how close the real trace is to itself.

Every figure is computed three times: synthetic vs real, a plain baseline vs real (Poisson arrivals at the
same rate, input and output drawn independently from the real marginals), and the real trace's first half
vs its second half (the noise floor: "as close as the trace is to itself").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa
from scipy import stats

from servetrace.analytics.arrivals import counts, dispersion_curve
from servetrace.analytics.cache import block_reads, lru_hit_ratios, stack_distances
from servetrace.analytics.lengths import correlation
from servetrace.errors import FitError
from servetrace.generator.arrivals import ArrivalModel
from servetrace.traces import Store

WINDOWS_S = (0.1, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 3600.0)
TARGET_WINDOWS_S = (1.0, 600.0)  # the dispersion target covers windows in this range
TARGET_KS = 0.03
TARGET_DISPERSION = 0.25
ACF_WINDOW_S = 10.0
ACF_LAGS = 30
COLUMNS = ("arrival_s", "input_tokens", "output_tokens", "image_count", "hash_ids")


@dataclass(frozen=True)
class Distance:
    what: str  # interarrival_s, input_tokens, output_tokens, image_count
    ks: float | None
    wasserstein_log: float | None  # on log(1 + x)
    baseline_ks: float | None = None
    baseline_wasserstein_log: float | None = None
    floor_ks: float | None = None  # real first half vs second half
    floor_wasserstein_log: float | None = None


@dataclass(frozen=True)
class Curve:
    x: list[float]
    real: list[float | None]
    synthetic: list[float | None]
    baseline: list[float | None] = field(default_factory=list)
    floor: list[float | None] = field(default_factory=list)  # the second half's, against the first half's `real`


@dataclass
class Fidelity:
    synthetic: str
    real: str
    rows: tuple[int, int]  # synthetic, real
    distances: list[Distance]
    dispersion: Curve  # index of dispersion by window
    rate_acf: Curve  # autocorrelation of 10 s counts by lag
    daily: Curve | None  # requests per second by hour of the day, when both span a day
    correlation: dict[str, float | None]  # pearson real / synthetic / baseline
    prefix_lru: Curve | None  # hit ratio by LRU size (blocks), when both have hash_ids
    rescaling_ks: float | None  # KS of the real trace's time-rescaled gaps vs Exp(1) under the fitted arrivals
    targets: dict[str, bool | None]
    unavailable: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), allow_nan=False)


def fidelity(store: Store, synthetic: str, real: str, arrivals: ArrivalModel | None = None, seed: int = 0) -> Fidelity:
    syn, ref = _load(store, synthetic), _load(store, real)
    if syn.num_rows < 2 or ref.num_rows < 2:
        raise FitError(f"fidelity needs at least 2 requests in each trace ({synthetic}: {syn.num_rows}, {real}: "
                       f"{ref.num_rows})")  # fmt: skip
    base = _baseline(ref, np.random.default_rng(seed))
    first, second = _halves(ref)
    unavailable: dict[str, str] = {}
    distances = [_distance(w, syn, ref, base, first, second) for w in _columns(syn, ref)]
    disp = _dispersion(syn, ref, base, second)
    result = Fidelity(
        synthetic, real, (syn.num_rows, ref.num_rows), distances, disp, _acf(syn, ref, base, second),
        _daily(syn, ref, unavailable), _correlation(syn, ref, base), _lru(syn, ref, unavailable),
        _rescaling(ref, arrivals, unavailable), {}, unavailable,
    )  # fmt: skip
    result.targets = _targets(result)
    return result


def _load(store: Store, name: str) -> pa.Table:
    return store.read_columns(store.get(name).name, COLUMNS)


def _columns(syn: pa.Table, ref: pa.Table) -> list[str]:
    both = [c for c in ("input_tokens", "output_tokens", "image_count") if c in syn.column_names and c in
            ref.column_names]  # fmt: skip
    return ["interarrival_s", *both]


def _values(t: pa.Table, what: str) -> np.ndarray:
    if what == "interarrival_s":
        return np.asarray(np.diff(t.column("arrival_s").to_numpy()))
    v: np.ndarray = np.asarray(t.column(what).to_numpy(zero_copy_only=False), dtype=float)
    return np.asarray(v[np.isfinite(v)])


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[float | None, float | None]:
    if len(a) < 2 or len(b) < 2:
        return None, None
    ks = float(stats.ks_2samp(a, b).statistic)
    return ks, float(stats.wasserstein_distance(np.log1p(np.maximum(a, 0)), np.log1p(np.maximum(b, 0))))


def _distance(what: str, syn: pa.Table, ref: pa.Table, base: pa.Table, first: pa.Table, second: pa.Table) -> Distance:
    real = _values(ref, what)
    ks, w = _pair(_values(syn, what), real)
    bks, bw = (
        _pair(_values(base, what), real) if what in base.column_names or what == "interarrival_s" else (None, None)
    )
    fks, fw = _pair(_values(second, what), _values(first, what))
    return Distance(what, ks, w, bks, bw, fks, fw)


def _baseline(ref: pa.Table, rng: np.random.Generator) -> pa.Table:
    """Poisson arrivals at the real rate over the real span; input and output drawn independently."""
    span = float(ref.column("arrival_s")[-1].as_py())
    n = ref.num_rows
    cols = {"arrival_s": np.sort(rng.uniform(0, span, rng.poisson(n)))}
    for c in ("input_tokens", "output_tokens"):
        cols[c] = rng.choice(_values(ref, c), len(cols["arrival_s"]))
    return pa.table(cols)


def _halves(ref: pa.Table) -> tuple[pa.Table, pa.Table]:
    arrival = ref.column("arrival_s").to_numpy()
    mid = float(arrival[-1]) / 2
    cut = int(np.searchsorted(arrival, mid))
    first = ref.slice(0, cut)
    second = ref.slice(cut)
    shifted = pa.array(second.column("arrival_s").to_numpy() - mid)
    return first, second.set_column(second.column_names.index("arrival_s"), "arrival_s", shifted)


def _curve_of(t: pa.Table, windows: tuple[float, ...]) -> list[float | None]:
    return [p.index if p.windows >= 4 else None for p in dispersion_curve(t.column("arrival_s").to_numpy(), windows)]


def _dispersion(syn: pa.Table, ref: pa.Table, base: pa.Table, second: pa.Table) -> Curve:
    real = _curve_of(ref, WINDOWS_S)
    return Curve(list(WINDOWS_S), real, _curve_of(syn, WINDOWS_S), _curve_of(base, WINDOWS_S),
                 _curve_of(second, WINDOWS_S))  # fmt: skip


def _acf_of(t: pa.Table) -> list[float | None]:
    c = counts(t.column("arrival_s").to_numpy(), ACF_WINDOW_S).astype(float)
    if len(c) < 2 * ACF_LAGS:
        return [None] * ACF_LAGS
    c -= c.mean()
    denom = float(np.dot(c, c))
    if denom == 0:
        return [None] * ACF_LAGS
    return [float(np.dot(c[:-k], c[k:]) / denom) for k in range(1, ACF_LAGS + 1)]


def _acf(syn: pa.Table, ref: pa.Table, base: pa.Table, second: pa.Table) -> Curve:
    lags = [k * ACF_WINDOW_S for k in range(1, ACF_LAGS + 1)]
    return Curve(lags, _acf_of(ref), _acf_of(syn), _acf_of(base), _acf_of(second))


def _daily(syn: pa.Table, ref: pa.Table, unavailable: dict[str, str]) -> Curve | None:
    spans = [float(t.column("arrival_s")[-1].as_py()) for t in (syn, ref)]
    if min(spans) < 86400:
        unavailable["daily profile"] = "a trace spans less than a day"
        return None

    def hourly(t: pa.Table) -> list[float | None]:
        a = t.column("arrival_s").to_numpy()
        hours = (a // 3600).astype(np.int64)
        per_hour = np.bincount(hours % 24, minlength=24) / np.maximum(np.bincount(np.unique(hours) % 24,
                                                                                   minlength=24), 1)  # fmt: skip
        return [float(x) / 3600 for x in per_hour]

    return Curve(list(range(24)), hourly(ref), hourly(syn))


def _correlation(syn: pa.Table, ref: pa.Table, base: pa.Table) -> dict[str, float | None]:
    return {"real": correlation(ref).pearson, "synthetic": correlation(syn).pearson,
            "baseline": correlation(base).pearson}  # fmt: skip


def _lru(syn: pa.Table, ref: pa.Table, unavailable: dict[str, str]) -> Curve | None:
    if "hash_ids" not in syn.column_names or "hash_ids" not in ref.column_names:
        unavailable["prefix reuse"] = "a trace has no hash_ids"
        return None
    curves = []
    sizes = 2 ** np.arange(21)
    for t in (ref, syn):
        reads = block_reads(t.column("hash_ids").combine_chunks())  # as the characterization reads them
        curves.append([float(x) for x in lru_hit_ratios(stack_distances(reads), sizes)])
    return Curve([float(s) for s in sizes], curves[0], curves[1])  # type: ignore[arg-type]


def _rescaling(ref: pa.Table, arrivals: ArrivalModel | None, unavailable: dict[str, str]) -> float | None:
    if arrivals is None:
        unavailable["time rescaling"] = "no model given (--model)"
        return None
    gaps = arrivals.rescaled_gaps(ref.column("arrival_s").to_numpy())
    if gaps is None or len(gaps) < 10:
        unavailable["time rescaling"] = f"the {arrivals.name} model has no closed-form compensator"
        return None
    return float(stats.kstest(gaps, "expon").statistic)


def _targets(f: Fidelity) -> dict[str, bool | None]:
    out: dict[str, bool | None] = {}
    for d in f.distances:
        if d.what in ("input_tokens", "output_tokens"):
            out[f"{d.what} KS <= {TARGET_KS}"] = None if d.ks is None else d.ks <= TARGET_KS
    lo, hi = TARGET_WINDOWS_S
    ratios = [s / r for w, r, s in zip(f.dispersion.x, f.dispersion.real, f.dispersion.synthetic, strict=True)
              if lo <= w <= hi and r and s]  # fmt: skip
    key = f"dispersion within {TARGET_DISPERSION:.0%}, {lo:g} s to {hi:g} s"
    out[key] = all(abs(x - 1) <= TARGET_DISPERSION for x in ratios) if ratios else None
    return out
