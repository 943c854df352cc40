"""Multi-turn sessions: how many turns, the think time between them, and the context that grows turn by turn.

The arrival model of a client with sessions draws session starts; each start brings its follow-up turns at
think-time gaps. A follow-up's input is the previous turn's input and output plus a new message, when the
trace's inputs grow that way (`context_grows`); otherwise inputs are drawn like any request's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pyarrow as pa

from servetrace.generator.params import field
from servetrace.generator.tables import QuantileTable


@dataclass(frozen=True)
class SessionModel:
    turns: QuantileTable  # turns per session
    think_time_s: QuantileTable  # gap from one turn's arrival to the next's
    context_grows: bool
    new_message_tokens: QuantileTable | None  # tokens a follow-up adds beyond the previous input and output

    @classmethod
    def fit(cls, table: pa.Table) -> Self | None:
        """From `session_id` and `arrival_s` (rows in arrival order); None when the trace has no sessions."""
        if "session_id" not in table.column_names or table.column("session_id").null_count == table.num_rows:
            return None
        sid = table.column("session_id").to_numpy(zero_copy_only=False)
        has = np.array([s is not None for s in sid])
        codes = np.unique(sid[has].astype(str), return_inverse=True)[1]
        order = np.lexsort((np.flatnonzero(has), codes))  # by session, then arrival
        rows = np.flatnonzero(has)[order]
        same = codes[order][1:] == codes[order][:-1]
        turns = np.bincount(codes)
        t = table.column("arrival_s").to_numpy()[rows]
        inp = table.column("input_tokens").to_numpy(zero_copy_only=False)[rows].astype(float)
        out = table.column("output_tokens").to_numpy(zero_copy_only=False)[rows].astype(float)
        think = np.diff(t)[same]
        added = (inp[1:] - inp[:-1] - out[:-1])[same]
        grows = bool(len(added) and np.median(inp[1:][same] - inp[:-1][same]) > 0)
        return cls(
            QuantileTable.fit(turns, 201, tail=True),
            QuantileTable.fit(think if len(think) else np.zeros(1), 201, integer=False),
            grows,
            QuantileTable.fit(np.maximum(added, 0), 201) if grows else None,
        )

    def expand(self, starts: np.ndarray, duration_s: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Every turn of sessions starting at `starts`, sorted by arrival: arrival_s, session (start index),
        turn (1-based) and previous (row of the previous turn, -1 for first turns), turns past the end dropped."""
        turns = np.maximum(self.turns.sample(len(starts), rng), 1).astype(np.int64)
        session = np.repeat(np.arange(len(starts)), turns)
        first = np.repeat(np.cumsum(turns) - turns, turns)
        turn = np.arange(len(session)) - first + 1
        gaps = self.think_time_s.sample(len(session), rng)
        gaps[turn == 1] = 0.0
        offset = np.cumsum(gaps)
        arrival = starts[session] + offset - offset[first]
        keep = arrival < duration_s
        order = np.argsort(arrival[keep], kind="stable")
        old_rows = np.flatnonzero(keep)[order]
        new_row = np.full(len(session), -1)
        new_row[old_rows] = np.arange(len(old_rows))
        previous = np.where(turn > 1, new_row[np.arange(len(session)) - 1], -1)[old_rows]
        return {"arrival_s": arrival[old_rows], "session": session[old_rows], "turn": turn[old_rows],
                "previous": previous}  # fmt: skip

    def grow_context(
        self, turn: np.ndarray, previous: np.ndarray, inp: np.ndarray, out: np.ndarray, rng: np.random.Generator
    ) -> None:
        """Follow-up inputs = previous input + previous output + a new message (in place), turn by turn."""
        if not self.context_grows or self.new_message_tokens is None or not len(turn):
            return
        added = self.new_message_tokens.sample(len(inp), rng)
        for k in range(2, int(turn.max()) + 1):  # one vectorised step per turn number
            rows = np.flatnonzero(turn == k)
            p = previous[rows]
            inp[rows] = inp[p] + out[p] + added[rows]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "turns": self.turns.to_dict(),
            "think_time_s": self.think_time_s.to_dict(),
            "context_grows": self.context_grows,
        }
        if self.new_message_tokens is not None:
            d["new_message_tokens"] = self.new_message_tokens.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str) -> Self:
        grows = field(d, "context_grows", where)
        new = d.get("new_message_tokens")
        return cls(
            QuantileTable.from_dict(field(d, "turns", where), f"{where}.turns"),
            QuantileTable.from_dict(field(d, "think_time_s", where), f"{where}.think_time_s"),
            bool(grows),
            QuantileTable.from_dict(new, f"{where}.new_message_tokens") if new else None,
        )
