"""Per-thread shards of per-target counters: the hot path's data, written without a lock.

Each thread that records gets its own :class:`Shard` (found by ``threading.get_ident()``), and
only that thread writes it, so increments are never lost between threads and no lock is taken
per call; readers merge the shards at collection time and may see a count one call stale.
"""

from __future__ import annotations

from collections.abc import Sequence

from toolware.context import Kind
from toolware.errors import ErrorCategory
from toolware.stats import TargetKey, TargetStats

__all__ = ["Key", "Series", "Shard", "merge"]

Key = tuple[Kind, str, str | None]


class Series:
    """The counters of one (kind, target, action) in one shard."""

    __slots__ = (
        "cache_hits",
        "calls",
        "chunks",
        "counts",
        "errors",
        "fallbacks",
        "first_chunk_max",
        "first_chunk_total",
        "hedges",
        "max",
        "min",
        "not_started",
        "retries",
        "streams",
        "total",
    )

    def __init__(self, buckets: int) -> None:
        self.calls = 0
        self.total = 0.0
        self.min = float("inf")
        self.max = 0.0
        self.counts = [0] * (buckets + 1)
        self.errors: dict[ErrorCategory, int] = {}
        self.not_started = 0
        self.streams = [0, 0, 0]  # completed, failed, abandoned
        self.chunks = 0
        self.first_chunk_total = 0.0
        self.first_chunk_max = 0.0
        self.retries = 0
        self.cache_hits = 0
        self.fallbacks = 0
        self.hedges = 0


class Shard:
    """One thread's series, and the calls it started per kind."""

    __slots__ = ("series", "started")

    def __init__(self) -> None:
        self.series: dict[Key, Series] = {}
        self.started: dict[Kind, int] = dict.fromkeys(Kind, 0)


def merge(key: Key, parts: Sequence[Series], bounds: tuple[float, ...]) -> TargetStats:
    """One target's statistics, summed over the shards that saw it."""
    errors: dict[ErrorCategory, int] = {}
    counts = [0] * (len(bounds) + 1)
    streams = [0, 0, 0]
    for part in parts:
        for category, count in part.errors.items():
            errors[category] = errors.get(category, 0) + count
        for index, count in enumerate(part.counts):
            counts[index] += count
        for index, count in enumerate(part.streams):
            streams[index] += count
    return TargetStats(
        key=TargetKey(*key),
        calls=sum(p.calls for p in parts),
        errors=dict(sorted(errors.items())),
        total_seconds=sum(p.total for p in parts),
        min_seconds=min(p.min for p in parts),
        max_seconds=max(p.max for p in parts),
        bucket_bounds=bounds,
        bucket_counts=tuple(counts),
        not_started=sum(p.not_started for p in parts),
        streams_completed=streams[0],
        streams_failed=streams[1],
        streams_abandoned=streams[2],
        chunks=sum(p.chunks for p in parts),
        first_chunk_total_seconds=sum(p.first_chunk_total for p in parts),
        first_chunk_max_seconds=max(p.first_chunk_max for p in parts),
        retries=sum(p.retries for p in parts),
        cache_hits=sum(p.cache_hits for p in parts),
        fallbacks=sum(p.fallbacks for p in parts),
        hedges=sum(p.hedges for p in parts),
    )
