from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from servetrace.analytics import characterize
from servetrace.traces import Store, ingest
from tests.conftest import AZURE_2023, write


@pytest.mark.skipif(not AZURE_2023.exists(), reason="shared traces not present")
@pytest.mark.parametrize(
    ("kind", "cv", "d60", "pearson"), [("code", 13.15, 164.0, 0.001), ("conv", 1.09, 16.1, -0.112)]
)
def test_published_azure_2023_figures(store: Store, kind: str, cv: float, d60: float, pearson: float) -> None:
    ingest(store, AZURE_2023 / f"AzureLLMInferenceTrace_{kind}.csv", name=kind)
    r = characterize(store, kind)
    assert r.interarrival.cv == pytest.approx(cv, abs=0.005)
    assert {p.window_s: p.index for p in r.dispersion}[60.0] == pytest.approx(d60, rel=0.01)
    assert r.correlation.pearson == pytest.approx(pearson, abs=0.0006)
    assert r.fits.best == "weibull"
    weibull = next(f for f in r.fits.fits if f.family == "weibull")
    assert weibull.params["shape"] == pytest.approx({"code": 0.42, "conv": 0.92}[kind], abs=0.005)
    inp = next(q for q in r.lengths if q.column == "input_tokens")
    assert inp.values["p50"] == {"code": 1469, "conv": 1020}[kind]


def test_one_request_trace_reports_what_is_missing(store: Store, tmp_path: Path) -> None:
    ingest(
        store, write(tmp_path / "a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-01-01 00:00:00,5,6"), name="one"
    )
    r = characterize(store, "one")
    doc = json.dumps(r.to_dict())
    assert "NaN" not in doc and r.unavailable["interarrival"] and r.unavailable["correlation"]
    assert "image_count" in r.unavailable


def test_cli_json_document(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n" + "\n".join(
        f"2023-01-01 00:{i // 60:02d}:{i % 60:02d},{i + 1},{(i * 7) % 13}" for i in range(600)))  # fmt: skip
    env = ["--store", str(tmp_path / "s")]
    subprocess.run([sys.executable, "-m", "servetrace.cli", "ingest", str(f), "--name", "a", *env], check=True)
    r = subprocess.run([sys.executable, "-m", "servetrace.cli", "characterize", "a", "--json", *env],
                       capture_output=True, text=True, check=True)  # fmt: skip
    doc = json.loads(r.stdout)
    assert doc["schema_version"] == 1 and doc["interarrival"]["cv"] == pytest.approx(0.0, abs=1e-9)
    assert {k: doc["dispersion"][3][k] for k in ("window_s", "index")} == {"window_s": 60.0, "index": 0.0}
    assert not any(isinstance(v, float) and math.isnan(v) for v in doc["interarrival"].values())
    assert "pearson" in doc["correlation"]
    text = subprocess.run([sys.executable, "-m", "servetrace.cli", "characterize", "a", *env],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "CV 0" in text and "index of dispersion" in text


def test_results_are_kept_in_the_store_and_dropped_with_the_trace(store: Store, tmp_path: Path) -> None:
    text = "TIMESTAMP,ContextTokens,GeneratedTokens\n" + "\n".join(
        f"2023-01-01 00:00:{i % 60:02d}.{i:03d},{i + 1},{i % 7}" for i in range(60)
    )
    f = write(tmp_path / "a.csv", text)
    ingest(store, f, name="a")
    r = characterize(store, "a")
    got = store.query(
        "SELECT kind, CAST(json_extract(result, '$.interarrival.cv') AS DOUBLE) AS cv FROM analyses WHERE trace = 'a'"
    ).to_pylist()
    assert got == [{"kind": "characterize", "cv": pytest.approx(r.interarrival.cv)}]
    ingest(store, f, name="a", replace=True)  # new data: the old result no longer describes it
    assert store.query("SELECT count(*) AS n FROM analyses").to_pylist() == [{"n": 0}]
    characterize(store, "a")
    store.remove("a")
    assert store.query("SELECT count(*) AS n FROM analyses").to_pylist() == [{"n": 0}]


@pytest.mark.skipif(not AZURE_2023.exists(), reason="shared traces not present")
def test_two_traces_side_by_side(tmp_path: Path) -> None:
    env = ["--store", str(tmp_path / "s")]
    for kind in ("code", "conv"):
        f = str(AZURE_2023 / f"AzureLLMInferenceTrace_{kind}.csv")
        subprocess.run([sys.executable, "-m", "servetrace.cli", "ingest", f, "--name", kind, *env], check=True)
    r = subprocess.run([sys.executable, "-m", "servetrace.cli", "characterize", "code", "conv", "--json", *env],
                       capture_output=True, text=True, check=True)  # fmt: skip
    rows = {row[0]: row[1:] for row in json.loads(r.stdout)["rows"]}
    assert rows["requests"] == [8819, 19366] and rows["best inter-arrival family"] == ["weibull", "weibull"]
    assert rows["inter-arrival CV"][0] == pytest.approx(13.15, abs=0.005)
    three = subprocess.run([sys.executable, "-m", "servetrace.cli", "characterize", "a", "b", "c", *env],
                           capture_output=True, text=True)  # fmt: skip
    assert three.returncode == 2 and "one trace, or two" in three.stderr
