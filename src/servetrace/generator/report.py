"""The fidelity report: one self-contained HTML page (tables and inline SVG plots) and its JSON."""

from __future__ import annotations

from html import escape
from pathlib import Path

from servetrace.analytics.report import CSS, html_table, write_pair
from servetrace.analytics.svg import line_chart
from servetrace.generator.fidelity import Curve, Fidelity


def write_fidelity_report(f: Fidelity, html_path: Path) -> tuple[Path, Path]:
    return write_pair(html_path, render(f), f.to_json())


def render(f: Fidelity) -> str:
    title = f"Fidelity: {escape(f.synthetic)} vs {escape(f.real)}"
    parts = [f"<h1>{title}</h1>", f"<p>{f.rows[0]:,} synthetic requests, {f.rows[1]:,} real.</p>", _targets(f),
             _distances(f), _charts(f), _other(f)]  # fmt: skip
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{CSS}</style></head>"
            f"<body>{''.join(parts)}</body></html>")  # fmt: skip


def _targets(f: Fidelity) -> str:
    rows = [(escape(k), "&ndash;" if v is None else ("pass" if v else "<b>miss</b>")) for k, v in f.targets.items()]
    return "<h2>Targets</h2>" + html_table(("target", "result"), rows)


def _distances(f: Fidelity) -> str:
    rows = [
        (d.what, _n(d.ks), _n(d.baseline_ks), _n(d.floor_ks), _n(d.wasserstein_log), _n(d.baseline_wasserstein_log),
         _n(d.floor_wasserstein_log))
        for d in f.distances
    ]  # fmt: skip
    head = ("", "KS synthetic", "KS baseline", "KS real halves", "W1 log synthetic", "W1 log baseline",
            "W1 log real halves")  # fmt: skip
    note = ("<p class='dim'>Baseline: Poisson arrivals at the real rate, input and output drawn independently. "
            "Real halves: the first half of the real trace against its second half (the noise floor).</p>")  # fmt: skip
    return "<h2>Distances to the real trace</h2>" + html_table(head, rows) + note


def _chart(c: Curve, x_label: str, y_label: str, log_x: bool = False, log_y: bool = False) -> str:
    series = [("real", c.x, c.real), ("synthetic", c.x, c.synthetic)]
    if c.baseline:
        series.append(("baseline", c.x, c.baseline))
    if c.floor:
        series.append(("real 2nd half", c.x, c.floor))
    return line_chart(series, x_label, y_label, log_x=log_x, log_y=log_y, dashed=("baseline", "real 2nd half"))  # type: ignore[arg-type]


def _charts(f: Fidelity) -> str:
    parts = [_chart(f.dispersion, "window (s)", "index of dispersion", log_x=True, log_y=True),
             _chart(f.rate_acf, "lag (s)", "autocorrelation of 10 s counts")]  # fmt: skip
    if f.daily is not None:
        parts.append(_chart(f.daily, "hour of day", "requests / s"))
    if f.prefix_lru is not None:
        parts.append(_chart(f.prefix_lru, "LRU cache size (blocks)", "hit ratio", log_x=True))
    cells = "".join(f"<div>{p}</div>" for p in parts)
    return f"<h2>Curves</h2><div class='grid'>{cells}</div>"


def _other(f: Fidelity) -> str:
    c = f.correlation
    rows = [("Pearson(input, output)", _n(c.get("real")), _n(c.get("synthetic")), _n(c.get("baseline")))]
    text = "<h2>Input/output relation</h2>" + html_table(("", "real", "synthetic", "baseline"), rows)
    if f.rescaling_ks is not None:
        text += (f"<p>Time-rescaling test of the fitted arrival model on the real trace: KS distance of the "
                 f"rescaled gaps from Exp(1) = {f.rescaling_ks:.4f}.</p>")  # fmt: skip
    if f.unavailable:
        text += "<h2>Not computed</h2>" + html_table(
            ("figure", "why"), [(k, escape(v)) for k, v in f.unavailable.items()]
        )
    return text


def _n(v: float | None) -> str:
    return "&ndash;" if v is None else f"{v:.4g}"
