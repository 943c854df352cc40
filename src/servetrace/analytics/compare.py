"""Two characterizations side by side: the figures a reader compares first, as rows of (figure, a, b)."""

from __future__ import annotations

from servetrace.analytics.results import Characterization

Row = tuple[str, float | str | None, float | str | None]


def compare(a: Characterization, b: Characterization) -> list[Row]:
    rows: list[Row] = [
        ("requests", a.rows, b.rows),
        ("span s", a.span_s, b.span_s),
        ("inter-arrival CV", a.interarrival.cv, b.interarrival.cv),
        ("best inter-arrival family", a.fits.best, b.fits.best),
        ("Hurst exponent", a.hurst, b.hurst),
    ]
    da = {p.window_s: p.index for p in a.dispersion}
    db = {p.window_s: p.index for p in b.dispersion}
    rows += [(f"dispersion at {w:g} s", da.get(w), db.get(w)) for w in sorted(set(da) | set(db))]
    la = {q.column: q for q in a.lengths}
    lb = {q.column: q for q in b.lengths}
    for col in [c for c in la if c in lb]:
        for level in ("p50", "p99"):
            rows.append((f"{col} {level}", la[col].values.get(level), lb[col].values.get(level)))
    rows.append(("input/output Pearson", a.correlation.pearson, b.correlation.pearson))
    rows.append(("prefix hit ratio", a.prefix_reuse.hit_ratio, b.prefix_reuse.hit_ratio))
    return rows
