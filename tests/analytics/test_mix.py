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


def test_lru_curve_from_mooncake_blocks(store: Store, tmp_path: Path) -> None:
    # reads: 0 1 2 | 0 3 | 1 2 0 | 2 2 (a block repeated within a request is read once)
    rows = [(0, [0, 1, 2]), (1000, [0, 3]), (2000, [1, 2, 0]), (3000, [2, 2])]
    text = "\n".join(
        f'{{"timestamp": {t}, "input_length": 10, "output_length": 1, "hash_ids": {ids}}}' for t, ids in rows
    )
    ingest(store, write(tmp_path / "mooncake_trace.jsonl", text), name="mc")
    p = prefix_reuse(store, "mc")
    assert (p.blocks, p.unique_blocks, p.hit_ratio) == (9, 4, pytest.approx(5 / 9))
    curve = {c.capacity_blocks: (c.capacity_tokens, c.hit_ratio) for c in p.lru}
    # stack distances of the re-reads: 0 -> 2 (1, 2 between), 1 -> 3, 2 -> 3, 0 -> 3, last 2 -> 1 (0 between)
    assert curve[1] == (512, 0.0)
    assert curve[2] == (1024, pytest.approx(1 / 9))
    assert curve[4] == (2048, pytest.approx(5 / 9))  # every block fits: the unbounded ratio
    assert p.capacity_for(0.9) is not None and p.capacity_for(0.9).capacity_blocks == 4


def test_image_share_over_time_and_storms(store: Store, tmp_path: Path) -> None:
    # 40 text-only requests in the first 10 minutes, then 40 requests of which 30 carry an image
    lines = ["TIMESTAMP,NumImages,ContextTokens,GeneratedTokens"]
    lines += [f"2024-10-15T12:00:{i:02d}.000Z,0,100,10" for i in range(40)]
    lines += [f"2024-10-15T12:10:{i:02d}.000Z,{int(i < 30)},100,10" for i in range(40)]
    ingest(store, write(tmp_path / "storm.csv", "\n".join(lines)), name="s")
    m = modality_mix(store, "s")
    assert m.image_share == pytest.approx(30 / 80) and m.storm_windows == 1
    assert m.series_window_s == 600 and m.series_image_share == pytest.approx([0.0, 0.75])
