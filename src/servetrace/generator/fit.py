"""Fitting a workload model to a stored trace, with the arrival model chosen and the choice reported."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from servetrace import __version__
from servetrace.analytics.arrivals import dispersion_curve
from servetrace.errors import FitError, UsageError
from servetrace.generator.arrivals import ArrivalModel, TooShort, arrival_models, get_model
from servetrace.generator.attributes import Attributes
from servetrace.generator.model import Client, WorkloadModel
from servetrace.generator.prefix import PrefixModel
from servetrace.generator.sessions import SessionModel
from servetrace.traces import Store

AUTO = ("cox", "windowed", "nhpp", "mmpp", "hawkes", "gamma", "weibull", "poisson")
FALLBACK = "poisson"
CHECK_WINDOWS_S = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
HELD_OUT = 0.25  # the last quarter of the span scores held-out likelihood
SLOW = ("hawkes", "mmpp")  # iterative fits (L-BFGS, EM): left out of `auto` above MAX_SLOW requests
MAX_SLOW = 200_000
MAX_CLIENTS = 20
COLUMNS = ("arrival_s", "client", "session_id", "status", "input_tokens", "output_tokens", "image_count",
           "image_tokens", "audio_count", "audio_tokens", "video_count", "video_tokens", "reasoning_tokens",
           "hash_ids")  # fmt: skip


@dataclass
class Candidate:
    model: str
    dispersion_error: float | None = None  # mean |log(synthetic / real)| of the dispersion index, 1 s..10 min
    heldout_loglik_per_request: float | None = None
    fit_s: float = 0.0
    note: str | None = None  # why it was not fitted (too short, ...)


@dataclass
class Selection:
    client: str
    chosen: str
    by: str  # "dispersion curve" or "asked"
    candidates: list[Candidate] = field(default_factory=list)
    fallback: str | None = None  # said when the asked or best model could not be fitted


def fit_workload(store: Store, trace: str, arrivals: str = "auto", by: str | None = None) -> tuple[
        WorkloadModel, list[Selection]]:  # fmt: skip
    """Fit every part of a workload model; `arrivals` names one arrival model or `auto` (best dispersion curve)."""
    if arrivals != "auto":
        get_model(arrivals)
    if by not in (None, "client"):
        raise UsageError(f"--by {by}: only 'client' is supported")
    info = store.get(trace)
    table = store.read_columns(info.name, COLUMNS)
    if table.num_rows < 2 or "arrival_s" not in table.column_names:
        raise FitError(f"trace {info.name}: {table.num_rows} requests, too few to fit a workload model")
    span = float(table.column("arrival_s")[-1].as_py())
    if span <= 0:
        raise FitError(f"trace {info.name}: every request has the same timestamp; no arrival process to fit")
    clients, selections = [], []
    for name, rows in _groups(table, by):
        client, selection = _fit_client(name, rows, span, arrivals, info.block_size)
        clients.append(client)
        selections.append(selection)
    source = {
        "trace": info.name,
        "rows": table.num_rows,
        "span_s": span,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "servetrace_version": __version__,
        "selection": [asdict(s) for s in selections],
    }
    return WorkloadModel(clients, span, info.block_size, source), selections


def _groups(table: pa.Table, by: str | None) -> list[tuple[str, pa.Table]]:
    if by is None:
        return [("all", table)]
    if "client" not in table.column_names:
        raise FitError("--by client: the trace records no client")
    values = table.column("client").to_numpy(zero_copy_only=False).astype(str)
    names, counts = np.unique(values, return_counts=True)
    top = names[np.argsort(-counts, kind="stable")][:MAX_CLIENTS]
    groups = [(str(n), table.filter(pa.array(values == n))) for n in top]
    rest = ~np.isin(values, top)
    if rest.any():
        groups.append(("other", table.filter(pa.array(rest))))
    return groups


def _fit_client(name: str, table: pa.Table, span: float, arrivals: str, block_size: int | None) -> tuple[
        Client, Selection]:  # fmt: skip
    sessions = SessionModel.fit(table)
    arrival = table.column("arrival_s").to_numpy()
    if sessions is not None:  # the arrival model draws session starts
        first = _first_turns(table)
        arrival = arrival[first]
    model, selection = choose_arrivals(name, arrival, span, arrivals)
    prefix = PrefixModel.fit(table.column("hash_ids")) if "hash_ids" in table.column_names and block_size else None
    return Client(name, model, Attributes.fit(table), sessions, prefix), selection


def _first_turns(table: pa.Table) -> np.ndarray:
    sid = table.column("session_id")
    missing = pc.is_null(sid).to_numpy(zero_copy_only=False)
    codes = pc.dictionary_encode(pc.fill_null(sid, "")).combine_chunks().indices.to_numpy()
    _, first = np.unique(codes, return_index=True)
    mask: np.ndarray = missing.copy()
    mask[first] = True
    return mask


def choose_arrivals(client: str, arrival_s: np.ndarray, span_s: float, asked: str) -> tuple[ArrivalModel, Selection]:
    """The asked model, or under `auto` the candidate whose sample's dispersion curve is closest to the trace's."""
    names = [asked] if asked != "auto" else [m for m in AUTO if m in arrival_models()]
    notes = []
    if asked == "auto" and len(arrival_s) > MAX_SLOW:
        names = [m for m in names if m not in SLOW]
        notes = [Candidate(m, note=f"left out of auto above {MAX_SLOW:,} requests; ask for it with --arrivals {m}")
                 for m in SLOW]  # fmt: skip
    real = _curve(arrival_s)
    scored: list[tuple[Candidate, ArrivalModel]] = []
    for m in names:
        cand, model = _candidate(m, arrival_s, span_s, real)
        if model is None:
            notes.append(cand)
        else:
            scored.append((cand, model))
    fallback = None
    if not scored:
        fallback = f"{', '.join(f'{c.model}: {c.note}' for c in notes)}; fell back to {FALLBACK}"
        cand, model = _candidate(FALLBACK, arrival_s, span_s, real)
        if model is None:
            raise FitError(f"client {client}: cannot fit any arrival model ({cand.note})")
        scored.append((cand, model))
    best = min(scored, key=lambda cm: cm[0].dispersion_error if cm[0].dispersion_error is not None else np.inf)
    by = "asked" if asked != "auto" else "dispersion curve"
    return best[1], Selection(client, best[0].model, by, [c for c, _ in scored] + notes, fallback)


def _candidate(name: str, arrival_s: np.ndarray, span_s: float, real: dict[float, float]) -> tuple[
        Candidate, ArrivalModel | None]:  # fmt: skip
    t0 = time.perf_counter()
    cls = get_model(name)
    try:
        model = cls.fit(arrival_s, span_s)
    except TooShort as exc:
        return Candidate(name, note=str(exc)), None
    elapsed = time.perf_counter() - t0
    errors = [_distance(_curve(model.sample(span_s, np.random.default_rng(seed))), real) for seed in (0, 1)]
    error = None if None in errors else float(np.mean([e for e in errors if e is not None]))
    return Candidate(name, error, _heldout(cls, arrival_s, span_s), elapsed), model


def _curve(arrival_s: np.ndarray) -> dict[float, float]:
    points = dispersion_curve(arrival_s, CHECK_WINDOWS_S)
    return {p.window_s: p.index for p in points if p.index is not None and p.windows >= 4}


def _distance(synthetic: dict[float, float], real: dict[float, float]) -> float | None:
    common = [w for w in real if w in synthetic and synthetic[w] > 0 and real[w] > 0]
    if not common:
        return None
    return float(np.mean([abs(np.log(synthetic[w] / real[w])) for w in common]))


def _heldout(cls: type[ArrivalModel], arrival_s: np.ndarray, span_s: float) -> float | None:
    """Log-likelihood per request of the last quarter under a model fitted to the first three quarters."""
    cut = span_s * (1 - HELD_OUT)
    train, test = arrival_s[arrival_s < cut], arrival_s[arrival_s >= cut] - cut
    if len(test) < 10:
        return None
    try:
        value = cls.fit(train, cut).loglik(test, span_s - cut)
    except (TooShort, NotImplementedError):
        return None
    return None if value is None or not np.isfinite(value) else float(value / len(test))
