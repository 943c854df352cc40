"""The `servetrace` command line: parse, call one library function, print with rich."""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pyarrow as pa
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from servetrace import __version__
from servetrace.errors import ServetraceError, UsageError

if TYPE_CHECKING:
    from servetrace.analytics import Characterization
    from servetrace.traces import Store

app = typer.Typer(
    name="servetrace",
    help="Trace analytics and workload generation for LLM and LMM serving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_WIDTH = None if sys.stdout.isatty() else 200  # pipes and files get whole rows, not 80 columns
out = Console(soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, soft_wrap=True, width=_WIDTH)

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="Trace store folder [env: SERVETRACE_STORE; default: ./servetrace-store]"),
]


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _store(path: Path | None) -> Store:
    from servetrace.traces import Store

    return Store(path)


def _parse_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in ",".join(pairs).split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--map: expected CANONICAL=SOURCE, got {item!r}")
        mapping[key.strip()] = value.strip()
    return mapping


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="Trace file (.csv, .jsonl, .parquet; .gz/.zst too)")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Trace name [default: file stem]")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="Reader to use [default: detected]")] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="generic: CANONICAL=SOURCE pairs, e.g. arrival=ts,input_tokens=p"),
    ] = None,
    time_unit: Annotated[str | None, typer.Option(help="generic: unit of numeric timestamps (s, ms, us, ns)")] = None,
    time_format: Annotated[str | None, typer.Option(help="generic: strptime format of text timestamps")] = None,
    timezone: Annotated[str | None, typer.Option(help="Time zone of the trace's timestamps (IANA name)")] = None,
    block_size: Annotated[int | None, typer.Option(help="Tokens per hash_ids block")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first malformed row")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a stored trace of the same name")] = False,
    store: StoreOpt = None,
) -> None:
    """Read a trace file into the store (format auto-detected)."""
    from servetrace.traces import ReadOptions
    from servetrace.traces import ingest as do_ingest

    options = ReadOptions(_parse_map(mapping or []), time_unit, time_format, timezone, block_size)
    with err.status(f"ingesting {escape(str(path))} ..."):
        result = do_ingest(_store(store), path, name, fmt, options, strict=strict, replace=replace)
    t = result.trace
    verb = "replaced" if result.replaced else "stored"
    out.print(
        f"{verb} [bold]{t.name}[/] ({t.format}): {t.rows:,} requests over {_span(t.span_s)}, "
        f"{t.rejects:,} rejected, in {result.seconds:.2f} s"
    )
    if t.unsorted_rows:
        err.print(f"[yellow]note:[/] {t.unsorted_rows:,} rows were out of order; the trace was sorted by arrival")
    if t.duplicate_timestamps:
        err.print(f"[yellow]note:[/] {t.duplicate_timestamps:,} requests share their timestamp with the previous one")
    for r in result.first_rejects:
        err.print(f"[yellow]rejected[/] {escape(f'{t.source_file}:{r.line}: {r.reason}')}", highlight=False)
    if t.rejects > len(result.first_rejects):
        err.print(f"... all {t.rejects:,} rejects: servetrace sql \"SELECT * FROM rejects WHERE trace = '{t.name}'\"")


@app.command("traces")
def list_traces(
    as_json: Annotated[bool, typer.Option("--json", help="Print the catalog as JSON")] = False,
    store: StoreOpt = None,
) -> None:
    """List the traces in the store."""
    infos = _store(store).list()
    if as_json:
        out.print_json(json.dumps([i.__dict__ for i in infos], default=str))
        return
    table = Table("name", "format", "rows", "rejects", "span", "start", "size", "sha256", box=None)
    for i in infos:
        start = f"{i.start_time:%Y-%m-%d %H:%M:%S}" if i.start_time else "-"
        if i.clock == "time_of_day" and i.start_time:
            start = f"day 1 {i.start_time:%H:%M:%S}"
        zone = f" {i.timezone}" if i.timezone and i.clock == "absolute" else ""
        table.add_row(
            i.name,
            i.format,
            f"{i.rows:,}",
            f"{i.rejects:,}",
            _span(i.span_s),
            start + zone,
            _size(i.size_bytes),
            (i.source_sha256 or "")[:12],
        )
    if not infos:
        err.print(f"no traces in {escape(str(_store(store).root))}")
    out.print(table)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="Read-only SQL over tables requests, traces and rejects")],
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format")] = OutputFormat.table,
    store: StoreOpt = None,
) -> None:
    """Query the store with DuckDB SQL (read-only)."""
    result = _store(store).query(query)
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(result.to_pylist(), default=_json_default) + "\n")
    elif fmt is OutputFormat.csv:
        sys.stdout.write(_to_csv(result))
    else:
        table = Table(*result.column_names, box=None)
        for row in result.to_pylist():
            table.add_row(*(_cell(v) for v in row.values()))
        out.print(table)


@app.command()
def export(
    trace: Annotated[str, typer.Argument(help="Trace name")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Parquet file to write")],
    store: StoreOpt = None,
) -> None:
    """Export a trace as Parquet (canonical schema; re-ingests exactly)."""
    from servetrace.traces.store import export_trace

    path = export_trace(_store(store), trace, output)
    out.print(f"wrote {path}")


@app.command("rm")
def remove(trace: Annotated[str, typer.Argument(help="Trace name")], store: StoreOpt = None) -> None:
    """Remove a trace from the store."""
    _store(store).remove(trace)
    out.print(f"removed {trace}")


@app.command()
def formats() -> None:
    """List the trace formats servetrace reads."""
    from servetrace.traces import known_formats

    table = Table("format", "description", box=None)
    for name, doc in known_formats().items():
        table.add_row(name, doc)
    out.print(table)


@app.command()
def characterize(
    traces: Annotated[list[str], typer.Argument(help="Trace name; give two to compare them side by side")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as one JSON document")] = False,
    report: Annotated[Path | None, typer.Option(help="Write an HTML report here (and its JSON beside it)")] = None,
    by: Annotated[str | None, typer.Option(help="Also per group of this column: client, model or category")] = None,
    store: StoreOpt = None,
) -> None:
    """Characterize a trace: arrivals, burstiness, lengths and tails, modality, sessions, prefix reuse."""
    from servetrace.analytics import characterize as run
    from servetrace.analytics.report import write_report

    if len(traces) > 2:
        raise UsageError("characterize takes one trace, or two to compare")
    if len(traces) == 2:
        first, second = (run(_store(store), t) for t in traces)
        _compare(first, second, as_json)
        return
    if by is not None and by not in ("client", "model", "category"):
        raise UsageError(f"--by must be client, model or category, not {by!r}")
    result = run(_store(store), traces[0], by=by)
    if report is not None:
        html, doc = write_report(result, report)
        err.print(f"wrote {escape(str(html))} and {escape(str(doc))}")
    if as_json:
        sys.stdout.write(result.to_json() + "\n")
        return
    ts, ia = result.timestamps, result.interarrival
    out.print(f"[bold]{escape(result.trace)}[/]: {result.rows:,} requests over {_span(result.span_s)}")
    out.print(f"timestamp resolution {_num(ts.resolution_s)} s, repeated gaps {_num(ts.repeated_share)}")
    if ts.note:
        out.print(f"[yellow]note:[/] {escape(ts.note)}")
    out.print(f"inter-arrival mean {_num(ia.mean_s)} s, median {_num(ia.median_s)} s, CV {_num(ia.cv)}")
    fits = Table("family", "parameters", "KS", "AIC", box=None)
    for f in result.fits.fits:
        best = " (best)" if f.family == result.fits.best else ""
        params = ", ".join(f"{k} {_num(v)}" for k, v in f.params.items())
        fits.add_row(f.family + best, params, _num(f.ks), f"{f.aic:.1f}")
    out.print(fits if result.fits.fits else f"inter-arrival fits: {result.fits.reason}")
    wf = result.window_fits
    if wf.windows:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(wf.best_counts.items(), key=lambda kv: -kv[1]))
        out.print(f"per {wf.window_s:g} s window ({wf.windows}): best {counts}; median CV {_num(wf.median_cv)}")
    table = Table("window s", "windows", "index of dispersion", box=None)
    for p in result.dispersion:
        index = _num(p.index) if p.index is not None else f"- ({p.reason})"
        table.add_row(f"{p.window_s:g}", str(p.windows), index + (" (below resolution)" if p.below_resolution else ""))
    out.print(table)
    rates = ", ".join(f"{r.window_s:g} s {_num(r.peak_to_mean)}" for r in result.rates)
    b = result.bursts
    out.print(f"peak-to-mean rate: {rates}; Hurst exponent {_num(result.hurst)}")
    out.print(
        f"burst episodes {b.episodes} (longest {_num(b.longest_s)} s); idle gaps of 60 s or more {b.idle_gaps} "
        f"(longest {_num(b.idle_longest_s)} s)"
    )
    di = result.diurnal
    if di.per_hour_rps:
        peak = int(max(range(24), key=lambda h: di.per_hour_rps[h]))
        out.print(f"daily pattern: peak hour {peak:02d}:00, seasonal strength {_num(di.seasonal_strength)}")
    lengths = Table("column", "mean", *result.lengths[0].values if result.lengths else (), box=None)
    for q in result.lengths:
        lengths.add_row(q.column, _num(q.mean), *(_num(v) for v in q.values.values()))
    out.print(lengths)
    tails = Table("tail of", "x_min", "tail n", "alpha", "verdict", box=None)
    for t in result.tails:
        tails.add_row(t.column, _num(t.xmin), str(t.tail_count), _num(t.alpha), t.verdict or f"- ({t.reason})")
    out.print(tails)
    c = result.correlation
    out.print(f"input/output correlation: Pearson {_num(c.pearson)}, Spearman {_num(c.spearman)}")
    mix, sess, reuse = result.modality, result.sessions, result.prefix_reuse
    if mix.shares:
        shares = ", ".join(f"{k} {v:.1%}" for k, v in mix.shares.items())
        storm = _num(mix.max_window_image_share)
        out.print(f"modality mix: {shares}; largest image share in a {mix.window_s:g} s window {storm}, "
                  f"{mix.storm_windows} image-storm windows")  # fmt: skip
    if sess.sessions:
        out.print(f"sessions: {sess.sessions:,}; turns {sess.turns}; think time s {sess.think_time_s}")
    if reuse.hit_ratio is not None:
        out.print(
            f"prefix reuse: {reuse.blocks:,} blocks, {reuse.unique_blocks:,} distinct, "
            f"unbounded-cache hit ratio {reuse.hit_ratio:.3f}"
        )
        for share in (0.5, 0.9):
            point = reuse.capacity_for(share)
            if point is not None:
                tokens = f" ({point.capacity_tokens:,} tokens)" if point.capacity_tokens else ""
                out.print(f"  an LRU cache of {point.capacity_blocks:,} blocks{tokens} reaches {share:.0%} of it: "
                          f"hit ratio {point.hit_ratio:.3f}")  # fmt: skip
    if result.groups:
        groups = Table(f"{result.by}", "requests", "share", "CV", "disp 60 s", "in p50", "in p99", "out p50", "out p99",
                       box=None)  # fmt: skip
        for g in result.groups:
            groups.add_row(
                escape(g.value), f"{g.requests:,}", f"{g.share:.1%}", _num(g.interarrival_cv), _num(g.dispersion_60s),
                _num(g.input_p50), _num(g.input_p99), _num(g.output_p50), _num(g.output_p99),
            )  # fmt: skip
        out.print(groups)
    for what, part in (("modality mix", mix), ("sessions", sess), ("prefix reuse", reuse)):
        if part.reason:
            out.print(f"[dim]{what}: {escape(part.reason)}[/]")
    for what, why in result.unavailable.items():
        out.print(f"[dim]{what}: {escape(why)}[/]")


def _compare(a: Characterization, b: Characterization, as_json: bool) -> None:
    from servetrace.analytics.compare import compare

    rows = compare(a, b)
    if as_json:
        sys.stdout.write(json.dumps({"a": a.trace, "b": b.trace, "rows": rows}, allow_nan=False) + "\n")
        return
    table = Table("figure", escape(a.trace), escape(b.trace), box=None)
    for figure, x, y in rows:
        table.add_row(figure, *(v if isinstance(v, str) else _num(v) for v in (x, y)))
    out.print(table)


@app.command()
def fit(
    trace: Annotated[str, typer.Argument(help="Trace name")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model file to write (JSON)")],
    arrivals: Annotated[str, typer.Option(help="Arrival model, or auto: the closest dispersion curve")] = "auto",
    by: Annotated[str | None, typer.Option(help="One model per client: client")] = None,
    store: StoreOpt = None,
) -> None:
    """Fit a workload model (arrivals, lengths, modality, sessions, prefix reuse) to a trace."""
    from servetrace.generator import fit_workload, save_model

    model, selections = fit_workload(_store(store), trace, arrivals=arrivals, by=by)
    save_model(model, output)
    for sel in selections:
        table = Table("arrival model", "dispersion error", "held-out loglik / request", "fit s", box=None)
        for c in sel.candidates:
            chosen = " (chosen)" if c.model == sel.chosen else ""
            error = _num(c.dispersion_error) if c.note is None else f"- ({escape(c.note)})"
            table.add_row(c.model + chosen, error, _num(c.heldout_loglik_per_request), f"{c.fit_s:.2f}")
        out.print(f"[bold]client {escape(sel.client)}[/]: {sel.chosen} (by {sel.by})")
        out.print(table)
        if sel.fallback:
            out.print(f"[yellow]fallback:[/] {escape(sel.fallback)}")
    err.print(f"wrote {escape(str(output))}")


@app.command("import-servegen")
def import_servegen(
    path: Annotated[Path, typer.Argument(help="A ServeGen folder (e.g. data/language/m-large) or one trace.csv")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model file to write (JSON)")],
    client: Annotated[list[str] | None, typer.Option(help="Client id to import (repeat for several)")] = None,
    top: Annotated[int | None, typer.Option(help="Only the N clients with the most requests")] = None,
) -> None:
    """Load ServeGen's per-client data (windowed arrivals, length distributions) as a workload model."""
    from servetrace.generator import save_model
    from servetrace.generator.servegen import import_servegen as run

    model = run(path, client or None, top)
    save_model(model, output)
    rate = model.mean_rate()
    out.print(f"{len(model.clients)} clients, {rate:.3g} requests/s in all (relative: ServeGen scales its rates), "
              f"{_span(model.duration_s)} of windows")  # fmt: skip
    for skipped in model.source.get("skipped", []):
        out.print(f"[dim]skipped {escape(str(skipped))}[/]")
    err.print(f"wrote {escape(str(output))}")


@app.command()
def generate(
    model: Annotated[Path, typer.Argument(help="Model file written by servetrace fit (or imported)")],
    name: Annotated[str, typer.Option(help="Name of the synthetic trace in the store")],
    duration: Annotated[str | None, typer.Option(help="e.g. 3600, 90s, 30m, 1h, 2d [default: the model's]")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same model, duration and seed, same trace")] = 0,
    rate_scale: Annotated[float, typer.Option(help="Multiply every arrival rate (2: twice the traffic)")] = 1.0,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Edit the model: image_share=0.4, or a dotted path such as clients.0.arrivals.rate_rps=3"
        ),
    ] = None,
    replace: Annotated[bool, typer.Option(help="Replace a trace of the same name")] = False,
    store: StoreOpt = None,
) -> None:
    """Sample a synthetic trace from a workload model into the store."""
    from servetrace.generator import generate as sample
    from servetrace.generator import load_model, store_synthetic

    seconds = _duration(duration) if duration is not None else None
    target = _store(store)
    target.check_writable(name, replace)  # before sampling: a refused name costs nothing
    loaded = load_model(model, set_ or [])
    seconds = seconds or loaded.duration_s
    table = sample(loaded, seconds, seed=seed, rate_scale=rate_scale)
    meta = {"model_file": str(model), "seed": seed, "duration_s": seconds, "rate_scale": rate_scale,
            "sets": set_ or [], "source": loaded.source.get("trace"), "model": loaded.to_dict()}  # fmt: skip
    result = store_synthetic(target, table, name, meta, replace=replace, block_size=loaded.block_size)
    out.print(f"stored {escape(result.trace.name)}: {result.trace.rows:,} requests over {_span(seconds)} "
              f"(seed {seed}) in {result.seconds:.2f} s")  # fmt: skip


@app.command()
def fidelity(
    synthetic: Annotated[str, typer.Argument(help="Synthetic trace")],
    real: Annotated[str, typer.Argument(help="Real trace it should resemble")],
    model: Annotated[Path | None, typer.Option(help="Model file: adds a time-rescaling test of its arrivals")] = None,
    report: Annotated[Path | None, typer.Option(help="Write an HTML report here (and its JSON beside it)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as one JSON document")] = False,
    store: StoreOpt = None,
) -> None:
    """How close a synthetic trace is to the real one, next to a Poisson baseline and the real trace's halves."""
    from servetrace.generator import load_model
    from servetrace.generator.fidelity import fidelity as run
    from servetrace.generator.report import write_fidelity_report

    arrivals = load_model(model).clients[0].arrivals if model is not None else None
    result = run(_store(store), synthetic, real, arrivals)
    if report is not None:
        html, doc = write_fidelity_report(result, report)
        err.print(f"wrote {escape(str(html))} and {escape(str(doc))}")
    if as_json:
        sys.stdout.write(result.to_json() + "\n")
        return
    dist = Table("", "KS", "KS baseline", "KS real halves", "W1 log", "W1 log baseline", box=None)
    for d in result.distances:
        dist.add_row(d.what, _num(d.ks), _num(d.baseline_ks), _num(d.floor_ks), _num(d.wasserstein_log),
                     _num(d.baseline_wasserstein_log))  # fmt: skip
    out.print(dist)
    disp = Table("window s", "real", "synthetic", "baseline", box=None)
    for w, r, s, b in zip(result.dispersion.x, result.dispersion.real, result.dispersion.synthetic,
                          result.dispersion.baseline, strict=True):  # fmt: skip
        disp.add_row(f"{w:g}", _num(r), _num(s), _num(b))
    out.print(disp)
    for target, ok in result.targets.items():
        out.print(f"{escape(target)}: {'-' if ok is None else ('pass' if ok else '[red]miss[/]')}")
    for what, why in result.unavailable.items():
        out.print(f"[dim]{what}: {escape(why)}[/]")


@app.command()
def version() -> None:
    """Print servetrace's version."""
    out.print(__version__)


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _duration(text: str) -> float:
    """Seconds from 3600, 90s, 30m, 1h or 2d."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    t = text.strip().lower()
    try:
        value = float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        raise UsageError(f"--duration {text!r}: expected seconds or a number with s, m, h or d") from None
    if value <= 0:
        raise UsageError(f"--duration {text!r}: must be positive")
    return value


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else f"{v:,}"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n:.1f} TiB"


def _json_default(v: object) -> object:
    if isinstance(v, Decimal):  # DuckDB's HUGEINT and DECIMAL results
        return int(v) if v == v.to_integral_value() else float(v)
    return str(v)


def _cell(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "NULL" if v is None else str(v)


def _to_csv(table: pa.Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.column_names)
    for row in table.to_pylist():
        w.writerow(["" if v is None else v for v in row.values()])
    return buf.getvalue()


def main() -> None:
    """Console entry point: every servetrace error becomes one line on stderr and its exit code."""
    try:
        app(standalone_mode=False)
    except ServetraceError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("[red]interrupted[/]: nothing was changed in the store")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
