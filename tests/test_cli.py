from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write
from tests.traces.formats.test_azure import A23, BROKEN


def run(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SERVETRACE_STORE": str(store)}
    return subprocess.run([sys.executable, "-m", "servetrace.cli", *args], capture_output=True, text=True, env=env)


def test_ingest_traces_sql_roundtrip(tmp_path: Path) -> None:
    store = tmp_path / "s"
    f = write(tmp_path / "a.csv", A23, "\r\n")
    r = run(store, "ingest", str(f), "--name", "a")
    assert r.returncode == 0, r.stderr
    assert "stored a (azure-llm-2023): 3 requests" in r.stdout
    r = run(store, "traces")
    assert "a" in r.stdout and "azure-llm-2023" in r.stdout and "2023-11-16 18:17:03" in r.stdout
    r = run(store, "sql", "--format", "json", "SELECT count(*) AS n, sum(input_tokens) AS s FROM requests")
    assert json.loads(r.stdout) == [{"n": 3, "s": 8098}]
    r = run(store, "sql", "-f", "csv", "SELECT request_id, output_tokens FROM requests ORDER BY 1")
    assert r.stdout == "request_id,output_tokens\n0,10\n1,8\n2,27\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ingest", "missing.csv"], 1, "missing.csv: no such file"),
        (["sql", "DELETE FROM traces"], 1, "read-only"),
        (["ingest", "{bad}", "--strict"], 1, "b.csv:4: expected 3 fields, found 2"),
        (["ingest", "{bad}", "--name", "../up"], 2, "invalid trace name"),
        (["ingest", "{bad}", "--format", "nope"], 2, "unknown format 'nope'; known formats:"),
        (
            ["ingest", "{bad}", "--format", "generic", "--map", "arrival"],
            2,
            "--map: expected CANONICAL=SOURCE",
        ),
        (["rm", "ghost"], 1, "no trace named 'ghost'"),
    ],
)
def test_errors_are_one_line_with_exit_codes(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    bad = write(tmp_path / "b.csv", BROKEN)
    store = tmp_path / "s"
    run(store, "ingest", str(write(tmp_path / "ok.csv", A23)), "--name", "ok")
    r = run(store, *[a.replace("{bad}", str(bad)) for a in args])
    assert r.returncode == code
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], r.stderr
    assert run(store, "sql", "-f", "csv", "SELECT name FROM traces").stdout == "name\nok\n"


def test_rejects_are_reported_and_queryable(tmp_path: Path) -> None:
    store = tmp_path / "s"
    r = run(store, "ingest", str(write(tmp_path / "b.csv", BROKEN)), "--name", "b")
    assert r.returncode == 0 and "2 requests" in r.stdout and "6 rejected" in r.stdout
    assert "b.csv:4: expected 3 fields, found 2" in r.stderr
    r = run(store, "sql", "-f", "csv", "SELECT line FROM rejects ORDER BY line")
    assert r.stdout.split() == ["line", "4", "5", "6", "7", "8", "9"]


@pytest.mark.parametrize("command", ["ingest", "traces", "sql", "export", "rm", "formats"])
def test_help(tmp_path: Path, command: str) -> None:
    r = run(tmp_path, command, "--help")
    assert r.returncode == 0 and "Usage" in r.stdout


def test_formats_lists_every_reader(tmp_path: Path) -> None:
    out = run(tmp_path, "formats").stdout
    for name in (
        "azure-llm-2023",
        "azure-llm-2024",
        "azure-lmm-2025",
        "burstgpt",
        "mooncake",
        "qwen",
        "generic",
        "servetrace",
    ):
        assert name in out
