from __future__ import annotations

from pathlib import Path

from servetrace.traces import ingest
from tests.conftest import requests, write

TEXT = """{"chat_id": 10, "parent_chat_id": -1, "timestamp": 1.5, "input_length": 100, "output_length": 20, "type": "text", "turn": 1, "hash_ids": [1, 2]}
{"chat_id": 11, "parent_chat_id": -1, "timestamp": 0.5, "input_length": 50, "output_length": 5, "type": "image", "turn": 1, "hash_ids": [7]}
{"chat_id": 12, "parent_chat_id": 10, "timestamp": 9.0, "input_length": 140, "output_length": 30, "type": "text", "turn": 2, "hash_ids": [1, 2, 3]}
{"chat_id": 13, "parent_chat_id": 12, "timestamp": 20.0, "input_length": 190, "output_length": 9, "type": "search", "turn": 3, "hash_ids": [1, 2, 3, 4]}
{"chat_id": 14, "parent_chat_id": 99, "timestamp": 21.0, "input_length": 5, "output_length": 9, "type": "file", "turn": 4, "hash_ids": []}"""


def test_qwen_sessions_parents_and_sorting(store, tmp_path: Path) -> None:
    r = ingest(store, write(tmp_path / "qwen.jsonl", TEXT), name="q")
    assert r.trace.format == "qwen" and r.trace.block_size == 16
    assert r.trace.unsorted_rows == 1
    rows = requests(store, "q")
    # Sorted by arrival: chat 11 first, then 10, 12, 13, 14.
    assert [x["arrival_s"] for x in rows] == [0.0, 1.0, 8.5, 19.5, 20.5]
    assert [x["category"] for x in rows] == ["image", "text", "text", "search", "file"]
    assert [x["parent_id"] for x in rows] == [None, None, 1, 2, None]
    assert [x["session_id"] for x in rows] == ["11", "10", "10", "10", "14"]
    assert [x["turn"] for x in rows] == [1, 1, 2, 3, 4]
    assert rows[3]["hash_ids"] == [1, 2, 3, 4]


def test_qwen_ids_beyond_float_precision_and_fractional_ids(store, tmp_path: Path) -> None:
    big = 2**53 + 1
    lines = [
        f'{{"chat_id": {big}, "parent_chat_id": -1, "timestamp": 0, "input_length": 1, "output_length": 1, "type": "text", "turn": 1}}',
        f'{{"chat_id": {big + 2}, "parent_chat_id": {big}, "timestamp": 1, "input_length": 1, "output_length": 1, "type": "text", "turn": 2}}',
    ]
    ingest(store, write(tmp_path / "q.jsonl", "\n".join(lines)), name="q")
    rows = requests(store, "q")
    assert [x["session_id"] for x in rows] == [str(big), str(big)] and rows[1]["parent_id"] == 0
    bad = lines[0].replace(f'"chat_id": {big}', '"chat_id": 5.5')
    r = ingest(store, write(tmp_path / "b.jsonl", "\n".join([bad, lines[1]])), name="b")
    assert r.trace.rows == 1 and r.first_rejects[0].line == 1 and r.first_rejects[0].reason.startswith("chat_id")
