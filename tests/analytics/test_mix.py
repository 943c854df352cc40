from __future__ import annotations

from pathlib import Path

import pytest

from servetrace.analytics.mix import modality_mix, prefix_reuse, sessions
from servetrace.traces import Store, ingest
from tests.conftest import write
from tests.traces.formats.test_azure import A23
from tests.traces.formats.test_qwen import TEXT as QWEN

LMM = """TIMESTAMP,NumImages,ContextTokens,GeneratedTokens
2024-10-15T12:00:00.269Z,0,120,30
2024-10-15T12:00:00.500Z,3,2400,12
2024-10-15T12:00:01.000Z,2048,900000,1"""


def test_sessions_and_prefix_reuse_from_qwen(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "q.jsonl", QWEN), name="q")
    s = sessions(store, "q")
    assert s.sessions == 3 and s.turns == {"p50": 1.0, "p90": 3.0, "p99": 3.0}
    assert s.think_time_s["p50"] == pytest.approx(7.5) and s.think_time_s["p99"] == pytest.approx(11.0)
    p = prefix_reuse(store, "q")
    assert (p.blocks, p.unique_blocks, p.hit_ratio) == (10, 5, 0.5)


def test_modality_mix_and_image_storms(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "m.csv", LMM), name="m")
    m = modality_mix(store, "m")
    assert m.shares == pytest.approx({"text only": 1 / 3, "2-4 images": 1 / 3, "5+ images": 1 / 3})
    assert m.max_window_image_share == pytest.approx(2 / 3) and m.image_tokens_per_image_p50 is None


def test_text_only_trace_says_what_it_lacks(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path / "a.csv", A23), name="a")
    assert modality_mix(store, "a").reason and sessions(store, "a").reason and prefix_reuse(store, "a").reason
