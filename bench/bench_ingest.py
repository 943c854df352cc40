"""Ingest throughput and peak memory, against a bare DuckDB CSV/JSON -> Parquet copy of the same file.

For each format and size: generate a synthetic file, then (in fresh subprocesses, so peak RSS is per run)
time `servetrace.traces.ingest` and `COPY (SELECT * FROM read_csv|read_json(FILE)) TO 'x.parquet'`.
Targets: ingest within 1.5x of the DuckDB copy, peak RSS under 2 GiB.

    python bench/bench_ingest.py                          # all formats, 1 M and 10 M rows
    python bench/bench_ingest.py --rows 1000000 --formats azure-llm-2023 qwen --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # heavy imports stay out of the measured child processes
    import numpy as np
    import polars as pl

RATIO_TARGET = 1.5
RSS_TARGET_MIB = 2048
CHUNK_ROWS = 1_000_000
MEAN_GAP_S = 0.03
CHILD_TIMEOUT_S = 3600
OUT_JSON = Path(__file__).resolve().parent / "out" / "ingest.json"


# ---- synthetic files ----------------------------------------------------------------------------------


def _ts(t_ns: np.ndarray, fmt: str) -> pl.Expr:
    import polars as pl

    return pl.lit(pl.Series(t_ns).cast(pl.Datetime("ns"))).dt.strftime(fmt)


def _hash_list(rng: np.random.Generator, counts: np.ndarray) -> pl.Expr:
    """`[1, 2, 3]` text with counts[i] random block ids in row i (at most 8)."""
    import polars as pl

    ids = pl.Series(rng.integers(0, 2**31, (len(counts), 8)))
    items = pl.lit(ids).arr.to_list().list.head(pl.lit(pl.Series(counts)))
    return pl.format("[{}]", items.list.eval(pl.element().cast(pl.String)).list.join(", "))


def _ms_text(t_ns: np.ndarray) -> pl.Expr:
    """Seconds with 3 decimals, exact: `61.114`."""
    import polars as pl

    ms = pl.lit(pl.Series(t_ns // 1_000_000))
    return pl.format("{}.{}", ms // 1000, (ms % 1000).cast(pl.String).str.zfill(3))


def _azure_llm(rng: np.random.Generator, t_ns: np.ndarray, first: int, zoned: bool) -> pl.DataFrame:
    import polars as pl

    n = len(t_ns)
    ts = _ts(t_ns, "%Y-%m-%d %H:%M:%S%.6f+00:00") if zoned else _ts(t_ns, "%F %T%.9f").str.slice(0, 27)
    return pl.select(
        ts.alias("TIMESTAMP"),
        pl.lit(pl.Series(rng.integers(1, 8000, n))).alias("ContextTokens"),
        pl.lit(pl.Series(rng.integers(1, 1000, n))).alias("GeneratedTokens"),
    )


def _azure_llm_2023(rng: np.random.Generator, t_ns: np.ndarray, first: int) -> pl.DataFrame:
    return _azure_llm(rng, t_ns, first, zoned=False)


def _azure_llm_2024(rng: np.random.Generator, t_ns: np.ndarray, first: int) -> pl.DataFrame:
    return _azure_llm(rng, t_ns, first, zoned=True)


def _azure_lmm(rng: np.random.Generator, t_ns: np.ndarray, first: int) -> pl.DataFrame:
    import polars as pl

    n = len(t_ns)
    return pl.select(
        _ts(t_ns, "%Y-%m-%dT%H:%M:%S%.3fZ").alias("TIMESTAMP"),
        pl.lit(pl.Series(rng.integers(0, 5, n))).alias("NumImages"),
        pl.lit(pl.Series(rng.integers(1, 8000, n))).alias("ContextTokens"),
        pl.lit(pl.Series(rng.integers(1, 1000, n))).alias("GeneratedTokens"),
    )


def _burstgpt(rng: np.random.Generator, t_ns: np.ndarray, first: int) -> pl.DataFrame:
    import numpy as np
    import polars as pl

    n = len(t_ns)
    req, resp = rng.integers(1, 4000, n), rng.integers(0, 1000, n)
    return pl.select(
        _ms_text(t_ns).alias("Timestamp"),
        pl.lit(pl.Series(rng.integers(0, 200_000, n))).alias("Session ID"),
        _ms_text(rng.integers(100_000_000, 60_000_000_000, n)).alias("Elapsed time"),
        pl.lit(pl.Series(np.where(rng.random(n) < 0.8, "ChatGPT", "GPT-4"))).alias("Model"),
        pl.lit(pl.Series(req)).alias("Request tokens"),
        pl.lit(pl.Series(resp)).alias("Response tokens"),
        pl.lit(pl.Series(req + resp)).alias("Total tokens"),
        pl.lit(pl.Series(np.where(rng.random(n) < 0.6, "Conversation log", "API log"))).alias("Log Type"),
    )


def _mooncake(rng: np.random.Generator, t_ns: np.ndarray, first: int) -> pl.DataFrame:
    import numpy as np
    import polars as pl

    n = len(t_ns)
    inp = rng.integers(1, 16000, n)
    line = pl.format(
        '{{"timestamp": {}, "input_length": {}, "output_length": {}, "hash_ids": {}}}',
        pl.lit(pl.Series(t_ns // 1_000_000)),
        pl.lit(pl.Series(inp)),
        pl.lit(pl.Series(rng.integers(1, 1000, n))),
        _hash_list(rng, np.minimum(-(-inp // 512), 8)),
    )
    return pl.select(line.alias("line"))


def _qwen(rng: np.random.Generator, t_ns: np.ndarray, first: int) -> pl.DataFrame:
    import numpy as np
    import polars as pl

    n = len(t_ns)
    chat = np.arange(first, first + n, dtype=np.int64)
    parent = chat - rng.integers(1, 1000, n)
    parent = np.where((rng.random(n) < 0.4) & (parent >= 0), parent, -1)
    inp = rng.integers(1, 8000, n)
    line = pl.format(
        '{{"chat_id": {}, "parent_chat_id": {}, "timestamp": {}, "input_length": {}, "output_length": {}, '
        '"type": "text", "turn": {}, "hash_ids": {}}}',
        pl.lit(pl.Series(chat)),
        pl.lit(pl.Series(parent)),
        _ms_text(t_ns),
        pl.lit(pl.Series(inp)),
        pl.lit(pl.Series(rng.integers(1, 1000, n))),
        pl.lit(pl.Series(np.where(parent >= 0, rng.integers(2, 10, n), 1))),
        _hash_list(rng, np.minimum(-(-inp // 16), 8)),
    )
    return pl.select(line.alias("line"))


Builder = Callable[["np.random.Generator", "np.ndarray", int], "pl.DataFrame"]


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    start: str  # ISO time of the first arrival; "" for relative clocks
    build: Builder
    crlf: bool = False  # CRLF line endings and no final newline (as the Azure 2023 release)

    @property
    def jsonl(self) -> bool:
        return self.suffix == ".jsonl"


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("azure-llm-2023", ".csv", "2023-11-16T18:00:00", _azure_llm_2023, crlf=True),
        Format("azure-llm-2024", ".csv", "2024-05-10T00:00:00", _azure_llm_2024),
        Format("azure-lmm-2025", ".csv", "2024-10-15T12:00:00", _azure_lmm),
        Format("burstgpt", ".csv", "", _burstgpt),
        Format("mooncake", ".jsonl", "", _mooncake),
        Format("qwen", ".jsonl", "", _qwen),
    )
}


def _chunks(rows: int) -> Iterator[tuple[int, int]]:
    for first in range(0, rows, CHUNK_ROWS):
        yield first, min(CHUNK_ROWS, rows - first)


def generate(fmt: Format, rows: int, path: Path, seed: int = 0) -> None:
    """Write `rows` requests with sorted, exponentially spaced arrivals, one chunk at a time."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = int(datetime.fromisoformat(fmt.start).replace(tzinfo=UTC).timestamp()) * 10**9 if fmt.start else 0
    newline = "\r\n" if fmt.crlf else "\n"
    with open(path, "wb") as f:
        for first, size in _chunks(rows):
            t_ns = t + np.cumsum(rng.exponential(MEAN_GAP_S * 1e9, size).astype(np.int64))
            t = int(t_ns[-1])
            frame = fmt.build(rng, t_ns, first)
            if fmt.jsonl:
                frame.write_csv(f, include_header=False, quote_style="never", line_terminator=newline)
            else:
                frame.write_csv(f, include_header=first == 0, line_terminator=newline)
    if fmt.crlf:
        os.truncate(path, path.stat().st_size - len(newline))


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---- measured children --------------------------------------------------------------------------------


def _maxrss_mib() -> float:
    """This process's peak RSS (VmHWM); ru_maxrss would include the spawning parent's peak (kept on exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _child_ingest(path: Path, work: Path) -> dict[str, Any]:
    from servetrace.traces import Store, ingest

    import_rss = _maxrss_mib()
    t0 = time.perf_counter()
    result = ingest(Store(work / "store"), path, name="bench", replace=True)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "rows": result.trace.rows,
        "rejects": result.trace.rejects,
        "format": result.trace.format,
        "import_rss_mib": import_rss,
        "rss_mib": _maxrss_mib(),
    }


def _child_duckdb(path: Path, work: Path) -> dict[str, Any]:
    import duckdb

    import_rss = _maxrss_mib()
    reader = "read_json" if path.suffix == ".jsonl" else "read_csv"
    out = work / "copy.parquet"
    t0 = time.perf_counter()
    con = duckdb.connect()
    row = con.execute(f"COPY (SELECT * FROM {reader}('{path}')) TO '{out}' (FORMAT parquet)").fetchone()
    con.close()
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "rows": int(row[0]) if row else None,
        "rejects": 0,
        "import_rss_mib": import_rss,
        "rss_mib": _maxrss_mib(),
    }


CHILDREN = {"ingest": _child_ingest, "duckdb": _child_duckdb}


@dataclass
class Run:
    seconds: float
    wall_s: float  # including interpreter start-up and imports
    rss_mib: float
    import_rss_mib: float
    rows: int | None
    rejects: int | None
    error: str | None = None


def run_child(kind: str, path: Path, work: Path) -> Run:
    """Run one measurement in a fresh interpreter; its peak RSS is its own."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(path), str(work)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    wall = time.perf_counter() - t0
    shutil.rmtree(work, ignore_errors=True)
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip()
        nan = float("nan")
        return Run(nan, wall, nan, nan, None, None, err[-4000:] or f"rc {proc.returncode}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return Run(r["seconds"], wall, r["rss_mib"], r["import_rss_mib"], r["rows"], r["rejects"])


# ---- one measurement ----------------------------------------------------------------------------------


@dataclass
class Result:
    format: str
    rows: int
    file_mib: float
    gen_s: float
    ingest: Run
    duckdb: Run
    ratio: float
    speed_ok: bool | None
    mem_ok: bool | None


def best(runs: list[Run]) -> Run:
    """Fastest run, carrying the highest peak RSS of all runs (the target is a ceiling)."""
    good = [r for r in runs if r.error is None]
    if not good:
        return runs[0]
    top = min(good, key=lambda r: r.seconds)
    return Run(**{**asdict(top), "rss_mib": max(r.rss_mib for r in good)})


def measure(fmt: Format, rows: int, workdir: Path, repeat: int) -> Result:
    path = workdir / f"{fmt.name}-{rows}{fmt.suffix}"
    t0 = time.perf_counter()
    generate(fmt, rows, path)
    gen_s = time.perf_counter() - t0
    size = path.stat().st_size / 2**20
    note(f"# {fmt.name} {rows:,} rows: {size:,.0f} MiB generated in {gen_s:.1f} s")
    ing: list[Run] = []
    ddb: list[Run] = []
    try:
        for _ in range(repeat):
            ddb.append(run_child("duckdb", path, workdir / "run"))
            ing.append(run_child("ingest", path, workdir / "run"))
    finally:
        path.unlink()
    i, d = best(ing), best(ddb)
    ok = i.error is None and d.error is None
    ratio = i.seconds / d.seconds if ok else float("nan")
    mem_ok = None if i.error else i.rss_mib < RSS_TARGET_MIB
    speed_ok = ratio <= RATIO_TARGET if ok else None
    for run, side in ((i, "ingest"), (d, "duckdb")):
        if run.error:
            note(f"# {fmt.name} {rows:,}: {side} FAILED\n{run.error}")
        elif run.rows != rows or run.rejects:
            note(f"# {fmt.name} {rows:,}: {side} got {run.rows} rows and {run.rejects} rejects")
    return Result(fmt.name, rows, size, gen_s, i, d, ratio, speed_ok, mem_ok)


# ---- report -------------------------------------------------------------------------------------------

COLUMNS = [
    ("format", "{:<15}"),
    ("rows", "{:>11,}"),
    ("file MiB", "{:>8.0f}"),
    ("ingest s", "{:>8.2f}"),
    ("ingest rows/s", "{:>13,.0f}"),
    ("ingest RSS MiB", "{:>14.0f}"),
    ("ingest wall s", "{:>13.2f}"),
    ("duckdb s", "{:>8.2f}"),
    ("duckdb RSS MiB", "{:>14.0f}"),
    ("duckdb wall s", "{:>13.2f}"),
    ("ratio", "{:>6.2f}"),
    ("speed", "{:>5}"),
    ("mem", "{:>5}"),
]


def _verdict(ok: bool | None) -> str:
    return "ERROR" if ok is None else ("PASS" if ok else "MISS")


def _cells(r: Result) -> list[object]:
    i, d = r.ingest, r.duckdb
    return [
        r.format,
        r.rows,
        r.file_mib,
        i.seconds,
        r.rows / i.seconds,
        i.rss_mib,
        i.wall_s,
        d.seconds,
        d.rss_mib,
        d.wall_s,
        r.ratio,
        _verdict(r.speed_ok),
        _verdict(r.mem_ok),
    ]


def table(results: list[Result]) -> str:
    rows = [[spec.format(c) for (_, spec), c in zip(COLUMNS, _cells(r), strict=True)] for r in results]
    names = [name for name, _ in COLUMNS]
    widths = [max(len(x) for x in col) for col in zip(names, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    head = line(names)
    return "\n".join([head, "-" * len(head), *(line(r) for r in rows)])


def growth(results: list[Result]) -> list[str]:
    """Peak ingest RSS at the largest size over the smallest, per format (flat memory means ~1x)."""
    out = []
    for name in dict.fromkeys(r.format for r in results):
        mine = [r for r in results if r.format == name and r.ingest.error is None]
        sizes = sorted(mine, key=lambda r: r.rows)
        if len(sizes) > 1:
            lo, hi = sizes[0], sizes[-1]
            out.append(
                f"{name}: ingest peak RSS {lo.ingest.rss_mib:.0f} MiB at {lo.rows:,} rows -> "
                f"{hi.ingest.rss_mib:.0f} MiB at {hi.rows:,} ({hi.ingest.rss_mib / lo.ingest.rss_mib:.2f}x)"
            )
    return out


def _git(*cmd: str) -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", *cmd], cwd=here, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def environment() -> dict[str, object]:
    from importlib.metadata import PackageNotFoundError, version

    def ver(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        **{name: ver(name) for name in ("servetrace", "duckdb", "polars", "pyarrow")},
        "git_head": _git("rev-parse", "HEAD"),
        "git_dirty_files": _git("status", "--porcelain", "--untracked-files=no").splitlines(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def save(results: list[Result], args: argparse.Namespace, env: dict[str, object]) -> None:
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "targets": {"ratio": RATIO_TARGET, "rss_mib": RSS_TARGET_MIB},
        "environment": env,
        "args": {k: v for k, v in vars(args).items() if k != "child"},
        "results": [asdict(r) for r in results],
    }
    OUT_JSON.write_text(json.dumps(doc, indent=2, default=str) + "\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--formats", nargs="+", choices=list(FORMATS), default=list(FORMATS))
    p.add_argument("--repeat", type=int, default=1, help="runs per side; the fastest is reported")
    p.add_argument("--workdir", type=Path, default=None, help="where files are generated (default: /tmp)")
    p.add_argument("--child", nargs=3, metavar=("KIND", "FILE", "WORK"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        kind, path, work = args.child
        print(json.dumps(CHILDREN[kind](Path(path), Path(work))))
        return 0
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="servetrace-bench-", dir=args.workdir))
    results: list[Result] = []
    env = environment()
    try:
        for rows in args.rows:
            for name in args.formats:
                results.append(measure(FORMATS[name], rows, workdir, args.repeat))
                save(results, args, env)  # after each one, so an interrupted run keeps what it measured
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(table(results))
    for line in growth(results):
        print(line)
    print(
        f"targets: ingest/duckdb <= {RATIO_TARGET}x, ingest peak RSS < {RSS_TARGET_MIB} MiB; "
        f"time is best of {args.repeat}, RSS the highest; results in {OUT_JSON}"
    )
    return 0 if all(r.speed_ok and r.mem_ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
