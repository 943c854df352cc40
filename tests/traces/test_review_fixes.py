"""Defects found in review: each case here was once accepted silently, crashed, or escaped the rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from servetrace.errors import InvalidNameError, QueryError, StoreError
from servetrace.traces import ReadOptions, Store, ingest
from tests.conftest import rejects, requests, write
from tests.traces.formats.test_azure import A23
from tests.traces.formats.test_burstgpt import V10


def test_fractional_and_huge_counts_are_rejects_not_rounded(store: Store, tmp_path: Path) -> None:
    text = A23 + "\n2023-11-16 18:17:06,12.5,1\n2023-11-16 18:17:07,1e3,2\n2023-11-16 18:17:08,9223372036854775808,3"
    r = ingest(store, write(tmp_path / "a.csv", text), name="a")
    assert r.trace.rows == 4 and requests(store, "a")[3]["input_tokens"] == 1000
    got = {x["line"]: x["reason"] for x in rejects(store, "a")}
    assert got == {
        5: 'ContextTokens: invalid value "12.5" (expected a non-negative integer)',
        7: 'ContextTokens: invalid value "9223372036854775808" (expected a non-negative integer)',
    }


def test_time_too_large_is_a_reject(store: Store, tmp_path: Path) -> None:
    r = ingest(store, write(tmp_path / "b.csv", V10 + "\n99999999999999,ChatGPT,1,1,2,API log"), name="b")
    got = rejects(store, "b")
    assert r.trace.rows == 3 and [x["line"] for x in got] == [5] and got[0]["reason"].startswith("Timestamp: ")


def test_explain_analyze_cannot_write(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "a.csv", A23), name="a")
    target = tmp_path / "written.csv"
    with pytest.raises(QueryError, match="EXPLAIN ANALYZE statements are refused"):
        store.query(f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{target}'")
    assert not target.exists()
    assert store.query("EXPLAIN SELECT * FROM requests").num_rows >= 1


def test_glob_characters_in_a_path_read_only_that_file(store: Store, tmp_path: Path) -> None:
    write(tmp_path / "q1.csv", A23)
    f = write(tmp_path / "q?.csv", A23.replace("4808", "7"))
    r = ingest(store, f, name="q")
    assert r.trace.rows == 3 and requests(store, "q")[0]["input_tokens"] == 7
    assert r.trace.source_file == str(f)


def test_a_missing_data_file_is_a_clear_error_and_can_be_removed(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "a.csv", A23), name="a")
    ingest(store, write(tmp_path / "b.csv", A23), name="b")
    store.data_file(store.get("a")).unlink()
    with pytest.raises(StoreError, match=r"missing or unreadable.*servetrace rm"):
        store.query("SELECT count(*) FROM requests")
    store.remove("a")
    assert store.query("SELECT count(*) AS n FROM requests").to_pylist() == [{"n": 3}]


def test_names_differing_only_in_case_are_refused(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "a.csv", A23), name="azure")
    with pytest.raises(InvalidNameError, match="only in case"):
        ingest(store, tmp_path / "a.csv", name="Azure")


def test_generic_hash_id_text_must_be_a_list_of_integers(store: Store, tmp_path: Path) -> None:
    f = write(tmp_path / "g.csv", 'ts,p,c,h\n0,1,1,"[1, 2]"\n1,1,1,abc\n2,1,1,1.5\n3,1,1,\n')
    opts = ReadOptions(mapping={"arrival": "ts", "input_tokens": "p", "output_tokens": "c", "hash_ids": "h"})
    ingest(store, f, name="g", fmt="generic", options=opts)
    assert [x["hash_ids"] for x in requests(store, "g")] == [[1, 2], None]
    assert [x["line"] for x in rejects(store, "g")] == [3, 4]


def test_markup_in_user_text_is_printed_literally(tmp_path: Path) -> None:
    f = write(tmp_path / "b.csv", V10 + "\n9,ChatGPT,[/x],1,2,API log")
    r = subprocess.run(
        [sys.executable, "-m", "servetrace.cli", "ingest", str(f), "--store", str(tmp_path / "s")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert 'Request tokens: invalid value "[/x]"' in r.stderr
