"""Files broken at the byte level: each is a clear one-line error or rows in `rejects`, never a crash."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from servetrace.errors import ServetraceError, SourceError
from servetrace.traces import ReadOptions, Store, ingest
from tests.conftest import rejects
from tests.traces.formats.test_azure import A23
from tests.traces.formats.test_burstgpt import V10
from tests.traces.formats.test_mooncake import GOOD


def test_binary_junk_is_one_clear_error(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "junk.csv"
    f.write_bytes(b"TIMESTAMP,ContextTokens,GeneratedTokens\r\n" + bytes(range(256)) * 20)
    with pytest.raises(SourceError, match=r"junk\.csv: ingest as azure-llm-2023 failed: ") as exc:
        ingest(store, f, name="j")
    assert "\n" not in str(exc.value)
    assert store.list() == []


@pytest.mark.parametrize(("name", "text"), [("a.csv.gz", A23), ("m.jsonl.gz", GOOD)])
def test_truncated_gzip(store: Store, tmp_path: Path, name: str, text: str) -> None:
    f = tmp_path / name
    f.write_bytes(gzip.compress(text.encode() * 200)[:200])
    with pytest.raises(ServetraceError, match=name.replace(".", r"\.")):
        ingest(store, f, name="t")
    assert store.list() == []


def test_invalid_utf8_rejects_its_row_only(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_bytes((A23 + "\n2023-11-16 18:17:06,\xff\xfe,3\n2023-11-16 18:17:07,5,5").encode("latin-1"))
    r = ingest(store, f, name="a")
    assert r.trace.rows == 4 and [x["line"] for x in rejects(store, "a")] == [5]
    g = tmp_path / "b.csv"
    g.write_bytes(V10.replace("GPT-4", "GPT-\xff").encode("latin-1"))
    r = ingest(store, g, name="b")
    assert r.trace.rows == 2 and rejects(store, "b") == [{"line": 3, "reason": "invalid UTF-8 bytes"}]
    h = tmp_path / "c.csv"  # the exact path (taken for the negative time) rejects it the same way
    h.write_bytes((V10.replace("GPT-4", "GPT-\xff") + "\n-1,ChatGPT,1,1,2,API log").encode("latin-1"))
    ingest(store, h, name="c")
    assert [x["reason"] for x in rejects(store, "c")] == [
        "invalid UTF-8 bytes",
        'Timestamp: invalid value "-1" (expected a non-negative number)',
    ]


def test_one_reject_per_line(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text(A23 + "\n2023-11-16 18\n")
    ingest(store, f, name="a")
    assert rejects(store, "a") == [{"line": 5, "reason": "expected 3 fields, found 1"}]


def test_ragged_generic_csv_rows_are_rejects(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "g.csv"
    f.write_text("ts,p,c\n1,2,3\n2,3,4,5,6\n3,1\n4,4,4\n")
    opts = ReadOptions(mapping={"arrival": "ts", "input_tokens": "p", "output_tokens": "c"})
    r = ingest(store, f, name="g", fmt="generic", options=opts)
    assert r.trace.rows == 2
    assert rejects(store, "g") == [
        {"line": 3, "reason": "expected 3 fields, found 5"},
        {"line": 4, "reason": "expected 3 fields, found 2"},
    ]


def test_empty_fields_are_missing_values(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9,1,2\n,3,4\n2023-11-16 18:17:04.0,,5\n")
    r = ingest(store, f, name="a")
    assert r.trace.rows == 1
    assert rejects(store, "a") == [
        {"line": 3, "reason": "TIMESTAMP: missing"},
        {"line": 4, "reason": "ContextTokens: missing"},
    ]
