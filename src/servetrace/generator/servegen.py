"""Import ServeGen's per-client workload data (alibaba/ServeGen, `data/<category>/<model>/`) as a workload model.

ServeGen describes each client by windows, not by requests:

- `chunk-<client>-trace.csv` (no header): per 600 s window `window_start_s, rate, cv, pattern, shape, scale`.
  It becomes a `Windowed` arrival model, one window per row: the rate as given (ServeGen's rates are scaled, so
  relative, not absolute) and the gamma/Weibull shape; an empty pattern or a zero/NaN rate is a Poisson window
  (shape 1). Windowed sets each window's gap scale from its rate, so the gaps' CV comes from the shape alone; ServeGen's
  own scale (and its cv column) agree with the rate only approximately (rate x ServeGen's mean gap: median 1.00, p10
  0.86, p90 1.34 over the shipped data). Missing windows (a list not starting at 0, or with gaps) have rate 0.
- `chunk-<client>-dataset.json`: per 6 h window `{field: "<Python dict literal {value: probability}>"}`. Each field's
  pmfs are pooled into one, each window weighted by the client's requests in it (the sum of rate x window length over
  its csv windows; equal weights when the client has no requests in any of them). Windows with an empty pmf (ServeGen
  skips them too) or with every field `{0: 1.0}` (its placeholder for a window without requests) are left out.

ServeGen gives marginals only, so in an import input and output tokens (and text, media and reasoning) are
independent: each stratum has one input bucket. Multimodal clients get a "text" stratum (no media) and one per medium
with mass above 0 in its `<medium>_count` pmf, shares from those pmfs (media taken as exclusive). `image_tokens` is
read per image, not per request: it never exceeds 1280 (one image at the model's largest resolution) even in clients
where most requests carry 3 images or more, and it has no mass at 0 where many requests carry none; audio and video
tokens are read the same way. A media stratum's input must hold text + media tokens, but the sampler draws input
independently of the media tokens and keeps max(input, media tokens): the input table is the CDF F_(text+media) /
F_media made non-decreasing by isotonic regression weighted by F_media, which keeps the mean of that max equal to mean
text + mean media tokens exactly (the shape only approximately).
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
from scipy import signal
from scipy.optimize import isotonic_regression

from servetrace.errors import ModelFileError, UsageError
from servetrace.generator.arrivals.windowed import Windowed
from servetrace.generator.attributes import MEDIA, Attributes, Stratum
from servetrace.generator.model import Client, WorkloadModel
from servetrace.generator.params import read_json
from servetrace.generator.tables import POINTS, QuantileTable

TRACE_FILE = re.compile(r"chunk-(.+)-trace\.csv")
FIELDS = "window_start_s, rate, cv, pattern, shape, scale"
PATTERNS = {"": "poisson", "gamma": "gamma", "weibull": "weibull"}
DEFAULT_WINDOW_S = 600.0  # ServeGen's window, for a trace of one row
MAX_GRID = 1 << 21  # points of the grid text and media tokens are added on (1 token apart when it fits)
NOISE = 1e-12  # probabilities below this after an FFT convolution are rounding noise
COLUMNS = ("input_tokens", "output_tokens", "image_count", "image_tokens", "audio_count", "audio_tokens",
           "video_count", "video_tokens", "reasoning_tokens")  # fmt: skip
RATE_NOTE = "ServeGen rates are scaled: relative, not absolute"
POOL_NOTE = "pmfs pooled over the 6 h windows, weighted by the client's requests (rate x time); fields independent"
_NOT_ALTERNATING = re.compile(r":[^,]*:|,[^:]*,")


@dataclass(frozen=True)
class Pmf:
    values: np.ndarray  # increasing
    probs: np.ndarray  # positive, summing to 1

    @classmethod
    def of(cls, values: np.ndarray, probs: np.ndarray) -> Self | None:
        """Equal values merged, zero mass dropped, normalized; None without mass."""
        keep = probs > 0
        if not keep.any():
            return None
        v, inverse = np.unique(values[keep], return_inverse=True)
        p = np.bincount(inverse, weights=probs[keep])
        return cls(v, p / p.sum())

    def above_zero(self) -> Self | None:
        return type(self).of(self.values[self.values > 0], self.probs[self.values > 0])

    def mass_above_zero(self) -> float:
        return float(self.probs[self.values > 0].sum())

    def mean(self) -> float:
        return float(self.values @ self.probs)

    def table(self, integer: bool = True) -> QuantileTable:
        """Lower quantiles (the smallest value whose CDF reaches p) at POINTS evenly spaced probabilities."""
        cdf = np.cumsum(self.probs)
        cdf /= cdf[-1]
        index = np.searchsorted(cdf, np.linspace(0, 1, POINTS) - 1e-12, side="left")
        return QuantileTable([float(v) for v in self.values[np.minimum(index, len(cdf) - 1)]], integer)


@dataclass(frozen=True)
class _Trace:
    window_s: float
    rates: list[float]
    families: list[str]
    shapes: list[float]

    def total(self) -> float:
        return sum(self.rates) * self.window_s

    def duration(self) -> float:
        return len(self.rates) * self.window_s

    def requests_between(self, bounds: np.ndarray) -> np.ndarray:
        """Requests (rate x time) in each span [bounds[i], bounds[i + 1])."""
        cum = np.concatenate(([0.0], np.cumsum(self.rates))) * self.window_s
        starts = np.arange(len(self.rates)) * self.window_s
        return np.diff(cum[np.searchsorted(starts, bounds, side="left")])

    def arrivals(self) -> Windowed:
        return Windowed(self.window_s, self.rates, self.families, self.shapes)


def import_servegen(path: str | Path, clients: list[str] | None = None, top: int | None = None) -> WorkloadModel:
    """A workload model from a ServeGen category/model folder (`.../language/m-large`) or one `chunk-<id>-trace.csv`.

    `clients` picks client ids (the number in the file names, `client-` prefix allowed); `top` keeps the N clients
    with the most requests (rate x time). Clients come in that order, largest first. A client without a dataset file
    is an error when picked explicitly, else skipped and listed in `source["skipped"]`.
    """
    if top is not None and top < 1:
        raise UsageError(f"--top must be at least 1, got {top}")
    folder, ids, explicit = _locate(Path(path), clients)
    traces = {i: _read_trace(folder / f"chunk-{i}-trace.csv") for i in ids}
    kept: list[str] = []
    skipped: list[dict[str, str]] = []
    for i in sorted(ids, key=lambda i: -traces[i].total()):  # stable: ties keep id order
        dataset = folder / f"chunk-{i}-dataset.json"
        if not dataset.is_file():
            if explicit:
                raise ModelFileError(f"{dataset}: missing: client {i} has arrivals but no length distributions")
            skipped.append({"client": f"client-{i}", "reason": f"no {dataset.name}: arrivals without lengths"})
            continue
        kept.append(i)
        if top is not None and len(kept) == top:
            break
    if not kept:
        raise ModelFileError(f"{folder}: no client to import: none of {len(ids)} has a dataset file")
    built = _same_columns([_client(i, traces[i], folder / f"chunk-{i}-dataset.json") for i in kept])
    source = {"servegen": str(path), "clients": [c.name for c in built], "skipped": skipped,
              "rate_note": RATE_NOTE, "attributes_note": POOL_NOTE}  # fmt: skip
    return WorkloadModel(built, max(traces[i].duration() for i in kept), None, source)


def _locate(path: Path, clients: list[str] | None) -> tuple[Path, list[str], bool]:
    """The folder, the client ids to consider and whether they were picked explicitly."""
    wanted = [c.strip().removeprefix("client-") for c in clients or []]
    if path.is_file():
        match = TRACE_FILE.fullmatch(path.name)
        if match is None:
            raise ModelFileError(f"{path}: not a ServeGen chunk-<client>-trace.csv file")
        if wanted and wanted != [match.group(1)]:
            raise UsageError(f"--clients: {path.name} holds client {match.group(1)} only")
        return path.parent, [match.group(1)], True
    if not path.is_dir():
        raise ModelFileError(f"{path}: no such file or folder")
    found = sorted((m.group(1) for p in path.iterdir() if (m := TRACE_FILE.fullmatch(p.name))), key=_id_order)
    if not found:
        raise ModelFileError(f"{path}: no chunk-<client>-trace.csv files: not a ServeGen category/model folder")
    for i in wanted:
        if i not in found:
            raise ModelFileError(f"{path / f'chunk-{i}-trace.csv'}: missing: no client {i} in {path}")
    return path, list(dict.fromkeys(wanted)) or found, bool(wanted)


def _id_order(i: str) -> tuple[int, int, str]:
    return (0, int(i), "") if i.isdigit() else (1, 0, i)


def _read_trace(path: Path) -> _Trace:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    rows = [_row(line, path, n) for n, line in enumerate(lines, 1) if line.strip()]
    if not rows:
        raise ModelFileError(f"{path}: no rows ({FIELDS})")
    window_s = _spacing(rows, path)
    n = round(max(r[0] for r in rows) / window_s) + 1
    rates, families, shapes = [0.0] * n, ["poisson"] * n, [1.0] * n
    seen: set[int] = set()
    for start, rate, family, shape, line in rows:
        w = round(start / window_s)
        if w in seen:
            raise ModelFileError(f"{path}: row {line}: window {start:g} s appears twice")
        seen.add(w)
        rates[w], families[w], shapes[w] = rate, family, shape
    return _Trace(window_s, rates, families, shapes)


def _row(line: str, path: Path, n: int) -> tuple[float, float, str, float, int]:
    """(window start, rate, family, shape, line number); a zero or NaN rate or an empty pattern is Poisson."""
    parts = line.split(",")
    if len(parts) != 6:
        raise ModelFileError(f"{path}: row {n}: expected 6 fields ({FIELDS}), got {len(parts)}")
    try:
        start, rate, shape = float(parts[0]), float(parts[1] or "nan"), float(parts[4] or "nan")
    except ValueError as exc:
        raise ModelFileError(f"{path}: row {n}: not a number: {exc}") from exc
    pattern = parts[3].strip().lower()
    if pattern not in PATTERNS:
        raise ModelFileError(f"{path}: row {n}: unknown pattern {parts[3]!r} (Gamma, Weibull or empty)")
    if not math.isfinite(start) or start < 0:
        raise ModelFileError(f"{path}: row {n}: window_start_s must be a number >= 0, got {parts[0]!r}")
    if math.isnan(rate) or rate == 0:
        return start, 0.0, "poisson", 1.0, n
    if not math.isfinite(rate) or rate < 0:
        raise ModelFileError(f"{path}: row {n}: rate must be a finite number >= 0, got {parts[1]!r}")
    if pattern and not (math.isfinite(shape) and shape > 0):
        raise ModelFileError(f"{path}: row {n}: a {parts[3]} window needs a shape > 0, got {parts[4]!r}")
    return start, rate, PATTERNS[pattern], shape if pattern else 1.0, n


def _spacing(rows: list[tuple[float, float, str, float, int]], path: Path) -> float:
    """The window length: the smallest gap between window starts, every start a multiple of it."""
    starts = np.array([r[0] for r in rows])
    gaps = np.diff(np.unique(starts))
    window_s = float(gaps.min()) if len(gaps) else DEFAULT_WINDOW_S
    off = np.flatnonzero(np.abs(starts / window_s - np.rint(starts / window_s)) > 1e-6)
    if len(off):
        row = rows[int(off[0])]
        raise ModelFileError(f"{path}: row {row[4]}: window start {row[0]:g} s is not a multiple of {window_s:g} s")
    return window_s


def _client(i: str, trace: _Trace, dataset: Path) -> Client:
    windows = _read_dataset(dataset)
    if not windows:
        raise ModelFileError(f"{dataset}: no window with distributions (every pmf empty or a placeholder)")
    starts = np.array([w[0] for w in windows] + [math.inf])
    weights = trace.requests_between(starts)
    if weights.sum() <= 0:
        weights = np.ones(len(windows))
    names = dict.fromkeys(name for _, pmfs in windows for name in pmfs)
    pooled = {name: _pool(windows, weights, name) for name in names}
    return Client(f"client-{i}", trace.arrivals(), _attributes(pooled, dataset))


def _read_dataset(path: Path) -> list[tuple[float, dict[str, Pmf]]]:
    """(window start, {field: pmf}) for the windows that hold distributions, in time order."""
    d = read_json(path, "the dataset file")
    if not isinstance(d, dict):
        raise ModelFileError(f"{path}: must hold an object {{window_start_s: {{field: pmf}}}}")
    windows = []
    for key, fields in d.items():
        start = _window_start(key, f"{path}: key {key!r}")
        if not isinstance(fields, dict):
            raise ModelFileError(f"{path}: key {key!r}: must map fields to pmf strings")
        pmfs = {name: _pmf(text, f"{path}: key {key!r}: {name}") for name, text in fields.items()}
        if pmfs and all(p is not None for p in pmfs.values()) and not all(_placeholder(p) for p in pmfs.values()):
            windows.append((start, {k: p for k, p in pmfs.items() if p is not None}))
    return sorted(windows, key=lambda w: w[0])


def _window_start(key: str, where: str) -> float:
    try:
        start = float(key)
    except ValueError:
        start = math.nan
    if not math.isfinite(start) or start < 0:
        raise ModelFileError(f"{where}: not a window start in seconds")
    return start


def _placeholder(p: Pmf | None) -> bool:
    return p is not None and len(p.values) == 1 and p.values[0] == 0


def _pmf(text: Any, where: str) -> Pmf | None:
    """A `{value: probability}` literal as a Pmf; None when empty or without mass."""
    if not isinstance(text, str):
        raise ModelFileError(f"{where}: must be a string holding a Python dict literal")
    pairs = _plain_pairs(text)
    if pairs is None:
        pairs = _literal_pairs(text, where)
    if not np.isfinite(pairs).all() or (pairs < 0).any():
        raise ModelFileError(f"{where}: values and probabilities must be finite and >= 0")
    return Pmf.of(pairs[:, 0], pairs[:, 1])


def _plain_pairs(text: str) -> np.ndarray | None:
    """`{k: p, ...}` of plain numbers as (k, p) rows, read by numpy: ast.literal_eval takes 13 s over m-large's 100 MB
    of literals, this 1 s. None sends anything else (and any malformed literal) to ast.literal_eval."""
    s = text.strip()
    if len(s) < 2 or s[0] != "{" or s[-1] != "}":
        return None
    inner = s[1:-1]
    if not inner.strip():
        return np.zeros((0, 2))
    if inner.count(":") != inner.count(",") + 1 or _NOT_ALTERNATING.search(inner):
        return None
    try:
        flat = np.array(inner.replace(":", ",").split(","), dtype=float)
    except ValueError:
        return None
    return flat.reshape(-1, 2) if np.isfinite(flat).all() else None


def _literal_pairs(text: str, where: str) -> np.ndarray:
    try:
        d = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ModelFileError(f"{where}: not a Python dict literal ({type(exc).__name__}: {exc})") from exc
    numeric = isinstance(d, dict) and all(_is_number(x) for kv in d.items() for x in kv)
    if not numeric:
        raise ModelFileError(f"{where}: must be a dict of value: probability numbers")
    return np.array(list(d.items()), dtype=float).reshape(-1, 2)


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _pool(windows: list[tuple[float, dict[str, Pmf]]], weights: np.ndarray, name: str) -> Pmf | None:
    parts = [(w, pmfs[name]) for (_, pmfs), w in zip(windows, weights, strict=True) if name in pmfs and w > 0]
    if not parts:
        return None
    values = np.concatenate([p.values for _, p in parts])
    return Pmf.of(values, np.concatenate([p.probs * w for w, p in parts]))


def _attributes(pooled: dict[str, Pmf | None], dataset: Path) -> Attributes:
    output = _need(pooled, "output_tokens", dataset).table()
    if "text_tokens" in pooled:
        return _multimodal(pooled, output, dataset)
    inp = _need(pooled, "input_tokens", dataset).table()
    ratio = pooled.get("reason_ratio")
    if ratio is not None and ratio.values[-1] > 1:
        raise ModelFileError(f"{dataset}: reason_ratio: values must lie in [0, 1], got {ratio.values[-1]:g}")
    reasoning = ratio.table(integer=False) if ratio is not None else None
    columns = ["input_tokens", "output_tokens"] + (["reasoning_tokens"] if reasoning is not None else [])
    return Attributes({"text": Stratum(1.0, inp, [], [output], reasoning_share_of_output=reasoning)}, columns)


def _need(pooled: dict[str, Pmf | None], name: str, dataset: Path) -> Pmf:
    pmf = pooled.get(name)
    if pmf is None:
        raise ModelFileError(f"{dataset}: no {name} distribution in any window")
    return pmf


def _multimodal(pooled: dict[str, Pmf | None], output: QuantileTable, dataset: Path) -> Attributes:
    """A "text" stratum and one per medium whose count has mass above 0; shares from the count pmfs."""
    text = _need(pooled, "text_tokens", dataset)
    media = {m: c for m in MEDIA if (c := pooled.get(f"{m}_count")) is not None and c.mass_above_zero() > 0}
    shares = {m: c.mass_above_zero() for m, c in media.items()}
    over = max(1.0, sum(shares.values()))  # media overlap: scale to sum 1, no text stratum
    text_share = 1 - sum(shares.values()) / over
    strata = {"text": Stratum(text_share, text.table(), [], [output])} if text_share > 1e-9 else {}
    for m, count in media.items():
        strata[m] = _media_stratum(text, count, pooled.get(f"{m}_tokens"), output, shares[m] / over)
    columns = ["input_tokens", "output_tokens"] + [f"{m}_{c}" for m in media for c in ("count", "tokens")]
    return Attributes(strata, columns)


def _media_stratum(text: Pmf, count: Pmf, tokens: Pmf | None, output: QuantileTable, share: float) -> Stratum:
    positive = count.above_zero()
    per_item = tokens.above_zero() if tokens is not None else None
    assert positive is not None  # the caller keeps media with mass above 0
    if per_item is None:
        return Stratum(share, text.table(), [], [output], positive.table())
    inp = _input_given_media(text, _product(positive, per_item))
    return Stratum(share, inp.table(), [], [output], positive.table(), per_item.table())


def _product(count: Pmf, per_item: Pmf) -> Pmf:
    """Media tokens as the sampler makes them: count x one per-item draw."""
    pmf = Pmf.of(np.outer(count.values, per_item.values).ravel(), np.outer(count.probs, per_item.probs).ravel())
    assert pmf is not None
    return pmf


def _input_given_media(text: Pmf, media: Pmf) -> Pmf:
    """The input table for a media stratum (see the module docstring): max(input, media) ~ text + media."""
    step = max(1.0, math.ceil((text.values[-1] + media.values[-1]) / MAX_GRID))
    m = np.bincount(np.rint(media.values / step).astype(np.int64), weights=media.probs)
    t = np.bincount(np.rint(text.values / step).astype(np.int64), weights=text.probs)
    total = signal.fftconvolve(t, m)
    total[total < NOISE] = 0
    f_total = np.cumsum(total) / total.sum()
    f_media = np.cumsum(np.pad(m, (0, len(total) - len(m))))
    ratio = np.where(f_media > NOISE, f_total / np.maximum(f_media, NOISE), 0.0)
    f_input = np.clip(isotonic_regression(ratio, weights=np.maximum(f_media, NOISE)).x, 0, 1)
    f_input[-1] = 1.0
    pmf = Pmf.of(np.arange(len(total)) * step, np.diff(f_input, prepend=0.0))
    assert pmf is not None
    return pmf


def _same_columns(clients: list[Client]) -> list[Client]:
    """Every client fills the union of the columns (0 where it has no such requests), so a trace has no nulls."""
    union = {c for client in clients for c in client.attributes.columns}
    columns = [c for c in COLUMNS if c in union]
    return [Client(c.name, c.arrivals, Attributes(c.attributes.strata, columns)) for c in clients]
