from __future__ import annotations

from pathlib import Path

import pytest

from servetrace.errors import MalformedRowError
from servetrace.traces import ingest
from tests.conftest import AZURE_2023, rejects, requests, write

A23 = """TIMESTAMP,ContextTokens,GeneratedTokens
2023-11-16 18:17:03.9799600,4808,10
2023-11-16 18:17:04.0319600,3180,8
2023-11-16 18:17:05,110,27"""


def test_2023_detected_with_crlf_and_no_final_newline(store, tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", A23, "\r\n")
    r = ingest(store, f, name="a")
    assert r.trace.format == "azure-llm-2023"
    assert r.trace.timezone is None and r.trace.clock == "absolute"
    rows = requests(store, "a")
    assert [x["arrival_s"] for x in rows] == pytest.approx([0.0, 0.052, 1.02004])
    assert [x["input_tokens"] for x in rows] == [4808, 3180, 110]
    assert [x["output_tokens"] for x in rows] == [10, 8, 27]
    assert [x["request_id"] for x in rows] == [0, 1, 2]
    assert str(r.trace.start_time) == "2023-11-16 18:17:03.979960"


def test_2024_offsets_and_missing_fraction(store, tmp_path: Path) -> None:
    text = """TIMESTAMP,ContextTokens,GeneratedTokens
2024-05-10 00:00:00.009930+00:00,100,5
2024-05-10 00:00:01+00:00,200,6
2024-05-10 02:00:01.5+02:00,300,7"""
    r = ingest(store, write(tmp_path / "w.csv", text), name="w")
    assert r.trace.format == "azure-llm-2024" and r.trace.timezone == "UTC"
    assert [x["arrival_s"] for x in requests(store, "w")] == pytest.approx([0.0, 0.99007, 1.49007])


def test_2025_multimodal(store, tmp_path: Path) -> None:
    text = """TIMESTAMP,NumImages,ContextTokens,GeneratedTokens
2024-10-15T12:00:00.269Z,0,120,30
2024-10-15T12:00:00.500Z,3,2400,12
2024-10-15T12:00:01.000Z,2048,900000,1"""
    r = ingest(store, write(tmp_path / "m.csv", text), name="m")
    assert r.trace.format == "azure-lmm-2025"
    rows = requests(store, "m")
    assert [x["image_count"] for x in rows] == [0, 3, 2048]
    assert [x["arrival_s"] for x in rows] == pytest.approx([0.0, 0.231, 0.731])


BROKEN = """TIMESTAMP,ContextTokens,GeneratedTokens
2023-11-16 18:17:03.9799600,4808,10

2023-11-16 18:17:04.0,4
2023-11-16 18:17:05.1,6,7,8
2023-11-16 18:17:06.1,x,12
2023-11-16 18:17:07.1,-5,12
not-a-time,1,1
2023-11-16 18:17:08.1,NaN,1
2023-11-16 18:17:09.0,3,3"""


def test_broken_rows_are_kept_as_rejects_with_lines(store, tmp_path: Path) -> None:
    r = ingest(store, write(tmp_path / "b.csv", BROKEN), name="b")
    assert r.trace.rows == 2 and r.trace.rejects == 6
    got = rejects(store, "b")
    assert [x["line"] for x in got] == [4, 5, 6, 7, 8, 9]
    reasons = {x["line"]: x["reason"] for x in got}
    assert reasons[4] == "expected 3 fields, found 2"
    assert reasons[5] == "expected 3 fields, found 4"
    assert reasons[6].startswith('ContextTokens: invalid value "x"')
    assert '"-5"' in reasons[7] and "non-negative integer" in reasons[7]
    assert reasons[8].startswith('TIMESTAMP: invalid value "not-a-time"')


def test_strict_stops_with_the_first_bad_line_and_stores_nothing(store, tmp_path: Path) -> None:
    with pytest.raises(MalformedRowError, match=r"b\.csv:4: expected 3 fields, found 2"):
        ingest(store, write(tmp_path / "b.csv", BROKEN), name="b", strict=True)
    assert store.list() == []


@pytest.mark.skipif(not AZURE_2023.exists(), reason="shared traces not present")
@pytest.mark.parametrize(("kind", "rows", "med_in", "med_out"), [("code", 8819, 1469, 13), ("conv", 19366, 1020, 129)])
def test_real_azure_2023(store, kind: str, rows: int, med_in: int, med_out: int) -> None:
    r = ingest(store, AZURE_2023 / f"AzureLLMInferenceTrace_{kind}.csv", name=f"azure-{kind}")
    assert r.trace.rejects == 0 and r.trace.unsorted_rows == 0
    got = store.query(
        "SELECT count(*) AS n, quantile_disc(input_tokens, 0.5) AS i, quantile_disc(output_tokens, 0.5) AS o "
        f"FROM requests WHERE trace = 'azure-{kind}'"
    ).to_pylist()[0]
    assert got == {"n": rows, "i": med_in, "o": med_out}
