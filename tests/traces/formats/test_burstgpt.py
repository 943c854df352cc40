from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from servetrace.traces import ingest
from tests.conftest import rejects, requests, write

V10 = """Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
5,ChatGPT,472,18,490,Conversation log
45,GPT-4,1087,0,1087,API log
118,ChatGPT,417,276,693,Conversation log"""

V12 = """Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type
19440110.0,1200,3.2,ChatGPT,100,20,120,Conversation log
19440110.5,1200,1.0,GPT-4,300,0,300,API log
19440112.25,1201,0.5,ChatGPT,50,10,60,Conversation log"""


def test_v10_fields_failures_and_time_of_day(store, tmp_path: Path) -> None:
    r = ingest(store, write(tmp_path / "burst.csv", V10), name="b")
    assert r.trace.format == "burstgpt" and r.trace.clock == "time_of_day"
    assert str(r.trace.start_time) == "1970-01-01 00:00:05"
    rows = requests(store, "b")
    assert [x["arrival_s"] for x in rows] == [0.0, 40.0, 113.0]
    assert [x["model"] for x in rows] == ["ChatGPT", "GPT-4", "ChatGPT"]
    assert [x["status"] for x in rows] == ["ok", "failed", "ok"]
    assert [x["category"] for x in rows] == ["conversation", "api", "conversation"]
    assert rows[0]["input_tokens"] == 472 and rows[0]["session_id"] is None


def test_v12_sessions_and_elapsed_time_gzipped(store, tmp_path: Path) -> None:
    f = tmp_path / "burst.csv.gz"
    f.write_bytes(gzip.compress(V12.encode()))
    r = ingest(store, f, name="b")
    assert r.trace.format == "burstgpt"
    rows = requests(store, "b")
    assert [x["arrival_s"] for x in rows] == pytest.approx([0.0, 0.5, 2.25])
    assert [x["session_id"] for x in rows] == ["1200", "1200", "1201"]
    assert [x["e2e_s"] for x in rows] == [3.2, 1.0, 0.5]
    assert str(r.trace.start_time).startswith("1970-08-14")  # day 226 of the placeholder calendar


def test_broken_burstgpt_rows(store, tmp_path: Path) -> None:
    text = (
        V10
        + "\n-3,ChatGPT,1,1,2,API log\nNaN,ChatGPT,1,1,2,API log\n7,ChatGPT,1.5,1,2,API log\n8,ChatGPT,1,1\n\n9,ChatGPT,4,4,8,API log"
    )
    r = ingest(store, write(tmp_path / "burst.csv", text), name="b")
    assert r.trace.rows == 4
    got = {x["line"]: x["reason"] for x in rejects(store, "b")}
    assert got[5] == 'Timestamp: invalid value "-3" (expected a non-negative number)'
    assert got[6].startswith('Timestamp: invalid value "NaN"')
    assert got[7].startswith('Request tokens: invalid value "1.5"')
    assert got[8] == "expected 6 fields, found 4"
    assert set(got) == {5, 6, 7, 8}


def test_fractional_counts_are_rejected_not_rounded(store, tmp_path: Path) -> None:
    r = ingest(store, write(tmp_path / "b.csv", V10 + "\n130,ChatGPT,1.5,3,4,API log"), name="b")
    assert r.trace.rows == 3
    assert rejects(store, "b") == [
        {"line": 5, "reason": 'Request tokens: invalid value "1.5" (expected a non-negative integer)'}
    ]
