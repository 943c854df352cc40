"""The issue's targets on the real Azure 2023 traces, and explicit fallbacks on traces too short to fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from servetrace.generator import fit_workload, generate, store_synthetic
from servetrace.generator.fidelity import fidelity
from servetrace.traces import Store, ingest
from tests.conftest import AZURE_2023, write


@pytest.fixture(scope="module")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("azure") / "store")
    for name in ("code", "conv"):
        ingest(store, AZURE_2023 / f"AzureLLMInferenceTrace_{name}.csv", name=name)
    return store


@pytest.mark.parametrize("trace", ["code", "conv"])
def test_azure_fit_meets_the_targets_and_beats_the_poisson_baseline(azure: Store, trace: str) -> None:
    model, selections = fit_workload(azure, trace)
    assert selections[0].by == "dispersion curve" and len(selections[0].candidates) >= 6
    store_synthetic(azure, generate(model, seed=7), f"{trace}-synth", {"seed": 7})
    f = fidelity(azure, f"{trace}-synth", trace, model.clients[0].arrivals)
    assert all(f.targets.values()), f.targets  # KS <= 0.03 for input and output, dispersion within 25%, 1-600 s
    ratios = [s / r for w, r, s in zip(f.dispersion.x, f.dispersion.real, f.dispersion.synthetic, strict=True)
              if 1 <= w <= 600 and r and s]  # fmt: skip
    baseline = [b / r for w, r, b in zip(f.dispersion.x, f.dispersion.real, f.dispersion.baseline, strict=True)
                if 1 <= w <= 600 and r and b]  # fmt: skip
    assert np.mean(np.abs(np.log(ratios))) < 0.5 * np.mean(np.abs(np.log(baseline)))
    gaps = next(d for d in f.distances if d.what == "interarrival_s")
    assert gaps.ks is not None and gaps.baseline_ks is not None
    assert f.correlation["synthetic"] == pytest.approx(f.correlation["real"], abs=0.03)


def test_same_seed_same_trace_other_seed_other_trace(azure: Store) -> None:
    model, _ = fit_workload(azure, "conv")
    a, b, c = generate(model, seed=3), generate(model, seed=3), generate(model, seed=4)
    assert a.equals(b) and not a.equals(c)


def test_rate_scale_and_duration_are_what_ifs(azure: Store) -> None:
    model, _ = fit_workload(azure, "conv")
    base = generate(model, 1800, seed=1).num_rows
    double = generate(model, 1800, seed=1, rate_scale=2).num_rows
    assert double / base == pytest.approx(2, rel=0.1)
    longer = generate(model, 3 * model.duration_s, seed=1)
    assert longer.column("arrival_s")[-1].as_py() > 2 * model.duration_s


def test_too_short_for_the_asked_model_falls_back_and_says_so(store: Store, tmp_path: Path) -> None:
    rows = "\n".join(f"2023-11-16 18:15:{i:02d}.0000000,{100 + i},{10 + i}" for i in range(30))
    ingest(store, write(tmp_path / "short.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n" + rows), name="short")
    model, selections = fit_workload(store, "short", arrivals="cox")
    assert selections[0].chosen == "poisson" and "fell back to poisson" in (selections[0].fallback or "")
    assert "cox" in selections[0].fallback and model.clients[0].arrivals.name == "poisson"
