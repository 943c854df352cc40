from __future__ import annotations

import json
from pathlib import Path

from servetrace.analytics import characterize
from servetrace.analytics.report import write_report
from servetrace.analytics.svg import line_chart
from servetrace.traces import Store, ingest
from tests.conftest import write
from tests.traces.formats.test_qwen import TEXT as QWEN


def test_report_html_and_json_are_written_together(store: Store, tmp_path: Path) -> None:
    lines = "\n".join(
        f"2023-01-01 00:{i // 60:02d}:{i % 60:02d}.{(i * 37) % 1000:03d},{i + 1},{i % 9}" for i in range(900)
    )
    ingest(store, write(tmp_path / "a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n" + lines), name="a")
    result = characterize(store, "a")
    html, doc = write_report(result, tmp_path / "out" / "a.html")
    text = html.read_text()
    assert text.startswith("<!doctype html>") and text.count("<svg") == 3 and "NaN" not in text
    assert "index of dispersion" in text and "weibull" in text.lower() and "Not computed" in text
    assert json.loads(doc.read_text())["trace"] == "a"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.html", "a.json"]  # no temporaries left


def test_sessions_and_reuse_appear_in_the_report(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "q.jsonl", QWEN), name="q")
    html, _ = write_report(characterize(store, "q"), tmp_path / "q.html")
    text = html.read_text()
    assert "3 sessions" in text and "hit ratio 0.500" in text


def test_chart_skips_what_cannot_be_drawn() -> None:
    svg = line_chart([("a", [0.0, 1.0, 10.0], [1.0, 0.0, 5.0])], "x", "y", log_x=True, log_y=True)
    assert svg.count("<circle") == 1  # only (10, 5) is positive on both axes
    assert "nothing to plot" in line_chart([("a", [], [])], "x", "y")
