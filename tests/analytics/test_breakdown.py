from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from servetrace.analytics import characterize
from servetrace.analytics.breakdown import breakdown
from servetrace.traces import Store, ingest
from tests.conftest import write
from tests.traces.formats.test_azure import A23

HEAD = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type"


def test_groups_by_model_with_shares_and_quantiles(store: Store, tmp_path: Path) -> None:
    rows = [f"{i},{'GPT-4' if i % 4 == 0 else 'ChatGPT'},{i},{i % 5 + 1},0,API log" for i in range(400)]
    ingest(store, write(tmp_path / "b.csv", "\n".join([HEAD, *rows])), name="b")
    groups = breakdown(store, "b", "model")
    assert [(g.value, g.requests) for g in groups] == [("ChatGPT", 300), ("GPT-4", 100)]
    assert groups[0].share == pytest.approx(0.75) and groups[1].interarrival_cv == pytest.approx(0.0, abs=1e-9)
    assert groups[1].input_p50 == 196 and groups[1].input_p99 == 392  # multiples of 4, 'lower' quantiles


def test_a_trace_without_the_column_says_so(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "a.csv", A23), name="a")
    r = characterize(store, "a", by="client")
    assert r.groups == [] and "by client" in r.unavailable


def test_cli_by(tmp_path: Path) -> None:
    rows = [f"{i},{'GPT-4' if i % 2 else 'ChatGPT'},{i},1,0,API log" for i in range(100)]
    f = write(tmp_path / "b.csv", "\n".join([HEAD, *rows]))
    env = ["--store", str(tmp_path / "s")]
    subprocess.run([sys.executable, "-m", "servetrace.cli", "ingest", str(f), *env], check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-m", "servetrace.cli", "characterize", "b", "--by", "model", *env],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "GPT-4" in out and "50.0%" in out
    bad = subprocess.run([sys.executable, "-m", "servetrace.cli", "characterize", "b", "--by", "user", *env],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "--by must be" in bad.stderr
