"""Tests for toolware.ids: UUIDv7 request ids."""

from __future__ import annotations

import sys
import threading
import uuid

from toolware.ids import new_request_id
from toolware.testing import FakeClock


def test_id_is_a_uuid7() -> None:
    """An id is 32 lowercase hex digits that parse as an RFC 9562 version-7 UUID."""
    request_id = new_request_id()
    assert len(request_id) == 32
    assert request_id == request_id.lower()
    parsed = uuid.UUID(request_id)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert parsed.hex == request_id


def test_ids_are_unique_and_sorted() -> None:
    """100k ids made in a row are all different and already in sorted order."""
    ids = [new_request_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_ids_sort_within_one_millisecond() -> None:
    """Ids from the same millisecond still sort in creation order."""
    clock = FakeClock(wall=1_800_000_000.0)
    ids = [new_request_id(clock) for _ in range(1000)]
    assert len({i[:12] for i in ids}) == 1
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000


def test_millisecond_prefix_comes_from_the_clock() -> None:
    """The first 48 bits are the injected clock's wall time in milliseconds."""
    clock = FakeClock(wall=1_767_225_600.123)
    request_id = new_request_id(clock)
    assert uuid.UUID(request_id).int >> 80 == 1_767_225_600_123
    clock.advance_now(2.0)
    assert uuid.UUID(new_request_id(clock)).int >> 80 == 1_767_225_602_123


def test_ids_sort_across_milliseconds() -> None:
    """A later millisecond sorts after an earlier one, and back again when the clock changes."""
    early = FakeClock(wall=1_700_000_000.0)
    late = FakeClock(wall=1_700_000_000.5)
    a = new_request_id(early)
    b = new_request_id(late)
    c = new_request_id(early)
    assert a < b
    assert c[:12] == a[:12]
    assert c < b


def test_threads_with_different_clocks_keep_their_own_prefix() -> None:
    """Concurrent threads on different clocks each stamp ids with their own clock's time."""
    clocks = [FakeClock(wall=1_700_000_000.0 + i) for i in range(4)]
    results: dict[int, list[str]] = {}

    def make(index: int) -> None:
        results[index] = [new_request_id(clocks[index]) for _ in range(20_000)]

    threads = [threading.Thread(target=make, args=(i,)) for i in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so a race would show
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    for index, ids in results.items():
        expected = int(clocks[index].time() * 1000)
        assert {uuid.UUID(i).int >> 80 for i in ids} == {expected}
