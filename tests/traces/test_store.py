from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from servetrace.errors import InvalidNameError, QueryError, TraceExistsError, TraceNotFoundError
from servetrace.traces import Store, ingest
from servetrace.traces.ingest import default_name
from tests.conftest import requests, write
from tests.traces.formats.test_azure import A23

B = A23.replace("4808", "1")


def test_same_name_is_refused_unless_replace(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "a.csv", A23), name="t")
    with pytest.raises(TraceExistsError, match="--replace"):
        ingest(store, write(tmp_path / "b.csv", B), name="t")
    assert requests(store, "t")[0]["input_tokens"] == 4808
    r = ingest(store, tmp_path / "b.csv", name="t", replace=True)
    assert r.replaced and requests(store, "t")[0]["input_tokens"] == 1
    assert len(list((store.root / "traces" / "t").iterdir())) == 1  # the old version is gone


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x" * 101, "a b", "..", "a..b"])
def test_names_cannot_escape_the_store(store: Store, tmp_path: Path, bad: str) -> None:
    with pytest.raises(InvalidNameError):
        ingest(store, write(tmp_path / "a.csv", A23), name=bad)
    assert not (store.root / "traces").exists()


def test_default_name_is_the_sanitised_stem() -> None:
    assert default_name("/x/AzureLLMInferenceTrace_code.csv") == "AzureLLMInferenceTrace_code"
    assert default_name("my trace (1).jsonl.gz") == "my-trace--1"


def test_failure_during_commit_leaves_the_store_as_before(store: Store, tmp_path: Path, monkeypatch) -> None:
    ingest(store, write(tmp_path / "a.csv", A23), name="t")
    before = store.query("SELECT * FROM requests").to_pylist()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "_refresh_view", boom)
    with pytest.raises(KeyboardInterrupt):
        ingest(store, write(tmp_path / "b.csv", B), name="t", replace=True)
    monkeypatch.undo()
    assert store.query("SELECT * FROM requests").to_pylist() == before
    assert len(list((store.root / "traces" / "t").iterdir())) == 1
    assert list(store.staging_root.iterdir()) == []


def test_killed_ingest_leaves_store_unchanged_and_is_swept(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "a.csv", A23), name="t")
    big = tmp_path / "big.csv"
    with open(big, "w") as f:
        f.write("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n")
        for i in range(400_000):
            f.write(f"{i},ChatGPT,{i % 900},{i % 50},1,API log\n")
    code = f"from servetrace.traces import Store, ingest; ingest(Store({str(store.root)!r}), {str(big)!r}, name='t', replace=True)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(store.staging_root.glob("*/*")):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert [x["input_tokens"] for x in requests(store, "t")] == [4808, 3180, 110]
    with store.staging():  # the next writer sweeps the dead process's work folder
        pass
    assert list(store.staging_root.iterdir()) == []


def test_sql_is_read_only(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "a.csv", A23), name="t")
    for statement in (
        "DROP TABLE traces",
        "COPY (SELECT 1) TO 'x.csv'",
        "CREATE TABLE x (a INT)",
        "SET threads = 1",
    ):
        with pytest.raises(QueryError, match="read-only"):
            store.query(statement)
    with pytest.raises(QueryError, match="SQL error"):
        store.query("SELECT nope FROM requests")
    assert store.query("DESCRIBE requests").num_rows == 22


def test_plain_duckdb_can_open_the_store(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "a.csv", A23), name="t")
    con = duckdb.connect(str(store.catalog_path), read_only=True)
    assert con.execute("SELECT count(*), max(request_id) FROM requests").fetchone() == (3, 2)
    con.close()
    info = store.get("t")
    assert duckdb.sql(f"SELECT count(*) FROM '{store.data_file(info)}'").fetchall() == [(3,)]


def test_remove_and_missing(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "a.csv", A23), name="t")
    store.remove("t")
    assert store.list() == [] and store.query("SELECT count(*) AS n FROM requests").to_pylist() == [{"n": 0}]
    with pytest.raises(TraceNotFoundError):
        store.remove("t")


def test_header_only_file_is_an_empty_trace(store: Store, tmp_path: Path) -> None:
    r = ingest(store, write(tmp_path / "a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"), name="e")
    assert r.trace.rows == 0 and r.trace.start_time is None and r.trace.span_s is None


def test_unsorted_input_is_sorted_stably_and_reported(store: Store, tmp_path: Path) -> None:
    text = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-01-01 00:00:02,1,1\n2023-01-01 00:00:01,2,1\n2023-01-01 00:00:02,3,1\n2023-01-01 00:00:00.5,4,1"
    r = ingest(store, write(tmp_path / "u.csv", text), name="u")
    assert r.trace.unsorted_rows == 2 and r.trace.duplicate_timestamps == 1
    rows = requests(store, "u")
    assert [(x["arrival_s"], x["input_tokens"]) for x in rows] == [(0.0, 4), (0.5, 2), (1.5, 1), (1.5, 3)]
    assert str(r.trace.start_time) == "2023-01-01 00:00:00.500000"


def test_failed_write_is_a_clear_error_and_loses_nothing(store: Store, tmp_path: Path) -> None:
    """A write that fails for lack of room (here a file-size limit: EFBIG, as ENOSPC would) mid-ingest."""
    ingest(store, write(tmp_path / "a.csv", A23), name="t")
    big = tmp_path / "big.csv"
    with open(big, "w") as f:
        f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
        f.writelines(
            f"2023-11-16 18:{i // 600000 % 60:02d}:{i // 10000 % 60:02d}.{i % 10000:04d},{i},{i % 97}\n"
            for i in range(300_000)
        )
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024)); "
        "from servetrace.cli import main; "
        f"sys.argv = ['servetrace', 'ingest', {str(big)!r}, '--name', 't', '--replace', '--store', {str(store.root)!r}]; "
        "main()"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "big.csv: ingest as azure-llm-2023 failed:" in lines[0], r.stderr
    assert [x["input_tokens"] for x in requests(store, "t")] == [4808, 3180, 110]
    assert list(store.staging_root.iterdir()) == []
