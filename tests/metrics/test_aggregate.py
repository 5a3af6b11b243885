"""Tests for toolware.metrics._aggregate: CallMetrics bounds, in flight, breakers, reset."""

from __future__ import annotations

import logging
import threading

import pytest

from tests.mutmut_support import THREADS_UNDER_MUTMUT
from toolware import Kind
from toolware.errors import ErrorCategory
from toolware.metrics import BREAKER_STATE_VALUES, CallMetrics, RefusalKey
from toolware.state.base import BreakerChange, BreakerState
from toolware.stats import OVERFLOW_TARGET
from toolware.streams import StreamOutcome


def change(key: str, state: BreakerState) -> BreakerChange:
    return BreakerChange(key, BreakerState.CLOSED, state, "x", 0.0)


def test_breaker_state_values() -> None:
    """The gauge values are 0 closed, 1 half open, 2 open, 3 isolated."""
    assert dict(BREAKER_STATE_VALUES) == {
        BreakerState.CLOSED: 0,
        BreakerState.HALF_OPEN: 1,
        BreakerState.OPEN: 2,
        BreakerState.ISOLATED: 3,
    }


def test_breakers_keep_the_latest_state_up_to_max_breakers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A known key is updated; a new key past max_breakers is dropped, logged once."""
    metrics = CallMetrics(max_breakers=2)
    metrics.on_breaker_change(change("a", BreakerState.OPEN))
    metrics.on_breaker_change(change("b", BreakerState.OPEN))
    with caplog.at_level(logging.WARNING, "toolware.metrics"):
        metrics.on_breaker_change(change("c", BreakerState.OPEN))
        metrics.on_breaker_change(change("d", BreakerState.OPEN))
    metrics.on_breaker_change(change("a", BreakerState.CLOSED))
    assert metrics.snapshot().breakers == {"a": BreakerState.CLOSED, "b": BreakerState.OPEN}
    assert [r.getMessage() for r in caplog.records] == [
        "metrics.breakers_capped max_breakers=2 key=c"
    ]
    assert caplog.records[0].max_breakers == 2  # type: ignore[attr-defined]


def test_refusals_are_bounded_by_max_targets() -> None:
    """Past max_targets distinct refusal keys, new ones count under (other)."""
    metrics = CallMetrics(max_targets=1)
    metrics.record_refusal(Kind.TOOL, "a", None, "rate_limit")
    metrics.record_refusal(Kind.TOOL, "a", None, "rate_limit")
    metrics.record_refusal(Kind.TOOL, "b", "x", "rate_limit")
    metrics.record_refusal(Kind.TOOL, "c", None, "rate_limit")
    assert metrics.snapshot().refusals == {
        RefusalKey(Kind.TOOL, OVERFLOW_TARGET, None, "rate_limit"): 2,
        RefusalKey(Kind.TOOL, "a", None, "rate_limit"): 2,
    }


def test_in_flight_is_started_minus_recorded_never_negative() -> None:
    """In flight per kind is calls started minus calls recorded, floored at zero."""
    metrics = CallMetrics()
    metrics.call_started(Kind.PLUGIN)
    metrics.call_started(Kind.PLUGIN)
    metrics.record(Kind.PLUGIN, "p", None, 0.1, None)
    metrics.record(Kind.RAG, "r", None, 0.1, None)
    assert metrics.snapshot().in_flight == {Kind.TOOL: 0, Kind.PLUGIN: 1, Kind.RAG: 0}


def test_reset_keeps_calls_in_flight() -> None:
    """reset() forgets counts, refusals and breakers, but not the calls still running."""
    metrics = CallMetrics(max_breakers=1)
    for _ in range(3):
        metrics.call_started(Kind.TOOL)
    metrics.record(Kind.TOOL, "t", None, 0.1, None)
    metrics.record_refusal(Kind.TOOL, "t", None, "rate_limit")
    metrics.on_breaker_change(change("a", BreakerState.OPEN))
    metrics.on_breaker_change(change("b", BreakerState.OPEN))  # capped
    metrics.reset()
    snap = metrics.snapshot()
    assert (snap.stats.targets, snap.refusals, snap.breakers) == ((), {}, {})
    assert snap.in_flight[Kind.TOOL] == 2
    metrics.on_breaker_change(change("b", BreakerState.OPEN))  # room again after reset
    assert metrics.snapshot().breakers == {"b": BreakerState.OPEN}


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"max_breakers": 0}, ValueError, r"max_breakers must be a positive integer.*got 0"),
        ({"max_breakers": False}, TypeError, r"max_breakers must be a positive integer.*False"),
        ({"max_breakers": "9"}, TypeError, r"max_breakers must be .*'9'"),
        ({"max_targets": -1}, ValueError, r"max_targets must be a positive integer.*-1"),
        ({"buckets": ()}, ValueError, r"buckets must be increasing positive seconds"),
    ],
)
def test_options_are_validated(options: dict[str, object], error: type, match: str) -> None:
    """Bad bounds are refused with the option's name and value."""
    with pytest.raises(error, match=match):
        CallMetrics(**options)  # type: ignore[arg-type]


def test_defaults() -> None:
    """1000 targets and 1000 breakers by default."""
    metrics = CallMetrics()
    assert (metrics.max_targets, metrics.max_breakers) == (1000, 1000)


@pytest.mark.parametrize("buckets", [5, ("a",), (1.0, 0.5), (0.5, 0.5), (0.0,), (float("inf"),)])
def test_bad_buckets_are_refused(buckets: object) -> None:
    """Buckets must be an increasing sequence of positive finite seconds."""
    with pytest.raises(ValueError, match=r"buckets must be increasing positive seconds"):
        CallMetrics(buckets=buckets)  # type: ignore[arg-type]


@THREADS_UNDER_MUTMUT
def test_threads_write_their_own_shards_and_are_merged() -> None:
    """Counts from several threads add up; a target admitted by one thread is shared."""
    metrics = CallMetrics(max_targets=1, buckets=(1.0,))

    def work() -> None:
        metrics.call_started(Kind.TOOL)
        metrics.record(Kind.TOOL, "t", None, 2.0, None)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    metrics.call_started(Kind.TOOL)
    metrics.record(Kind.TOOL, "t", None, 0.5, None)
    snap = metrics.snapshot()
    stats = snap.stats.get("t")
    assert (stats.calls, stats.total_seconds, stats.bucket_counts) == (2, 2.5, (1, 1))
    assert (stats.min_seconds, stats.max_seconds) == (0.5, 2.0)
    assert snap.in_flight[Kind.TOOL] == 0
    assert [t.key.target for t in snap.stats.targets] == ["t"]


def test_the_cap_logs_once_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    """Past max_targets, each kind logs metrics.targets_capped once."""
    metrics = CallMetrics(max_targets=1)
    with caplog.at_level(logging.WARNING, "toolware.metrics"):
        for target in ("a", "b", "c"):
            metrics.record(Kind.TOOL, target, None, 0.1, None)
        metrics.record(Kind.RAG, "r", None, 0.1, None)
    assert [r.getMessage() for r in caplog.records] == [
        "metrics.targets_capped max_targets=1 kind=tool",
        "metrics.targets_capped max_targets=1 kind=rag",
    ]
    snap = metrics.snapshot().stats
    assert snap.get(OVERFLOW_TARGET).calls == 2
    assert snap.get(OVERFLOW_TARGET, kind=Kind.RAG).calls == 1


def test_streams_keep_the_longest_first_chunk() -> None:
    """The first-chunk maximum keeps the longest; totals add up; chunks and errors count."""
    metrics = CallMetrics()
    for first in (0.5, 0.25):
        metrics.record_stream(
            Kind.TOOL,
            "s",
            None,
            1.0,
            StreamOutcome.FAILED,
            ErrorCategory.TIMEOUT,
            first_chunk_seconds=first,
            chunks=2,
        )
    stats = metrics.snapshot().stats.get("s")
    assert (stats.first_chunk_max_seconds, stats.first_chunk_total_seconds) == (0.5, 0.75)
    assert (stats.streams_failed, stats.chunks, stats.errors) == (2, 4, {ErrorCategory.TIMEOUT: 2})


def test_not_started_counts_only_with_an_error() -> None:
    """not_started is counted for failed calls that say so."""
    metrics = CallMetrics()
    metrics.record(Kind.TOOL, "t", None, 1.0, ErrorCategory.TIMEOUT, not_started=True)
    metrics.record(Kind.TOOL, "t", None, 1.0, ErrorCategory.TIMEOUT)
    metrics.record(Kind.TOOL, "t", None, 1.0, None, not_started=True)
    assert metrics.snapshot().stats.get("t").not_started == 1
