"""Minimal, dependency-free SVG line charts for the reports (no scripts, nothing fetched)."""

from __future__ import annotations

import math
from html import escape

W, H, PAD_L, PAD_B, PAD_T, PAD_R = 560, 300, 64, 44, 16, 120
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def line_chart(
    series: list[tuple[str, list[float], list[float]]],
    x_label: str,
    y_label: str,
    log_x: bool = False,
    log_y: bool = False,
    dashed: tuple[str, ...] = (),
) -> str:
    """An SVG line chart; points that cannot be drawn (None, or not positive on a log axis) are skipped."""
    fx, fy = (math.log10 if log_x else float), (math.log10 if log_y else float)
    pts = [
        (name, [(fx(x), fy(y)) for x, y in zip(xs, ys, strict=True) if _ok(x, log_x) and _ok(y, log_y)])
        for name, xs, ys in series
    ]
    allx = [p[0] for _, ps in pts for p in ps]
    ally = [p[1] for _, ps in pts for p in ps]
    if not allx:
        return "<p><em>nothing to plot</em></p>"
    x0, x1 = _range(allx)
    y0, y1 = _range(ally)

    def sx(v: float) -> float:
        return PAD_L + (v - x0) / (x1 - x0) * (W - PAD_L - PAD_R)

    def sy(v: float) -> float:
        return H - PAD_B - (v - y0) / (y1 - y0) * (H - PAD_B - PAD_T)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-size="11" font-family="sans-serif">'
    ]
    parts.append(
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{W - PAD_L - PAD_R}" height="{H - PAD_B - PAD_T}" '
        'fill="#fafafa" stroke="#ccc"/>'
    )
    for v in _ticks(x0, x1):
        parts.append(f'<text x="{sx(v):.1f}" y="{H - PAD_B + 14}" text-anchor="middle">{_label(v, log_x)}</text>')
    for v in _ticks(y0, y1):
        parts.append(f'<text x="{PAD_L - 6}" y="{sy(v) + 4:.1f}" text-anchor="end">{_label(v, log_y)}</text>')
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#eee"/>')
    parts.append(f'<text x="{(PAD_L + W - PAD_R) / 2}" y="{H - 8}" text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text x="14" y="{(PAD_T + H - PAD_B) / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(PAD_T + H - PAD_B) / 2})">{escape(y_label)}</text>')  # fmt: skip
    for i, (name, ps) in enumerate(pts):
        colour = COLOURS[i % len(COLOURS)]
        dash = ' stroke-dasharray="5 4"' if name in dashed else ""
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in ps)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"{dash}/>')
        if len(ps) <= 40:
            parts += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>' for x, y in ps]
        parts.append(f'<text x="{W - PAD_R + 8}" y="{PAD_T + 14 + 16 * i}" fill="{colour}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _ok(v: float | None, log: bool) -> bool:
    return v is not None and math.isfinite(v) and (v > 0 or not log)


def _range(vs: list[float]) -> tuple[float, float]:
    lo, hi = min(vs), max(vs)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    step = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(step))
    step = min((m * mag for m in (1, 2, 5, 10) if m * mag >= step), default=step)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _label(v: float, log: bool) -> str:
    value = 10**v if log else v
    return f"{value:.3g}"
