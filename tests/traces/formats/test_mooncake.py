from __future__ import annotations

from pathlib import Path

from servetrace.traces import ingest
from tests.conftest import rejects, requests, write

GOOD = """{"timestamp": 0, "input_length": 6955, "output_length": 52, "hash_ids": [0, 1, 2, 3]}
{"timestamp": 0, "input_length": 700, "output_length": 3, "hash_ids": [0, 46]}
{"timestamp": 3000, "input_length": 10, "output_length": 1, "hash_ids": []}"""


def test_mooncake_fields_and_coarse_timestamps(store, tmp_path: Path) -> None:
    r = ingest(store, write(tmp_path / "mooncake_trace.jsonl", GOOD), name="m")
    assert r.trace.format == "mooncake" and r.trace.block_size == 512 and r.trace.clock == "relative"
    assert r.trace.duplicate_timestamps == 1
    rows = requests(store, "m")
    assert [x["arrival_s"] for x in rows] == [0.0, 0.0, 3.0]
    assert [x["hash_ids"] for x in rows] == [[0, 1, 2, 3], [0, 46], []]
    assert r.trace.start_time is None


def test_broken_mooncake_lines(store, tmp_path: Path) -> None:
    text = (
        GOOD
        + """
{"timestamp": 10, "input_length": -1, "output_length": 1, "hash_ids": [1]}
{"timestamp": 11, "input_length": 5, "output_length": 1, "hash_ids": [1, "x"]}
{"timestamp": 12, "input_length": 5, "outp
not json at all
{"timestamp": 13, "input_length": 5, "output_length": 2, "hash_ids": [9]}"""
    )
    r = ingest(store, write(tmp_path / "m.jsonl", text), name="m", fmt="mooncake")
    assert r.trace.rows == 4
    got = {x["line"]: x["reason"] for x in rejects(store, "m")}
    assert got == {
        4: 'input_length: invalid value "-1" (expected a non-negative integer)',
        5: "hash_ids: list has a non-integer item",
        6: "not a JSON object line",
        7: "not a JSON object line",
    }
