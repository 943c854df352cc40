"""Property-based tests: generated files of each format ingest to exactly the values written."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servetrace.traces import Store, ingest

TOKENS = st.integers(min_value=0, max_value=2_000_000)
GAPS_US = st.lists(st.integers(min_value=0, max_value=5_000_000), min_size=1, max_size=40)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ingest(name: str, text: str) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / name
        f.write_text(text)
        store = Store(Path(d) / "store")
        r = ingest(store, f, name="p")
        assert r.trace.rejects == 0
        return store.query("SELECT * FROM requests ORDER BY request_id").to_pylist()


def _offsets(gaps_us: list[int]) -> list[int]:
    out, t = [], 0
    for g in gaps_us:
        t += g
        out.append(t)
    return [x - out[0] for x in out]


@SETTINGS
@given(gaps=GAPS_US, data=st.data())
def test_azure_2023(gaps: list[int], data: st.DataObject) -> None:
    t0 = datetime(2023, 11, 16, 18, 0, 0)
    offs = _offsets(gaps)
    toks = [(data.draw(TOKENS), data.draw(TOKENS)) for _ in offs]
    lines = [
        f"{t0 + timedelta(microseconds=o):%Y-%m-%d %H:%M:%S.%f}0,{i},{o2}"
        for o, (i, o2) in zip(offs, toks, strict=True)
    ]
    rows = _ingest("a.csv", "\r\n".join(["TIMESTAMP,ContextTokens,GeneratedTokens", *lines]))
    assert len(rows) == len(offs)
    assert all(abs(r["arrival_s"] * 1e6 - o) < 1e-3 for r, o in zip(rows, offs, strict=True))
    assert [(r["input_tokens"], r["output_tokens"]) for r in rows] == toks


@SETTINGS
@given(gaps=GAPS_US, data=st.data(), images=st.lists(st.integers(0, 5000), min_size=40, max_size=40))
def test_azure_lmm_2025(gaps: list[int], data: st.DataObject, images: list[int]) -> None:
    t0 = datetime(2024, 10, 15, 12)
    offs = [o - o % 1000 for o in _offsets(gaps)]  # millisecond timestamps
    lines = [
        f"{(t0 + timedelta(microseconds=o)).isoformat(timespec='milliseconds')}Z,{images[k]},{k},{k + 1}"
        for k, o in enumerate(offs)
    ]
    rows = _ingest("m.csv", "\n".join(["TIMESTAMP,NumImages,ContextTokens,GeneratedTokens", *lines]))
    assert [round(r["arrival_s"] * 1e6) for r in rows] == [o - offs[0] for o in offs]
    assert [r["image_count"] for r in rows] == images[: len(offs)]


@SETTINGS
@given(gaps=GAPS_US, data=st.data())
def test_burstgpt(gaps: list[int], data: st.DataObject) -> None:
    offs = _offsets(gaps)
    outs = [data.draw(TOKENS) for _ in offs]
    lines = [
        f"{7200 + o / 1e6:.6f},s{k % 3},{k / 10},GPT-4,{k},{out},{k + out},API log"
        for k, (o, out) in enumerate(zip(offs, outs, strict=True))
    ]
    head = "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type"
    rows = _ingest("b.csv", "\n".join([head, *lines]))
    assert [round(r["arrival_s"] * 1e6) for r in rows] == offs
    assert [r["status"] for r in rows] == ["failed" if x == 0 else "ok" for x in outs]
    assert [r["session_id"] for r in rows] == [f"s{k % 3}" for k in range(len(offs))]


@SETTINGS
@given(
    reqs=st.lists(
        st.tuples(st.integers(0, 10**6), TOKENS, TOKENS, st.lists(st.integers(0, 2**40), max_size=6)),
        min_size=1,
        max_size=30,
    )
)
def test_mooncake(reqs: list[tuple[int, int, int, list[int]]]) -> None:
    reqs = sorted(reqs, key=lambda r: r[0])
    text = "\n".join(
        json.dumps({"timestamp": t, "input_length": i, "output_length": o, "hash_ids": h}) for t, i, o, h in reqs
    )
    rows = _ingest("m.jsonl", text)
    assert [round(r["arrival_s"] * 1000) for r in rows] == [t - reqs[0][0] for t, *_ in reqs]
    assert [(r["input_tokens"], r["output_tokens"], r["hash_ids"]) for r in rows] == [(i, o, h) for _, i, o, h in reqs]


@SETTINGS
@given(n=st.integers(1, 30), data=st.data())
def test_qwen_parent_links_point_at_the_parent_row(n: int, data: st.DataObject) -> None:
    times = sorted(data.draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n)))
    parents = [-1] + [data.draw(st.sampled_from([-1, *range(100, 100 + k)])) for k in range(1, n)]
    objs = [
        {"chat_id": 100 + k, "parent_chat_id": parents[k], "timestamp": times[k] / 1000, "input_length": k,
         "output_length": 1, "type": "text", "turn": 1, "hash_ids": [k]}
        for k in range(n)
    ]  # fmt: skip
    rows = _ingest("q.jsonl", "\n".join(json.dumps(o) for o in objs))
    by_chat = {100 + r["input_tokens"]: r for r in rows}
    for k, p in enumerate(parents):
        row = by_chat[100 + k]
        if p < 0:
            assert row["parent_id"] is None and row["session_id"] == str(100 + k)
        else:
            assert rows[row["parent_id"]]["input_tokens"] == p - 100
            assert row["session_id"] == by_chat[p]["session_id"]
