"""Request ids: unique, and sortable by creation time.

An id is a UUIDv7 (RFC 9562) written as 32 hex digits (``uuid.UUID(id)`` parses it): 48 bits
of Unix milliseconds,
then a 30-bit per-process counter spread over ``rand_a`` and the top of ``rand_b`` (RFC 9562,
method 1, "fixed bit-length dedicated counter"), then 44 bits chosen at random once per process.
Ids made by one process sort in creation order even within a millisecond; ids from different
processes sort by millisecond and differ in their random part.

Ids are made on every call, so the work is kept small: the time prefix is formatted once per
millisecond and the random suffix once per process (the cost against formatting a fresh
128-bit integer each time is in docs/benchmarks.md).
"""

from __future__ import annotations

import itertools
import os

from toolware.clock import Clock, system_clock

__all__ = ["new_request_id"]

_node = int.from_bytes(os.urandom(6), "big") >> 4  # 44 random bits per process
_counter = itertools.count(int.from_bytes(os.urandom(3), "big") >> 4)  # random 20-bit start


def _reseed() -> None:
    """Draw a new random node and counter start: a forked worker must not repeat its
    parent's ids (both would inherit the same node and counter)."""
    global _node, _counter
    _node = int.from_bytes(os.urandom(6), "big") >> 4
    _counter = itertools.count(int.from_bytes(os.urandom(3), "big") >> 4)


os.register_at_fork(after_in_child=_reseed)
_VARIANT = 0b10 << 62
# (millis, prefix) in one tuple, read and replaced whole: two separate globals let a thread
# pair its own millisecond with the prefix another thread (or another clock) had just written.
_prefix_cache: tuple[int, str] = (-1, "")


def new_request_id(clock: Clock = system_clock) -> str:
    """Return a new UUIDv7, as 32 lowercase hex digits, stamped with ``clock.time()``."""
    global _prefix_cache
    millis = int(clock.time() * 1000) & 0xFFFF_FFFF_FFFF
    cached_millis, prefix = _prefix_cache
    if millis != cached_millis:
        prefix = "%012x7" % millis  # noqa: UP031 - %-formatting is measurably faster here
        _prefix_cache = (millis, prefix)
    sequence = next(_counter) & 0x3FFF_FFFF
    # rand_a: the counter's top 12 bits; rand_b: the variant, its low 18 bits, the node.
    return prefix + "%03x%016x" % (  # noqa: UP031
        sequence >> 18,
        _VARIANT | ((sequence & 0x3FFFF) << 44) | _node,
    )
