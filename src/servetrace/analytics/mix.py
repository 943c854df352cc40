"""Modality mix, sessions and prefix reuse, computed in DuckDB over the store."""

from __future__ import annotations

import numpy as np

from servetrace.analytics.cache import NEVER, block_reads, lru_hit_ratios, stack_distances
from servetrace.analytics.results import CachePoint, ModalityMix, PrefixReuse, Sessions
from servetrace.traces import Store
from servetrace.traces.formats.base import sql_str

STORM_WINDOW_S = 600.0
STORM_MIN_REQUESTS = 20
MAX_SERIES = 1000
MAX_READS = 10_000_000  # the LRU curve covers the first 10 M block reads (about 20 s of work)
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
    shares = {r["combo"]: float(r["share"]) for r in rows}
    per_window = store.query(
        f"SELECT floor(arrival_s / {STORM_WINDOW_S})::BIGINT AS w, count(*) AS n, "
        f"count(*) FILTER (WHERE image_count > 0) AS img FROM requests WHERE trace = {t} GROUP BY w ORDER BY w"
    )
    w = per_window.column("w").to_numpy()
    n, img = per_window.column("n").to_numpy(), per_window.column("img").to_numpy()
    overall = float(img.sum() / n.sum())
    storms = int(np.count_nonzero((n >= STORM_MIN_REQUESTS) & (img / n >= 2 * overall))) if overall > 0 else 0
    series_w, start, share = _series(w, n, img)
    return ModalityMix(
        shares, None if per_image is None else float(per_image), float((img / n).max()), STORM_WINDOW_S,
        image_share=overall, storm_windows=storms, series_window_s=series_w, series_start_s=start,
        series_image_share=share,
    )  # fmt: skip


def _series(w: np.ndarray, n: np.ndarray, img: np.ndarray) -> tuple[float, list[float], list[float | None]]:
    """Image share per window over time, windows merged so that there are at most MAX_SERIES of them."""
    span = int(w.max()) + 1
    merge = max(1, -(-span // MAX_SERIES))
    total = np.bincount(w // merge, weights=n, minlength=-(-span // merge))
    with_img = np.bincount(w // merge, weights=img, minlength=len(total))
    share = [float(i / t) if t else None for i, t in zip(with_img, total, strict=True)]
    window = STORM_WINDOW_S * merge
    return window, [k * window for k in range(len(share))], share


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
    """Hit ratios of an unbounded prefix cache and of LRU caches of 1, 2, 4, ... blocks, from `hash_ids`."""
    info = store.get(trace)
    table = store.read_columns(info.name, ["hash_ids"])
    if not table.num_columns or table.column("hash_ids").null_count == table.num_rows:
        return PrefixReuse(0, 0, None, reason="the trace has no hash_ids")
    reads = block_reads(table.column("hash_ids").combine_chunks())
    if not len(reads):
        return PrefixReuse(0, 0, None, reason="every hash_ids list is empty")
    used = reads[:MAX_READS]
    dist = stack_distances(used)
    # a first read has no stack distance; past MAX_READS the distinct blocks are counted over every read
    unique = int(np.count_nonzero(dist == NEVER)) if len(used) == len(reads) else int(np.unique(reads).size)
    hits = len(reads) - unique
    sizes = 2 ** np.arange(int(np.ceil(np.log2(max(unique, 2)))) + 1, dtype=np.int64)
    ratios = lru_hit_ratios(dist, sizes)
    curve = [
        CachePoint(int(c), int(c * info.block_size) if info.block_size else None, float(h))
        for c, h in zip(sizes, ratios, strict=True)
    ]
    return PrefixReuse(len(reads), unique, hits / len(reads), curve, len(used))
