"""Modality mix, sessions and prefix reuse, computed in DuckDB over the store."""

from __future__ import annotations

from servetrace.analytics.results import ModalityMix, PrefixReuse, Sessions
from servetrace.traces import Store
from servetrace.traces.formats.base import sql_str

STORM_WINDOW_S = 600.0
_COMBO = """CASE
    WHEN coalesce(video_count, 0) > 0 THEN 'video'
    WHEN coalesce(audio_count, 0) > 0 THEN 'audio'
    WHEN coalesce(image_count, 0) = 0 THEN 'text only'
    WHEN image_count = 1 THEN '1 image'
    WHEN image_count <= 4 THEN '2-4 images'
    ELSE '5+ images' END"""


def modality_mix(store: Store, trace: str) -> ModalityMix:
    t = sql_str(trace)
    known = store.query(
        f"SELECT count(image_count) + count(audio_count) + count(video_count) AS n FROM requests WHERE trace = {t}"
    ).to_pylist()[0]["n"]
    if not known:
        return ModalityMix({}, None, None, STORM_WINDOW_S, "the trace records no image, audio or video counts")
    rows = store.query(
        f"SELECT {_COMBO} AS combo, count(*) / sum(count(*)) OVER () AS share FROM requests WHERE trace = {t} "
        "GROUP BY combo ORDER BY share DESC"
    ).to_pylist()
    per_image = store.query(
        "SELECT quantile_disc(image_tokens / image_count, 0.5) AS m FROM requests "
        f"WHERE trace = {t} AND image_count > 0 AND image_tokens IS NOT NULL"
    ).to_pylist()[0]["m"]
    storm = store.query(
        f"SELECT max(share) AS s FROM (SELECT avg((coalesce(image_count, 0) > 0)::INT) AS share FROM requests "
        f"WHERE trace = {t} GROUP BY floor(arrival_s / {STORM_WINDOW_S}))"
    ).to_pylist()[0]["s"]
    shares = {r["combo"]: float(r["share"]) for r in rows}
    return ModalityMix(shares, None if per_image is None else float(per_image), storm, STORM_WINDOW_S)


def sessions(store: Store, trace: str) -> Sessions:
    t = sql_str(trace)
    row = store.query(
        f"""WITH s AS (SELECT session_id, arrival_s,
                arrival_s - lag(arrival_s) OVER (PARTITION BY session_id ORDER BY request_id) AS think_s
              FROM requests WHERE trace = {t} AND session_id IS NOT NULL),
            turns AS (SELECT count(*) AS n FROM s GROUP BY session_id)
            SELECT (SELECT count(*) FROM turns) AS sessions,
                   (SELECT quantile_disc(n, [0.5, 0.9, 0.99]) FROM turns) AS turns,
                   (SELECT quantile_disc(think_s, [0.5, 0.9, 0.99]) FROM s WHERE think_s IS NOT NULL) AS think"""
    ).to_pylist()[0]
    if not row["sessions"]:
        return Sessions(0, {}, {}, "the trace has no session ids")
    labels = ("p50", "p90", "p99")
    turns = dict(zip(labels, map(float, row["turns"]), strict=True))
    think = dict(zip(labels, map(float, row["think"]), strict=True)) if row["think"] else {}
    return Sessions(int(row["sessions"]), turns, think)


def prefix_reuse(store: Store, trace: str) -> PrefixReuse:
    """Hit ratio of an unbounded prefix cache: a block is a hit when an earlier request already had it."""
    t = sql_str(trace)
    row = store.query(
        f"""WITH b AS (SELECT request_id, unnest(hash_ids) AS block FROM requests
                       WHERE trace = {t} AND hash_ids IS NOT NULL),
             f AS (SELECT block, min(request_id) AS first FROM b GROUP BY block)
            SELECT count(*) AS blocks, (SELECT count(*) FROM f) AS unique_blocks,
                   count(*) FILTER (WHERE b.request_id > f.first) AS hits
            FROM b JOIN f USING (block)"""
    ).to_pylist()[0]
    if not row["blocks"]:
        return PrefixReuse(0, 0, None, "the trace has no hash_ids")
    return PrefixReuse(int(row["blocks"]), int(row["unique_blocks"]), row["hits"] / row["blocks"])
