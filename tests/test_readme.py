"""The README documents every column of the canonical and reject schemas, and every format."""

from __future__ import annotations

from servetrace.traces import known_formats
from servetrace.traces.schema import COLUMNS, REJECT_COLUMNS
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_every_column_is_documented_with_its_type() -> None:
    for c in (*COLUMNS, *REJECT_COLUMNS):
        assert f"| `{c.name}` | {c.duckdb} |" in README, c.name


def test_every_format_is_documented() -> None:
    for name in known_formats():
        assert f"| `{name}` |" in README, name
