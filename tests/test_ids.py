"""Tests for toolware.ids: UUIDv7 request ids."""

from __future__ import annotations

import os
import subprocess
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


_FORKING = """
import os
from toolware.ids import new_request_id
new_request_id()  # the parent has made ids before it forks, as a server would
ids = []
for _ in range(8):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        ids.append(pipe.read())
    os.waitpid(pid, 0)
ids.append(new_request_id())
print(" ".join(ids))
"""


def test_forked_children_do_not_repeat_the_parents_ids() -> None:
    """After fork() each child draws its own random node, so first ids never collide."""
    if not hasattr(os, "fork"):  # pragma: no cover - POSIX-only
        return
    # In a fresh interpreter with no threads: fork() in the multi-threaded test process
    # would be unsafe.
    done = subprocess.run(
        [sys.executable, "-c", _FORKING], capture_output=True, text=True, timeout=60, check=True
    )
    ids = done.stdout.split()
    assert len(ids) == 9
    assert len({uid[-11:] for uid in ids}) == 9  # the random node part
