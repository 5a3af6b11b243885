"""Tests for toolware.stats: the recorder, its histogram and snapshots."""

import itertools
import logging
import sys
import threading

import pytest

from toolware import ErrorCategory, Kind, StatsRecorder
from toolware.stats import DEFAULT_BUCKETS, OVERFLOW_TARGET, TargetKey


def test_record_and_snapshot_fields() -> None:
    """A snapshot has the calls, errors, total, max and derived mean and rates."""
    recorder = StatsRecorder()
    recorder.record(Kind.TOOL, "a", None, 0.2, None)
    recorder.record(Kind.TOOL, "a", None, 0.4, ErrorCategory.TIMEOUT)
    recorder.record(Kind.TOOL, "a", None, 0.3, ErrorCategory.TIMEOUT)
    stats = recorder.snapshot().get("a")
    assert stats.key == TargetKey(Kind.TOOL, "a")
    assert stats.calls == 3
    assert stats.errors == {ErrorCategory.TIMEOUT: 2}
    assert stats.error_count == 2
    assert stats.error_rate == pytest.approx(2 / 3)
    assert stats.total_seconds == pytest.approx(0.9)
    assert stats.max_seconds == 0.4
    assert stats.mean_seconds == pytest.approx(0.3)
    assert stats.bucket_bounds == DEFAULT_BUCKETS


def test_default_buckets_double_from_100_microseconds() -> None:
    """21 bounds from 0.1 ms to about 105 s, each twice the previous."""
    assert len(DEFAULT_BUCKETS) == 21
    assert DEFAULT_BUCKETS[0] == pytest.approx(0.0001)
    assert DEFAULT_BUCKETS[-1] == pytest.approx(104.8576)
    assert all(b == pytest.approx(2 * a) for a, b in itertools.pairwise(DEFAULT_BUCKETS))


def test_bucket_placement_bounds_are_inclusive_and_overflow_is_last() -> None:
    """A value equal to a bound goes in that bound's bucket; above the last, in overflow."""
    recorder = StatsRecorder(buckets=(1.0, 2.0))
    for seconds in (0.5, 1.0, 1.5, 2.0, 3.0, 9.0):
        recorder.record(Kind.TOOL, "a", None, seconds, None)
    assert recorder.snapshot().get("a").bucket_counts == (2, 2, 2)


def test_percentile_interpolates_inside_the_bucket() -> None:
    """Four calls in (1, 2]: interpolated between the smallest and largest value seen."""
    recorder = StatsRecorder(buckets=(1.0, 2.0, 4.0))
    for seconds in (1.2, 1.4, 1.6, 1.8):
        recorder.record(Kind.TOOL, "a", None, seconds, None)
    stats = recorder.snapshot().get("a")
    assert stats.percentile(0.5) == pytest.approx(1.5)  # 1.2 + (1.8 - 1.2) * 2/4
    assert stats.percentile(1.0) == pytest.approx(1.8)
    assert stats.percentile(0.0) == pytest.approx(1.2)


def test_percentile_in_the_overflow_bucket_uses_the_maximum() -> None:
    """Above the last bound, the estimate is bounded by the largest value seen."""
    recorder = StatsRecorder(buckets=(1.0,))
    recorder.record(Kind.TOOL, "a", None, 5.0, None)
    recorder.record(Kind.TOOL, "a", None, 3.0, None)
    stats = recorder.snapshot().get("a")
    assert 1.0 < stats.percentile(0.5) <= 5.0
    assert stats.percentile(1.0) == 5.0


def test_percentile_without_calls_and_bad_fraction() -> None:
    """No calls gives 0.0; a fraction outside 0..1 is refused."""
    recorder = StatsRecorder()
    recorder.record(Kind.TOOL, "a", None, 0.1, None)
    stats = recorder.snapshot().get("a")
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        stats.percentile(1.5)
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        stats.percentile(-0.1)
    empty = stats.__class__(
        key=stats.key,
        calls=0,
        errors={},
        total_seconds=0.0,
        min_seconds=0.0,
        max_seconds=0.0,
        bucket_bounds=stats.bucket_bounds,
        bucket_counts=(0,) * len(stats.bucket_counts),
    )
    assert empty.percentile(0.99) == 0.0
    assert (empty.mean_seconds, empty.error_rate) == (0.0, 0.0)


@pytest.mark.parametrize(
    "buckets",
    [(), (0.0, 1.0), (-1.0,), (2.0, 1.0), (1.0, 1.0), (float("nan"),), (float("inf"),), ("x",)],
)
def test_bad_custom_buckets_are_refused(buckets: tuple[object, ...]) -> None:
    """Buckets must be non-empty, positive, finite and strictly increasing."""
    with pytest.raises(ValueError, match="buckets must be increasing positive seconds"):
        StatsRecorder(buckets=buckets)  # type: ignore[arg-type]


def test_custom_buckets_accept_integers() -> None:
    """Integer bounds are taken as seconds."""
    recorder = StatsRecorder(buckets=[1, 5])
    recorder.record(Kind.TOOL, "a", None, 2.0, None)
    stats = recorder.snapshot().get("a")
    assert stats.bucket_bounds == (1.0, 5.0)
    assert stats.bucket_counts == (0, 1, 0)


def test_snapshot_is_sorted_and_independent() -> None:
    """Targets come sorted by kind, target and action; later records do not change it."""
    recorder = StatsRecorder()
    recorder.record(Kind.TOOL, "b", None, 0.1, None)
    recorder.record(Kind.RAG, "z", None, 0.1, None)
    recorder.record(Kind.PLUGIN, "n", "show", 0.1, None)
    recorder.record(Kind.PLUGIN, "n", "add", 0.1, None)
    recorder.record(Kind.TOOL, "a", None, 0.1, None)
    snapshot = recorder.snapshot()
    assert [s.key.qualified_name for s in snapshot.targets] == ["n.add", "n.show", "z", "a", "b"]
    recorder.record(Kind.TOOL, "a", None, 0.1, None)
    assert snapshot.get("a").calls == 1
    assert snapshot.calls == 5


def test_reset_forgets_everything() -> None:
    """After reset() the snapshot is empty."""
    recorder = StatsRecorder()
    recorder.record(Kind.TOOL, "a", None, 0.1, None)
    recorder.reset()
    assert recorder.snapshot().targets == ()
    assert recorder.snapshot().calls == 0


def test_snapshot_get_key_error_names_what_was_asked_and_seen() -> None:
    """get() of an unknown target says which one, with its action, and lists those seen."""
    recorder = StatsRecorder()
    with pytest.raises(KeyError, match=r"no statistics for tool 'a'; seen: \(none\)"):
        recorder.snapshot().get("a")
    recorder.record(Kind.TOOL, "search", None, 0.1, None)
    recorder.record(Kind.PLUGIN, "notes", "add", 0.1, None)
    with pytest.raises(KeyError) as caught:
        recorder.snapshot().get("notes", kind=Kind.PLUGIN, action="show")
    assert caught.value.args[0] == (
        "no statistics for plugin 'notes.show'; seen: plugin 'notes.add', tool 'search'"
    )


def test_target_key_qualified_name() -> None:
    """A key names its target, with the action when there is one."""
    assert TargetKey(Kind.TOOL, "a").qualified_name == "a"
    assert TargetKey(Kind.PLUGIN, "n", "add").qualified_name == "n.add"


def test_targets_beyond_the_cap_share_one_overflow_target(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With max_targets=2 a third and fourth name land in OVERFLOW_TARGET; it logs once."""
    recorder = StatsRecorder(max_targets=2)
    with caplog.at_level(logging.WARNING, logger="toolware.stats"):
        for name in ("a", "b", "c", "d", "a"):
            recorder.record(Kind.TOOL, name, None, 0.01, None)
    snapshot = recorder.snapshot()
    assert {s.key.target: s.calls for s in snapshot.targets} == {"a": 2, "b": 1, OVERFLOW_TARGET: 2}
    assert [r.getMessage() for r in caplog.records] == [
        "stats.targets_capped max_targets=2 kind=tool"
    ]


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
def test_max_targets_must_be_a_positive_integer(bad: object) -> None:
    """max_targets is refused unless it is a positive int."""
    with pytest.raises(ValueError, match="max_targets must be a positive integer"):
        StatsRecorder(max_targets=bad)  # type: ignore[arg-type]


def test_not_started_counts_timeouts_of_calls_that_never_began() -> None:
    """not_started is kept apart from the timeout count it is part of, per target and in all."""
    recorder = StatsRecorder()
    recorder.record(Kind.TOOL, "a", None, 1.0, ErrorCategory.TIMEOUT, not_started=True)
    recorder.record(Kind.TOOL, "a", None, 1.0, ErrorCategory.TIMEOUT)
    recorder.record(Kind.TOOL, "a", None, 0.1, None)
    recorder.record(Kind.TOOL, "b", None, 1.0, ErrorCategory.TIMEOUT, not_started=True)
    snapshot = recorder.snapshot()
    stats = snapshot.get("a")
    assert stats.errors == {ErrorCategory.TIMEOUT: 2}
    assert stats.not_started == 1
    assert snapshot.not_started == 2


def test_eight_threads_recording_new_targets_lose_no_count() -> None:
    """Threads racing to record the same new targets: every count is kept, exactly."""
    recorder = StatsRecorder()
    barrier = threading.Barrier(8)
    targets = [f"t{i}" for i in range(800)]

    def record() -> None:
        barrier.wait(10)
        for name in targets:
            recorder.record(Kind.TOOL, name, None, 0.001, ErrorCategory.TIMEOUT)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to provoke the race
    try:
        threads = [threading.Thread(target=record) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        sys.setswitchinterval(interval)
    snapshot = recorder.snapshot()
    assert snapshot.calls == 6400
    assert {s.calls for s in snapshot.targets} == {8}
    assert {s.errors[ErrorCategory.TIMEOUT] for s in snapshot.targets} == {8}
    assert {sum(s.bucket_counts) for s in snapshot.targets} == {8}
