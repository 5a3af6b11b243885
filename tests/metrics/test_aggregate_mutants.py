"""Tests for toolware.metrics._aggregate that pin exact messages, boundaries and logs."""

from __future__ import annotations

import logging
import threading

import pytest

from tests.mutmut_support import THREADS_UNDER_MUTMUT
from toolware import Kind
from toolware.errors import ErrorCategory
from toolware.metrics import CallMetrics, RefusalKey
from toolware.state.base import BreakerChange, BreakerState
from toolware.stats import DEFAULT_BUCKETS, OVERFLOW_TARGET
from toolware.streams import StreamOutcome


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"max_targets": 0},
            ValueError,
            "max_targets must be a positive integer, e.g. 1000, got 0",
        ),
        (
            {"max_targets": "1"},
            TypeError,
            "max_targets must be a positive integer, e.g. 1000, got '1'",
        ),
        (
            {"buckets": (2.0, 1.0)},
            ValueError,
            "buckets must be increasing positive seconds, e.g. (0.01, 0.1, 1.0), got (2.0, 1.0)",
        ),
    ],
)
def test_exact_messages(options: dict[str, object], error: type, message: str) -> None:
    """Refusals carry the exact message: option, example and value."""
    with pytest.raises(error) as raised:
        CallMetrics(**options)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_unconvertible_buckets_hide_the_conversion_error() -> None:
    """A bucket that is not a number is refused with the context suppressed."""
    with pytest.raises(ValueError, match="buckets must be") as raised:
        CallMetrics(buckets=("a",))  # type: ignore[arg-type]
    assert raised.value.__suppress_context__ is True
    assert raised.value.__cause__ is None


def test_buckets_are_floats_and_one_is_accepted() -> None:
    """Integer bounds become floats; a single bound and max 1 are accepted; defaults kept."""
    metrics = CallMetrics(buckets=[1, 2], max_targets=1, max_breakers=1)
    assert metrics.bounds == (1.0, 2.0)
    assert all(type(b) is float for b in metrics.bounds)
    assert (metrics.max_targets, metrics.max_breakers) == (1, 1)
    assert CallMetrics().bounds == DEFAULT_BUCKETS


def test_a_duration_on_a_bound_falls_in_that_bucket() -> None:
    """A call of exactly a bound is counted at most that bound (le), one above it past it."""
    metrics = CallMetrics(buckets=(0.5, 1.0))
    for seconds in (0.5, 1.0, 1.5, 0.0):
        metrics.record(Kind.TOOL, "t", None, seconds, None)
    stats = metrics.snapshot().stats.get("t")
    assert stats.bucket_counts == (2, 1, 1)
    assert (stats.min_seconds, stats.max_seconds, stats.total_seconds) == (0.0, 1.5, 3.0)
    assert (stats.calls, stats.errors, stats.not_started) == (4, {}, 0)


def test_errors_and_not_started_accumulate() -> None:
    """Errors per category and not-started counts add up over calls."""
    metrics = CallMetrics()
    for _ in range(2):
        metrics.record(Kind.TOOL, "t", None, 1.0, ErrorCategory.TIMEOUT, not_started=True)
    metrics.record(Kind.TOOL, "t", None, 1.0, ErrorCategory.INTERNAL)
    stats = metrics.snapshot().stats.get("t")
    assert stats.errors == {ErrorCategory.INTERNAL: 1, ErrorCategory.TIMEOUT: 2}
    assert stats.not_started == 2


def test_each_stream_outcome_is_counted_apart() -> None:
    """Completed, failed and abandoned streams land in their own counters."""
    metrics = CallMetrics()
    for outcome, times in (
        (StreamOutcome.COMPLETED, 1),
        (StreamOutcome.FAILED, 2),
        (StreamOutcome.ABANDONED, 3),
    ):
        for _ in range(times):
            metrics.record_stream(
                Kind.TOOL, "s", None, 1.0, outcome, None, first_chunk_seconds=0.25, chunks=3
            )
    stats = metrics.snapshot().stats.get("s")
    assert (stats.streams_completed, stats.streams_failed, stats.streams_abandoned) == (1, 2, 3)
    assert (stats.chunks, stats.first_chunk_total_seconds, stats.first_chunk_max_seconds) == (
        18,
        1.5,
        0.25,
    )
    assert (stats.calls, stats.errors) == (6, {})


def test_record_resilience_adds_each_counter() -> None:
    """Resilience counters add up per call; the defaults add nothing."""
    metrics = CallMetrics()
    metrics.record_resilience(Kind.TOOL, "t", None)
    stats = metrics.snapshot().stats.get("t")
    assert (stats.retries, stats.cache_hits, stats.fallbacks, stats.hedges) == (0, 0, 0, 0)
    for _ in range(2):
        metrics.record_resilience(
            Kind.TOOL, "t", None, retries=2, cache_hit=True, fallback=True, hedges=3
        )
    stats = metrics.snapshot().stats.get("t")
    assert (stats.retries, stats.cache_hits, stats.fallbacks, stats.hedges) == (4, 2, 2, 6)


def test_the_cap_is_logged_with_its_fields_on_the_metrics_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """metrics.targets_capped is a warning of toolware.metrics with max_targets and kind."""
    metrics = CallMetrics(max_targets=2)
    with caplog.at_level(logging.DEBUG):
        metrics.record(Kind.TOOL, "a", None, 0.1, None)
        metrics.record(Kind.TOOL, "b", "x", 0.1, None)
        metrics.record(Kind.TOOL, "c", "y", 0.1, None)
        metrics.record(Kind.TOOL, "a", None, 0.1, None)
    [record] = caplog.records
    assert (record.name, record.levelno) == ("toolware.metrics", logging.WARNING)
    assert (record.max_targets, record.kind) == (2, "tool")  # type: ignore[attr-defined]
    targets = [(t.key.target, t.key.action, t.calls) for t in metrics.snapshot().stats.targets]
    assert targets == [(OVERFLOW_TARGET, None, 1), ("a", None, 2), ("b", "x", 1)]


def test_breakers_cap_is_logged_with_its_fields(caplog: pytest.LogCaptureFixture) -> None:
    """metrics.breakers_capped is a warning of toolware.metrics with max_breakers and key."""
    metrics = CallMetrics(max_breakers=1)
    metrics.on_breaker_change(BreakerChange("a", BreakerState.CLOSED, BreakerState.OPEN, "x", 0))
    with caplog.at_level(logging.DEBUG):
        metrics.on_breaker_change(
            BreakerChange("b", BreakerState.CLOSED, BreakerState.OPEN, "x", 0)
        )
    [record] = caplog.records
    assert (record.name, record.levelno) == ("toolware.metrics", logging.WARNING)
    assert (record.max_breakers, record.key) == (1, "b")  # type: ignore[attr-defined]
    assert record.getMessage() == "metrics.breakers_capped max_breakers=1 key=b"


def test_targets_sort_by_kind_target_then_action() -> None:
    """The snapshot lists targets by kind, target, then action (no action first)."""
    metrics = CallMetrics()
    for kind, target, action in (
        (Kind.TOOL, "t", "b"),
        (Kind.TOOL, "t", "A"),
        (Kind.TOOL, "t", None),
        (Kind.TOOL, "s", None),
        (Kind.RAG, "z", None),
        (Kind.PLUGIN, "z", None),
    ):
        metrics.record(kind, target, action, 0.1, None)
    keys = [(t.key.kind, t.key.target, t.key.action) for t in metrics.snapshot().stats.targets]
    assert keys == [
        (Kind.PLUGIN, "z", None),
        (Kind.RAG, "z", None),
        (Kind.TOOL, "s", None),
        (Kind.TOOL, "t", None),
        (Kind.TOOL, "t", "A"),
        (Kind.TOOL, "t", "b"),
    ]


def test_refusals_and_breakers_are_sorted() -> None:
    """Refusals and breakers are read back in key order, whatever the arrival order."""
    metrics = CallMetrics()
    metrics.record_refusal(Kind.TOOL, "b", None, "rate_limit")
    metrics.record_refusal(Kind.TOOL, "a", None, "rate_limit")
    for key in ("y", "x"):
        metrics.on_breaker_change(
            BreakerChange(key, BreakerState.CLOSED, BreakerState.OPEN, "x", 0)
        )
    snap = metrics.snapshot()
    assert list(snap.refusals) == [
        RefusalKey(Kind.TOOL, "a", None, "rate_limit"),
        RefusalKey(Kind.TOOL, "b", None, "rate_limit"),
    ]
    assert list(snap.breakers) == ["x", "y"]


def test_repeated_resets_keep_in_flight_exact() -> None:
    """Each reset adds the calls it forgets, so in flight stays started minus ended."""
    metrics = CallMetrics(max_targets=1)
    for _ in range(5):
        metrics.call_started(Kind.TOOL)
    metrics.record(Kind.TOOL, "t", None, 0.1, None)
    metrics.reset()
    metrics.record(Kind.TOOL, "t", None, 0.1, None)
    metrics.record(Kind.TOOL, "t", None, 0.1, None)
    metrics.reset()
    assert metrics.snapshot().in_flight == {Kind.TOOL: 2, Kind.PLUGIN: 0, Kind.RAG: 0}


def test_reset_admits_new_targets_and_logs_the_cap_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After reset, the target cap starts over: a new name is admitted, the cap logs again."""
    metrics = CallMetrics(max_targets=1)
    with caplog.at_level(logging.WARNING):
        metrics.record(Kind.TOOL, "a", None, 0.1, None)
        metrics.record(Kind.TOOL, "b", None, 0.1, None)
        metrics.reset()
        metrics.record(Kind.TOOL, "b", None, 0.1, None)
        metrics.record(Kind.TOOL, "c", None, 0.1, None)
    assert [t.key.target for t in metrics.snapshot().stats.targets] == [OVERFLOW_TARGET, "b"]
    assert len(caplog.records) == 2


@THREADS_UNDER_MUTMUT
def test_each_thread_has_its_own_shard() -> None:
    """shard() is the same object within a thread, a different one in another thread."""
    metrics = CallMetrics()
    mine = metrics.shard()
    seen: list[object] = []
    thread = threading.Thread(target=lambda: seen.append(metrics.shard()))
    thread.start()
    thread.join()
    assert metrics.shard() is mine
    assert seen[0] is not mine


@THREADS_UNDER_MUTMUT
def test_calls_started_on_several_threads_are_all_in_flight() -> None:
    """In flight adds the calls started on every thread."""
    metrics = CallMetrics()

    def start_two() -> None:
        metrics.call_started(Kind.RAG)
        metrics.call_started(Kind.RAG)

    thread = threading.Thread(target=start_two)
    thread.start()
    thread.join()
    metrics.call_started(Kind.RAG)
    assert metrics.snapshot().in_flight == {Kind.TOOL: 0, Kind.PLUGIN: 0, Kind.RAG: 3}


def test_after_reset_the_breaker_cap_logs_again(caplog: pytest.LogCaptureFixture) -> None:
    """reset() re-arms metrics.breakers_capped."""
    metrics = CallMetrics(max_breakers=1)

    def change(key: str) -> BreakerChange:
        return BreakerChange(key, BreakerState.CLOSED, BreakerState.OPEN, "x", 0)

    with caplog.at_level(logging.WARNING):
        metrics.on_breaker_change(change("a"))
        metrics.on_breaker_change(change("b"))
        metrics.reset()
        metrics.on_breaker_change(change("c"))
        metrics.on_breaker_change(change("d"))
    assert [r.getMessage() for r in caplog.records] == [
        "metrics.breakers_capped max_breakers=1 key=b",
        "metrics.breakers_capped max_breakers=1 key=d",
    ]
    assert metrics.snapshot().breakers == {"c": BreakerState.OPEN}
