from __future__ import annotations

import os
from pathlib import Path

import pytest

from servetrace.traces import Store

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SERVETRACE_SHARED", REPO.parent / "shared"))
AZURE_2023 = SHARED / "traces" / "azure-llm-2023"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def write(path: Path, text: str, newline: str = "\n") -> Path:
    """Write lines joined by `newline` (no final newline added beyond the text's own)."""
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def requests(store: Store, trace: str) -> list[dict[str, object]]:
    return store.query(f"SELECT * FROM requests WHERE trace = '{trace}' ORDER BY request_id").to_pylist()


def rejects(store: Store, trace: str) -> list[dict[str, object]]:
    return store.query(f"SELECT line, reason FROM rejects WHERE trace = '{trace}' ORDER BY line").to_pylist()
