"""Workload-model speed: fit a 1 M-request trace and sample 1 M requests, each against a peer in the same run.

Fit: `servetrace fit` (auto: every arrival model scored on its dispersion curve, lengths, modality) against
the same trace's plain characterization core (pandas quantiles and CV), as a yardstick. Sample: the default
(Cox) model's `generate` against numpy drawing 1 M Poisson arrivals and resampling lengths (the cheapest
possible synthetic trace). Targets (the issue's): fit under 60 s, sampling 1 M requests under 2 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_characterize import stored_trace


def best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    from servetrace.generator import fit_workload, generate

    with tempfile.TemporaryDirectory() as d:
        store = stored_trace(args.rows, Path(d), "t")
        table = pq.read_table(store.data_file(store.get("t")))
        holder: dict[str, object] = {}

        def fit() -> None:
            holder["model"] = fit_workload(store, "t")[0]

        def peer_fit() -> None:
            df = table.to_pandas()
            df[["input_tokens", "output_tokens"]].quantile(np.linspace(0, 1, 1001))
            g = df["arrival_s"].diff()
            _ = g.std() / g.mean()

        fit_s, peer_fit_s = best(fit, 1), best(peer_fit, args.repeat)
        model = holder["model"]
        span = float(table.column("arrival_s")[-1].as_py())
        scale = args.rows / model.mean_rate() / span  # type: ignore[attr-defined]
        rows: dict[str, int] = {}

        def sample() -> None:
            rows["n"] = generate(model, span, seed=1, rate_scale=scale).num_rows  # type: ignore[arg-type]

        def peer_sample() -> None:
            rng = np.random.default_rng(1)
            n = rng.poisson(args.rows)
            inp = table.column("input_tokens").to_numpy()
            pa.table({"arrival_s": np.sort(rng.uniform(0, span, n)), "input_tokens": rng.choice(inp, n),
                      "output_tokens": rng.choice(table.column("output_tokens").to_numpy(), n)})  # fmt: skip

        sample_s, peer_sample_s = best(sample, args.repeat), best(peer_sample, args.repeat)
    arrivals = model.clients[0].arrivals.name  # type: ignore[attr-defined]
    print(f"fit {args.rows:,} requests: {fit_s:.1f} s (chose {arrivals}); pandas core statistics {peer_fit_s:.2f} s;"
          f" ratio {fit_s / peer_fit_s:.1f} ({'PASS' if fit_s < 60 else 'MISS'}: target < 60 s)")  # fmt: skip
    print(f"sample {rows['n']:,} requests: {sample_s:.2f} s; numpy Poisson + resampling {peer_sample_s:.2f} s; "
          f"ratio {sample_s / peer_sample_s:.1f} ({'PASS' if sample_s < 2 else 'MISS'}: target < 2 s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
