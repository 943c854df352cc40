"""The characterization report: one self-contained HTML page (tables and inline SVG plots) and the JSON."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from html import escape
from pathlib import Path

from servetrace.analytics.results import Characterization, Fit
from servetrace.analytics.svg import line_chart

CSS = """body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}h1{font-size:1.5em}
h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}table{border-collapse:collapse;margin:.5em 0}
td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}.note{background:#fff6d6;padding:.5em;border-left:4px solid #e6b800}
.dim{color:#777}.grid{display:flex;flex-wrap:wrap;gap:1em}"""


def write_report(result: Characterization, html_path: Path) -> tuple[Path, Path]:
    return write_pair(html_path, render_html(result), result.to_json())


def write_pair(html_path: Path, html: str, json_text: str) -> tuple[Path, Path]:
    """Write an HTML report and its JSON beside it (same stem), each atomically."""
    json_path = html_path.with_suffix(".json")
    _atomic(html_path, html)
    _atomic(json_path, json_text)
    return html_path, json_path


def render_html(r: Characterization) -> str:
    body = [f"<h1>Trace {escape(r.trace)}</h1>", _summary(r), _arrivals(r), _lengths(r), _mix(r), _missing(r)]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>servetrace: {escape(r.trace)}</title>"
        f"<style>{CSS}</style></head><body>{''.join(body)}"
        f"<p class='dim'>servetrace characterization, schema {r.schema_version}; quantiles: {escape(r.quantile_method)}"
        "</p></body></html>"
    )


def _summary(r: Characterization) -> str:
    ts, ia = r.timestamps, r.interarrival
    rows = [
        ("requests", f"{r.rows:,}"),
        ("span", _f(r.span_s, " s")),
        ("timestamp resolution", _f(ts.resolution_s, " s")),
        ("repeated timestamps", _pct(ts.repeated_share)),
        ("inter-arrival mean / median", f"{_f(ia.mean_s, ' s')} / {_f(ia.median_s, ' s')}"),
        ("inter-arrival CV", _f(ia.cv)),
        ("Hurst exponent", _f(r.hurst)),
        ("input/output Pearson / Spearman", f"{_f(r.correlation.pearson)} / {_f(r.correlation.spearman)}"),
    ]
    note = f"<p class='note'>{escape(ts.note)}</p>" if ts.note else ""
    return "<h2>Summary</h2>" + note + html_table(("", ""), rows)


def _arrivals(r: Characterization) -> str:
    disp = [p for p in r.dispersion if p.index is not None]
    xs = [p.window_s for p in disp]
    chart = line_chart(
        [("trace", xs, [p.index for p in disp if p.index is not None]), ("Poisson", xs, [1.0] * len(xs))],
        "window (s)", "index of dispersion", log_x=True, log_y=True, dashed=("Poisson",),
    )  # fmt: skip
    series = r.rate_series
    rate = line_chart([("requests/min", series.start_s, series.rps)], "time since start (s)", "requests / s")
    fits = [_fit_row(f, f.family == r.fits.best) for f in r.fits.fits]
    rates = [(f"{x.window_s:g} s", _f(x.mean_rps), _f(x.peak_rps), _f(x.peak_to_mean)) for x in r.rates]
    b = r.bursts
    bursts = (
        f"<p>{b.episodes} burst episodes (longest {_f(b.longest_s, ' s')}); {b.idle_gaps} idle gaps of 60 s or "
        f"more (longest {_f(b.idle_longest_s, ' s')}).</p>"
    )
    di = r.diurnal
    daily = (
        line_chart([("req/s", list(range(24)), di.per_hour_rps)], "hour of day", "requests / s")
        + f"<p>Seasonal strength (STL, 24 h): {_f(di.seasonal_strength)}</p>"
        if di.per_hour_rps
        else f"<p class='dim'>Daily pattern: {escape(di.reason or '')}</p>"
    )
    flagged = [f"{p.window_s:g} s" for p in r.dispersion if p.below_resolution]
    flag = f"<p class='note'>Windows below the timestamp resolution: {', '.join(flagged)}.</p>" if flagged else ""
    return (
        "<h2>Arrivals</h2>" + flag + f"<div class='grid'><div>{chart}</div><div>{rate}</div></div>"
        + html_table(("inter-arrival fit", "parameters", "KS", "AIC"), fits)
        + html_table(("resolution", "mean req/s", "peak req/s", "peak/mean"), rates) + bursts + daily
    )  # fmt: skip


def _fit_row(f: Fit, best: bool) -> tuple[str, ...]:
    params = ", ".join(f"{k} {v:.4g}" for k, v in f.params.items())
    return (f.family + (" (best)" if best else ""), params, f"{f.ks:.4f}", f"{f.aic:.1f}")


def _lengths(r: Characterization) -> str:
    if not r.lengths:
        return ""
    labels = list(r.lengths[0].values)
    rows = [(q.column, _f(q.mean), *(_f(v) for v in q.values.values())) for q in r.lengths]
    levels = [float(k[1:].replace("_", ".")) for k in labels]
    chart = line_chart(
        [(q.column, levels, [v or 0.0 for v in q.values.values()]) for q in r.lengths if q.count],
        "percentile", "tokens / count", log_y=True,
    )  # fmt: skip
    tails = [(t.column, _f(t.xmin), str(t.tail_count), _f(t.alpha), t.verdict or str(t.reason)) for t in r.tails]
    return (
        "<h2>Lengths</h2>" + html_table(("column", "mean", *labels), rows) + chart
        + "<h3>Tails</h3>" + html_table(("column", "x_min", "tail n", "alpha", "verdict"), tails)
    )  # fmt: skip


def _mix(r: Characterization) -> str:
    parts = ["<h2>Modality, sessions, reuse</h2>"]
    m, s, p = r.modality, r.sessions, r.prefix_reuse
    if m.shares:
        parts.append(html_table(("requests with", "share"), [(k, _pct(v)) for k, v in m.shares.items()]))
        parts.append(
            f"<p>Image requests: {_pct(m.image_share)} overall, up to {_pct(m.max_window_image_share)} in one "
            f"{m.window_s:g} s window; {m.storm_windows} image-storm windows (twice the overall share, 20+ "
            "requests).</p>"
        )
        if m.series_window_s is not None:
            shares = [v if v is not None else float("nan") for v in m.series_image_share]
            parts.append(line_chart([("image share", m.series_start_s, shares)], "time since start (s)",
                                    f"share with images ({m.series_window_s:g} s windows)"))  # fmt: skip
    if s.sessions:
        parts.append(f"<p>{s.sessions:,} sessions; turns {s.turns}; think time (s) {s.think_time_s}</p>")
    if p.hit_ratio is not None:
        parts.append(f"<p>Prefix reuse: {p.blocks:,} block reads, {p.unique_blocks:,} distinct blocks; "
                     f"unbounded-cache hit ratio {p.hit_ratio:.3f}.</p>")  # fmt: skip
        if p.lru:
            parts.append(line_chart(
                [("LRU", [float(c.capacity_blocks) for c in p.lru], [c.hit_ratio for c in p.lru]),
                 ("unbounded", [float(p.lru[0].capacity_blocks), float(p.lru[-1].capacity_blocks)],
                  [p.hit_ratio, p.hit_ratio])],
                "cache size (blocks)", "hit ratio", log_x=True, dashed=("unbounded",),
            ))  # fmt: skip
    parts += [f"<p class='dim'>{escape(x.reason)}</p>" for x in (m, s, p) if x.reason]
    return "".join(parts)


def _missing(r: Characterization) -> str:
    if not r.unavailable:
        return ""
    rows = [(k, escape(v)) for k, v in r.unavailable.items()]
    return "<h2>Not computed</h2>" + html_table(("figure", "why"), rows)


def html_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{trs}</table>"


def _f(v: float | None, unit: str = "") -> str:
    return "&ndash;" if v is None else f"{v:.4g}{unit}"


def _pct(v: float | None) -> str:
    return "&ndash;" if v is None else f"{v:.1%}"


def _atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
