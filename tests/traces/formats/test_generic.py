from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import zstandard

from servetrace.errors import SourceError, UnknownFormatError, UsageError
from servetrace.traces import ReadOptions, ingest
from tests.conftest import rejects, requests, write

MAP = {"arrival": "ts", "input_tokens": "prompt_len", "output_tokens": "completion_len"}


def test_generic_csv_epoch_ms_with_extra_columns(store, tmp_path: Path) -> None:
    text = 'ts,prompt_len,completion_len,user,note\n1700000000000,10,5,"a",x\n1700000000250,20,6,b,"has, comma"\n'
    opts = ReadOptions(mapping={**MAP, "client": "user"}, time_unit="ms")
    r = ingest(store, write(tmp_path / "g.csv", text), name="g", fmt="generic", options=opts)
    assert r.trace.clock == "absolute" and r.trace.timezone == "UTC"
    rows = requests(store, "g")
    assert [x["arrival_s"] for x in rows] == [0.0, 0.25]
    assert [x["client"] for x in rows] == ["a", "b"]
    assert str(r.trace.start_time) == "2023-11-14 22:13:20"


def test_generic_tsv_iso_time_and_rejects(store, tmp_path: Path) -> None:
    text = "ts\tprompt_len\tcompletion_len\n2024-01-01T00:00:00\t1\t2\n2024-01-01T00:00:02\t-4\t2\nyesterday\t1\t1\n"
    r = ingest(store, write(tmp_path / "g.tsv", text), name="g", fmt="generic", options=ReadOptions(mapping=MAP))
    assert r.trace.rows == 1
    got = {x["line"]: x["reason"] for x in rejects(store, "g")}
    assert got[3] == 'prompt_len: invalid value "-4" (expected a non-negative integer)'
    assert got[4].startswith('arrival: invalid timestamp "yesterday"')


def test_generic_jsonl_zstd_with_hash_ids_and_time_format(store, tmp_path: Path) -> None:
    lines = [
        {"t": "01/01/2024 10:00:00", "p": 3, "c": 4, "h": [1, 2], "s": "success"},
        {"t": "01/01/2024 10:00:05", "p": 3, "c": 0, "h": [1, 3], "s": "error"},
    ]
    f = tmp_path / "g.jsonl.zst"
    f.write_bytes(zstandard.ZstdCompressor().compress("\n".join(json.dumps(x) for x in lines).encode()))
    opts = ReadOptions(
        mapping={"arrival": "t", "input_tokens": "p", "output_tokens": "c", "hash_ids": "h", "status": "s"},
        time_format="%d/%m/%Y %H:%M:%S",
    )
    ingest(store, f, name="g", fmt="generic", options=opts)
    rows = requests(store, "g")
    assert [x["arrival_s"] for x in rows] == [0.0, 5.0]
    assert [x["hash_ids"] for x in rows] == [[1, 2], [1, 3]]
    assert [x["status"] for x in rows] == ["ok", "failed"]


def test_generic_parquet_with_datetime_column(store, tmp_path: Path) -> None:
    f = tmp_path / "g.parquet"
    pl.DataFrame(
        {
            "ts": pl.Series(["2024-03-01 00:00:01", "2024-03-01 00:00:00"]).str.to_datetime(),
            "p": [5, 6],
            "c": [1, 2],
        }
    ).write_parquet(f)
    opts = ReadOptions(mapping={"arrival": "ts", "input_tokens": "p", "output_tokens": "c"})
    r = ingest(store, f, name="g", fmt="generic", options=opts)
    assert r.trace.unsorted_rows == 1
    assert [(x["arrival_s"], x["input_tokens"]) for x in requests(store, "g")] == [(0.0, 6), (1.0, 5)]


def test_generic_needs_a_mapping_and_real_columns(store, tmp_path: Path) -> None:
    f = write(tmp_path / "g.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(UsageError, match="needs --map"):
        ingest(store, f, fmt="generic")
    with pytest.raises(SourceError, match="no column 'ts'"):
        ingest(store, f, fmt="generic", options=ReadOptions(mapping=MAP))
    with pytest.raises(UsageError, match="cannot map 'bogus'"):
        ingest(store, f, fmt="generic", options=ReadOptions(mapping={**MAP, "bogus": "a"}))


def test_unknown_format_lists_known_ones(store, tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError, match=r"unrecognised trace format .*known formats: .*azure-llm-2023"):
        ingest(store, write(tmp_path / "x.csv", "foo,bar\n1,2\n"))
    with pytest.raises(UnknownFormatError, match="unknown format 'nope'"):
        ingest(store, write(tmp_path / "x.csv", "foo,bar\n1,2\n"), fmt="nope")
