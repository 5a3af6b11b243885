"""Tests for toolware.metrics._series: every counter merges exactly across thread shards."""

from __future__ import annotations

import threading

from tests.mutmut_support import THREADS_UNDER_MUTMUT
from toolware import Kind
from toolware.errors import ErrorCategory
from toolware.metrics import CallMetrics
from toolware.streams import StreamOutcome


@THREADS_UNDER_MUTMUT
def test_every_counter_is_merged_across_shards() -> None:
    """Two threads' shards of one target add up field by field; extremes are kept."""
    metrics = CallMetrics(buckets=(0.5, 1.0))

    def other_thread() -> None:
        metrics.record(Kind.TOOL, "t", None, 0.5, ErrorCategory.TIMEOUT, not_started=True)
        metrics.record_stream(
            Kind.TOOL,
            "t",
            None,
            1.0,
            StreamOutcome.COMPLETED,
            None,
            first_chunk_seconds=0.25,
            chunks=2,
        )
        metrics.record_resilience(
            Kind.TOOL, "t", None, retries=1, cache_hit=True, fallback=True, hedges=1
        )

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    metrics.record(Kind.TOOL, "t", None, 2.0, ErrorCategory.TIMEOUT)
    metrics.record(Kind.TOOL, "t", None, 0.25, ErrorCategory.INTERNAL)
    metrics.record_stream(
        Kind.TOOL,
        "t",
        None,
        1.0,
        StreamOutcome.FAILED,
        ErrorCategory.TOOL_FAILED,
        first_chunk_seconds=0.75,
        chunks=3,
    )
    metrics.record_stream(
        Kind.TOOL,
        "t",
        None,
        0.5,
        StreamOutcome.ABANDONED,
        None,
        first_chunk_seconds=0.125,
        chunks=0,
    )
    metrics.record_resilience(Kind.TOOL, "t", None, retries=2, hedges=2)
    [t] = metrics.snapshot().stats.targets
    assert (t.key.kind, t.key.target, t.key.action) == (Kind.TOOL, "t", None)
    assert (t.calls, t.total_seconds, t.min_seconds, t.max_seconds) == (6, 5.25, 0.25, 2.0)
    assert list(t.errors.items()) == [
        (ErrorCategory.INTERNAL, 1),
        (ErrorCategory.TIMEOUT, 2),
        (ErrorCategory.TOOL_FAILED, 1),
    ]
    assert (t.bucket_bounds, t.bucket_counts, t.not_started) == ((0.5, 1.0), (3, 2, 1), 1)
    assert (t.streams_completed, t.streams_failed, t.streams_abandoned, t.chunks) == (1, 1, 1, 5)
    assert (t.first_chunk_total_seconds, t.first_chunk_max_seconds) == (1.125, 0.75)
    assert (t.retries, t.cache_hits, t.fallbacks, t.hedges) == (3, 1, 1, 3)


def test_a_target_with_no_call_yet_has_empty_counters() -> None:
    """Resilience counted before any call: no calls, no time, min unknown (infinite)."""
    metrics = CallMetrics(buckets=(1.0,))
    metrics.record_resilience(Kind.RAG, "r", "q")
    [t] = metrics.snapshot().stats.targets
    assert (t.key.kind, t.key.target, t.key.action) == (Kind.RAG, "r", "q")
    assert (t.calls, t.total_seconds, t.min_seconds, t.max_seconds) == (0, 0.0, float("inf"), 0.0)
    assert (t.errors, t.bucket_counts, t.not_started) == ({}, (0, 0), 0)
    assert (t.streams_completed, t.streams_failed, t.streams_abandoned, t.chunks) == (0, 0, 0, 0)
    assert (t.first_chunk_total_seconds, t.first_chunk_max_seconds) == (0.0, 0.0)
    assert (t.retries, t.cache_hits, t.fallbacks, t.hedges) == (0, 0, 0, 0)
