from __future__ import annotations

import ast
import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from servetrace.errors import ModelFileError
from servetrace.generator.arrivals.windowed import Windowed
from servetrace.generator.generate import generate
from servetrace.generator.model import load_model, save_model
from servetrace.generator.servegen import Pmf, import_servegen
from tests.conftest import SHARED

SERVEGEN = SHARED / "traces" / "servegen"
LARGE = SERVEGEN / "language" / "m-large"
IMAGE = SERVEGEN / "multimodal" / "mm-image"
REASON = SERVEGEN / "reason" / "deepseek-r1"
needs_data = pytest.mark.skipif(not SERVEGEN.is_dir(), reason="shared ServeGen data not present")


def csv_rows(path: Path) -> list[list[str]]:
    with path.open() as f:
        return list(csv.reader(f))


def pooled(folder: Path, client: str, field: str) -> dict[float, float]:
    """The reference pmf: each 6 h window's pmf weighted by the client's requests there (rate x 600 s)."""
    rows = csv_rows(folder / f"chunk-{client}-trace.csv")
    out: dict[float, float] = {}
    for key, fields in json.loads((folder / f"chunk-{client}-dataset.json").read_text()).items():
        pmfs = {k: ast.literal_eval(v) for k, v in fields.items()}
        if not all(pmfs.values()):
            continue
        weight = sum(float(r[1]) * 600 for r in rows if int(key) <= int(r[0]) < int(key) + 21600)
        for value, p in pmfs[field].items():
            out[value] = out.get(value, 0.0) + p * weight
    total = sum(out.values())
    return {v: p / total for v, p in out.items()}


def mean(pmf: dict[float, float], positive: bool = False) -> float:
    items = {v: p for v, p in pmf.items() if v > 0 or not positive}
    return sum(v * p for v, p in items.items()) / sum(items.values())


def column(table: pa.Table, name: str, client: str) -> np.ndarray:
    rows = table.column("client").to_numpy(zero_copy_only=False) == client
    values: np.ndarray = np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)[rows]
    return values


def test_pmf_table_takes_lower_quantiles() -> None:
    pmf = Pmf.of(np.array([3.0, 1.0, 2.0, 2.0]), np.array([0.25, 0.25, 0.25, 0.25]))
    assert pmf is not None
    q = pmf.table().quantiles
    assert len(q) == 1001
    assert (q[0], q[250], q[251], q[750], q[751], q[1000]) == (1, 1, 2, 2, 3, 3)


@needs_data
def test_language_client_arrivals_and_round_trip(tmp_path: Path) -> None:
    model = import_servegen(LARGE, clients=["0"])
    (client,) = model.clients
    assert client.name == "client-0" and model.source["clients"] == ["client-0"] and model.source["skipped"] == []
    assert "relative" in model.source["rate_note"]
    arrivals = client.arrivals
    assert isinstance(arrivals, Windowed)
    rows = csv_rows(LARGE / "chunk-0-trace.csv")
    assert arrivals.window_s == 600 and len(arrivals.rates_rps) == len(rows) == 2016
    assert model.duration_s == 2016 * 600
    for i in (0, 1, 3):
        rate, pattern, shape = float(rows[i][1]), rows[i][3], float(rows[i][4])
        assert arrivals.rates_rps[i] == rate
        assert arrivals.families[i] == (pattern.lower() or "poisson")
        assert arrivals.shapes[i] == (shape if pattern else 1.0)
    assert arrivals.families[:4] == ["weibull", "poisson", "weibull", "gamma"]
    attrs = client.attributes
    assert attrs.columns == ["input_tokens", "output_tokens"] and list(attrs.strata) == ["text"]
    text = attrs.strata["text"]
    assert text.share == 1 and text.input_edges == [] and len(text.output_tokens) == 1
    path = save_model(model, tmp_path / "servegen.json")
    assert load_model(path).to_dict() == model.to_dict()


@needs_data
def test_language_generation_matches_the_pmfs() -> None:
    table = generate(import_servegen(LARGE, clients=["0"]), duration_s=3600, seed=1)
    assert table.num_rows > 500
    for field in ("input_tokens", "output_tokens"):
        assert column(table, field, "client-0").mean() == pytest.approx(mean(pooled(LARGE, "0", field)), rel=0.1)


@needs_data
def test_reasoning_client() -> None:
    model = import_servegen(REASON, clients=["client-35"])
    attrs = model.clients[0].attributes
    assert attrs.columns == ["input_tokens", "output_tokens", "reasoning_tokens"]
    share = attrs.strata["text"].reasoning_share_of_output
    assert share is not None and not share.integer and 0 <= share.quantiles[0] <= share.quantiles[-1] <= 1
    table = generate(model, duration_s=3600, seed=1)
    out, reasoning = column(table, "output_tokens", "client-35"), column(table, "reasoning_tokens", "client-35")
    assert (reasoning <= out).all()
    assert column(table, "input_tokens", "client-35").mean() == pytest.approx(
        mean(pooled(REASON, "35", "input_tokens")), rel=0.1
    )
    assert out.mean() == pytest.approx(mean(pooled(REASON, "35", "output_tokens")), rel=0.1)
    ratio = mean(pooled(REASON, "35", "reason_ratio"))
    assert reasoning.mean() == pytest.approx(out.mean() * ratio, rel=0.1)  # independent in an import


@needs_data
def test_multimodal_clients(tmp_path: Path) -> None:
    model = import_servegen(IMAGE, clients=["22", "10"])
    assert [c.name for c in model.clients] == ["client-10", "client-22"]  # by rate
    mixed = model.clients[1].attributes
    assert mixed.columns == ["input_tokens", "output_tokens", "image_count", "image_tokens"]
    count = pooled(IMAGE, "22", "image_count")
    assert mixed.strata["image"].share == pytest.approx(1 - count.get(0, 0.0))
    assert load_model(save_model(model, tmp_path / "mm.json")).to_dict() == model.to_dict()
    table = generate(model, duration_s=86400, seed=1)
    for client in ("10", "22"):
        name = f"client-{client}"
        images, image_tokens = column(table, "image_count", name), column(table, "image_tokens", name)
        count = pooled(IMAGE, client, "image_count")
        per_image = mean(pooled(IMAGE, client, "image_tokens"), positive=True)  # per image: never above 1280
        assert (images > 0).mean() == pytest.approx(1 - count.get(0, 0.0), abs=0.02)
        assert ((images > 0) == (image_tokens > 0)).all()
        assert image_tokens.mean() == pytest.approx(mean(count) * per_image, rel=0.1)
        expected_input = mean(pooled(IMAGE, client, "text_tokens")) + mean(count) * per_image
        assert column(table, "input_tokens", name).mean() == pytest.approx(expected_input, rel=0.1)
        expected_output = mean(pooled(IMAGE, client, "output_tokens"))
        assert column(table, "output_tokens", name).mean() == pytest.approx(expected_output, rel=0.1)


@needs_data
def test_top_clients_by_rate_and_skipped_ones() -> None:
    model = import_servegen(LARGE, top=3)
    arrivals = [c.arrivals for c in model.clients]
    assert all(isinstance(a, Windowed) for a in arrivals)
    totals = {c.name: sum(c.arrivals.rates_rps) for c in model.clients if isinstance(c.arrivals, Windowed)}
    assert len(model.clients) == 3 and list(totals.values()) == sorted(totals.values(), reverse=True)
    third = min(totals.values())
    bigger = {f"client-{p.name.split('-')[1]}" for p in LARGE.glob("chunk-*-trace.csv")
              if sum(float(r[1]) for r in csv_rows(p)) > third} - set(totals)  # fmt: skip
    skipped = model.source["skipped"]
    assert bigger and {s["client"] for s in skipped} == bigger
    for s in skipped:
        assert f"chunk-{s['client'].removeprefix('client-')}-dataset.json" in s["reason"]
    lacking = skipped[0]["client"].removeprefix("client-")
    assert not (LARGE / f"chunk-{lacking}-dataset.json").exists()
    with pytest.raises(ModelFileError, match=f"chunk-{lacking}-dataset.json: missing"):
        import_servegen(LARGE, clients=[lacking])
    with pytest.raises(ModelFileError, match=f"chunk-{lacking}-dataset.json: missing"):
        import_servegen(LARGE / f"chunk-{lacking}-trace.csv")


DATASET = {"0": {"input_tokens": "{10: 0.5, 30: 0.5}", "output_tokens": "{5: 1.0}"},
           "21600": {"input_tokens": "{}", "output_tokens": "{}"}}  # fmt: skip


def folder(tmp_path: Path, trace: str, dataset: object = DATASET) -> Path:
    (tmp_path / "chunk-1-trace.csv").write_text(trace)
    (tmp_path / "chunk-1-dataset.json").write_text(json.dumps(dataset))
    (tmp_path / "chunk-2-trace.csv").write_text("0,1.0,1.0,,0,0\n")  # no dataset: skipped
    return tmp_path


def test_missing_windows_have_rate_zero(tmp_path: Path) -> None:
    trace = "1200,0.5,1.2,Gamma,0.7,2.8\n1800,nan,0,,0,0\n3000,0.25,2.0,Weibull,0.5,2.0\n"
    model = import_servegen(folder(tmp_path, trace))
    arrivals = model.clients[0].arrivals
    assert isinstance(arrivals, Windowed)
    assert arrivals.rates_rps == [0, 0, 0.5, 0, 0, 0.25]
    assert arrivals.families == ["poisson", "poisson", "gamma", "poisson", "poisson", "weibull"]
    assert arrivals.shapes == [1, 1, 0.7, 1, 1, 0.5]
    assert model.duration_s == 3600
    skipped = {"client": "client-2", "reason": "no chunk-2-dataset.json: arrivals without lengths"}
    assert model.source["skipped"] == [skipped]
    q = model.clients[0].attributes.strata["text"].input_tokens.quantiles
    assert (q[0], q[500], q[501]) == (10, 10, 30)


@pytest.mark.parametrize(
    ("trace", "message"),
    [
        ("0,1,1,Gamma,1,1\n600,1,1,Gamma,1\n", r"chunk-1-trace\.csv: row 2: expected 6 fields"),
        ("0,1,1,Gamma,1,1\n600,1,1,Gamma,1,1\n1200,abc,1,Gamma,1,1\n", r"chunk-1-trace\.csv: row 3: not a number"),
        ("0,1,1,Pareto,1,1\n", r"chunk-1-trace\.csv: row 1: unknown pattern 'Pareto'"),
        ("0,1,1,Gamma,0,1\n", r"chunk-1-trace\.csv: row 1: a Gamma window needs a shape > 0"),
        ("0,-1,1,Gamma,1,1\n", r"chunk-1-trace\.csv: row 1: rate must be"),
        ("0,1,1,Gamma,1,1\n0,1,1,Gamma,1,1\n", r"chunk-1-trace\.csv: row 2: window 0 s appears twice"),
        ("0,1,1,Gamma,1,1\n600,1,1,Gamma,1,1\n1000,1,1,Gamma,1,1\n", r"row 2: window start 600 s is not a multiple of 400 s"),
    ],
)  # fmt: skip
def test_malformed_trace_names_file_and_row(tmp_path: Path, trace: str, message: str) -> None:
    with pytest.raises(ModelFileError, match=message):
        import_servegen(folder(tmp_path, trace))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{10: 0.5, 30: }", r"chunk-1-dataset\.json: key '0': input_tokens: not a Python dict literal"),
        ("{10: __import__('os').getcwd()}", r"key '0': input_tokens: not a Python dict literal"),
        ("[10, 0.5]", r"key '0': input_tokens: must be a dict of value: probability numbers"),
        ("{10: -0.5}", r"key '0': input_tokens: values and probabilities must be finite and >= 0"),
    ],
)
def test_malformed_dataset_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    dataset = {"0": {"input_tokens": text, "output_tokens": "{5: 1.0}"}}
    with pytest.raises(ModelFileError, match=message):
        import_servegen(folder(tmp_path, "0,1,1,,0,0\n", dataset))


def test_literals_beyond_plain_numbers_still_parse(tmp_path: Path) -> None:
    dataset = {"0": {"input_tokens": "{10: 0.5, 30: 0.25, 0x28: 1/4,}", "output_tokens": "{ 5 : 1.0 }"}}
    with pytest.raises(ModelFileError, match="not a Python dict literal"):  # 1/4 is an expression
        import_servegen(folder(tmp_path, "0,1,1,,0,0\n", dataset))
    dataset["0"]["input_tokens"] = "{10: 0.5, 30: 0.25, 0x28: 0.25,}"
    inputs = import_servegen(folder(tmp_path, "0,1,1,,0,0\n", dataset)).clients[0].attributes.strata["text"]
    assert inputs.input_tokens.quantiles[-1] == 40


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"no chunk-<client>-trace\.csv files"):
        import_servegen(tmp_path)
    with pytest.raises(ModelFileError, match="no such file or folder"):
        import_servegen(tmp_path / "nope")
    with pytest.raises(ModelFileError, match=r"chunk-9-trace\.csv: missing"):
        import_servegen(folder(tmp_path, "0,1,1,,0,0\n"), clients=["9"])
