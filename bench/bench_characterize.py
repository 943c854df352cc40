"""Characterize a synthetic 10 M-request trace; compare with a plain pandas script of the core statistics.

Each side runs in a fresh process (time excludes imports; peak RSS from VmHWM). The pandas peer computes
quantiles of input/output tokens, the inter-arrival CV and the index of dispersion at 3 window sizes.
Target: the full characterization within 2x of the pandas subset, and under 60 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from servetrace.traces import Store

CHILD_CHARACTERIZE = """
import sys, time
from servetrace.analytics import characterize
from servetrace.traces import Store
t = time.perf_counter(); characterize(Store(sys.argv[1]), "synth"); print(time.perf_counter() - t)
"""
CHILD_PANDAS = """
import sys, time
import pandas as pd
df = pd.read_parquet(sys.argv[1], columns=["arrival_s", "input_tokens", "output_tokens"])
t = time.perf_counter()
q = df[["input_tokens", "output_tokens"]].quantile([0.5, 0.9, 0.95, 0.99, 0.999])
gaps = df["arrival_s"].diff().dropna()
cv = gaps.std(ddof=0) / gaps.mean()
a = df["arrival_s"] - df["arrival_s"].iloc[0]
for w in (1.0, 10.0, 60.0):
    n = int(a.iloc[-1] // w)
    c = (a // w).astype("int64").value_counts().reindex(range(n), fill_value=0)
    d = c.var(ddof=0) / c.mean()
print(time.perf_counter() - t)
"""


def make_trace(rows: int, path: Path) -> None:
    """A bursty, heavy-tailed synthetic trace: gamma gaps modulated by a slow on/off rate, lognormal lengths."""
    rng = np.random.default_rng(0)
    gaps = rng.gamma(0.5, 0.02, rows) * np.repeat(rng.choice([0.3, 3.0], rows // 50_000 + 1), 50_000)[:rows]
    table = pa.table({
        "ts": np.cumsum(gaps),
        "p": np.minimum(rng.lognormal(7, 1.2, rows), 2e6).astype(np.int64),
        "c": np.minimum(rng.lognormal(4.5, 1.1, rows), 1e5).astype(np.int64),
    })  # fmt: skip
    pq.write_table(table, path)


def stored_trace(rows: int, folder: Path, name: str) -> Store:
    """A store in `folder` holding `make_trace(rows)` as trace `name` (ingested like a user's file)."""
    from servetrace.traces import ReadOptions, Store, ingest

    src = folder / f"{name}.parquet"
    make_trace(rows, src)
    store = Store(folder / "store")
    opts = ReadOptions(mapping={"arrival": "ts", "input_tokens": "p", "output_tokens": "c"})
    ingest(store, src, name=name, fmt="generic", options=opts)
    return store


def child(code: str, *args: str) -> tuple[float, float]:
    wrapped = code + "\nprint(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
    out = subprocess.run([sys.executable, "-c", wrapped, *args], capture_output=True, text=True, check=True)
    seconds, hwm_kib = out.stdout.split()[-2:]
    return float(seconds), int(hwm_kib) / 1024


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        store = stored_trace(args.rows, Path(d), "synth")
        stored = store.data_file(store.get("synth"))
        ours = min((child(CHILD_CHARACTERIZE, str(store.root)) for _ in range(args.repeat)), key=lambda r: r[0])
        peer = min((child(CHILD_PANDAS, str(stored)) for _ in range(args.repeat)), key=lambda r: r[0])
    ratio = ours[0] / peer[0]
    print(f"rows {args.rows:,}: servetrace characterize {ours[0]:.1f} s, peak {ours[1]:.0f} MiB; "
          f"pandas core subset {peer[0]:.1f} s, peak {peer[1]:.0f} MiB; ratio {ratio:.2f} "
          f"({'PASS' if ratio <= 2 and ours[0] < 60 else 'MISS'}: target <= 2x and < 60 s)")  # fmt: skip
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "characterize.json").write_text(json.dumps({"rows": args.rows, "ours": ours, "pandas": peer}))
    return 0 if ratio <= 2 and ours[0] < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
