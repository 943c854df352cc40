"""The fast (DuckDB) and exact (polars) paths of a reader store the same rows for the same clean file."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servetrace.traces import Store, ingest
from servetrace.traces.formats import get_reader

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TIMES = st.lists(st.integers(0, 10**9), min_size=1, max_size=25).map(sorted)


def _both(fmt: str, name: str, text: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    cls = get_reader(fmt)
    original = cls.stage
    out = []
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / name
        f.write_text(text)
        for exact in (False, True):

            def stage(self, source, con, work, exact_=exact, **_):  # type: ignore[no-untyped-def]
                return original(self, source, con, work, exact=exact_)

            with mock.patch.object(cls, "stage", stage):
                store = Store(Path(d) / f"s{exact}")
                ingest(store, f, name="t")
                out.append(store.query("SELECT * FROM requests ORDER BY request_id").to_pylist())
    return out[0], out[1]


@SETTINGS
@given(times=TIMES, data=st.data())
def test_burstgpt_paths_agree(times: list[int], data: st.DataObject) -> None:
    head = "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type"
    rows = [
        f"{t / 1000:.3f},{k % 4}, {data.draw(st.integers(0, 99999)) / 100},GPT-4,{k},{data.draw(st.integers(0, 3))},0,"
        f"{data.draw(st.sampled_from(['API log', 'Conversation log']))}"
        for k, t in enumerate(times)
    ]
    fast, exact = _both("burstgpt", "b.csv", "\n".join([head, *rows]))
    assert fast == exact and len(fast) == len(times)


@SETTINGS
@given(times=TIMES, data=st.data())
def test_mooncake_paths_agree(times: list[int], data: st.DataObject) -> None:
    lines = [
        json.dumps({"timestamp": t, "input_length": data.draw(st.integers(0, 10**6)), "output_length": 3,
                    "hash_ids": data.draw(st.lists(st.integers(0, 10**9), max_size=5))})
        for t in times
    ]  # fmt: skip
    fast, exact = _both("mooncake", "m.jsonl", "\n".join(lines))
    assert fast == exact and len(fast) == len(times)


@SETTINGS
@given(times=TIMES, data=st.data())
def test_qwen_paths_agree(times: list[int], data: st.DataObject) -> None:
    lines = [
        json.dumps({"chat_id": k, "parent_chat_id": data.draw(st.sampled_from([-1, *range(k)])), "timestamp": t / 1e6,
                    "input_length": k, "output_length": 1, "type": "image", "turn": 1, "hash_ids": [k]})
        for k, t in enumerate(times)
    ]  # fmt: skip
    fast, exact = _both("qwen", "q.jsonl", "\n".join(lines))
    assert fast == exact and len(fast) == len(times)
