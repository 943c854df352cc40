from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from servetrace.errors import ModelFileError, UsageError
from servetrace.generator import load_model, save_model
from servetrace.generator.arrivals.poisson import Poisson
from servetrace.generator.attributes import Attributes, Stratum
from servetrace.generator.model import Client, WorkloadModel
from servetrace.generator.tables import QuantileTable


def small_model() -> WorkloadModel:
    table = QuantileTable([10.0, 100.0, 1000.0])
    strata = {
        "text": Stratum(0.8, table, [], [QuantileTable([1.0, 50.0])]),
        "image": Stratum(0.2, table, [], [QuantileTable([1.0, 50.0])], QuantileTable([1.0, 3.0]),
                         QuantileTable([500.0, 800.0], integer=False)),
    }  # fmt: skip
    attrs = Attributes(strata, ["input_tokens", "output_tokens", "image_count", "image_tokens"])
    return WorkloadModel([Client("all", Poisson(2.0), attrs)], 600.0)


def test_round_trip_and_sets(tmp_path: Path) -> None:
    path = save_model(small_model(), tmp_path / "m.json")
    assert load_model(path).to_dict() == small_model().to_dict()
    edited = load_model(path, ["clients.0.arrivals.rate_rps=5", "image_share=0.5"])
    assert edited.clients[0].arrivals.mean_rate() == 5
    assert edited.clients[0].attributes.strata["image"].share == 0.5
    assert edited.clients[0].attributes.strata["text"].share == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(servetrace_model=9), r"servetrace_model: unknown model file version 9"),
        (lambda d: d["clients"][0].pop("attributes"), r"clients\[0\]\.attributes: missing"),
        (lambda d: d["clients"][0]["arrivals"].update(rate_rps=-1), r"clients\[0\]\.arrivals\.rate_rps: must be > 0"),
        (lambda d: d["clients"][0].update(arrivals={"model": "gamma", "shape": 0, "scale_s": 1}),
         r"clients\[0\]\.arrivals\.shape: must be > 0, got 0"),
        (lambda d: d["clients"][0]["arrivals"].update(model="nope"), r"unknown arrival model 'nope'"),
        (lambda d: d["clients"][0]["attributes"]["strata"]["text"]["input_tokens"].update(quantiles=[5, 1]),
         r"strata\.text\.input_tokens\.quantiles: must not decrease"),
    ],
)  # fmt: skip
def test_bad_fields_are_named(tmp_path: Path, edit: object, message: str) -> None:
    d = small_model().to_dict()
    edit(d)  # type: ignore[operator]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_bad_sets_and_files(tmp_path: Path) -> None:
    path = save_model(small_model(), tmp_path / "m.json")
    for bad in ("nokey", "clients.0.nothing=1", "image_share=2", "audio_share=0.1"):
        with pytest.raises(UsageError):
            load_model(path, [bad])
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ModelFileError, match="not JSON"):
        load_model(tmp_path / "broken.json")


def test_attributes_sample_media_strata() -> None:
    cols = small_model().clients[0].attributes.sample(20_000, np.random.default_rng(0))
    has_image = cols["image_count"] > 0
    assert has_image.mean() == pytest.approx(0.2, abs=0.02)
    assert (cols["image_tokens"][has_image] >= 500).all() and (cols["image_tokens"][~has_image] == 0).all()
