"""Request ids: unique, and sortable by creation time.

An id is a UUIDv7 (RFC 9562) in its canonical 36-character form: 48 bits of Unix milliseconds,
then a 30-bit per-process counter spread over ``rand_a`` and the top of ``rand_b`` (RFC 9562,
method 1), then 32 random bits. Ids made by one process sort in creation order even within a
millisecond; ids from different processes sort by millisecond and never collide in practice.
The random part comes from a per-process generator seeded from ``os.urandom``: ids need to be
unique, not unguessable, and this costs a fraction of a syscall per id.
"""

from __future__ import annotations

import itertools
import os
import random

from toolware.clock import Clock, system_clock

__all__ = ["new_request_id"]

_random = random.Random(int.from_bytes(os.urandom(16), "big"))
_counter = itertools.count(_random.getrandbits(20))
_COUNTER_MASK = (1 << 30) - 1


def new_request_id(clock: Clock = system_clock) -> str:
    """Return a new UUIDv7 string stamped with ``clock.time()``."""
    millis = int(clock.time() * 1000) & 0xFFFF_FFFF_FFFF
    sequence = next(_counter) & _COUNTER_MASK
    value = (
        (millis << 80)
        | (0x7 << 76)
        | ((sequence >> 18) << 64)
        | (0b10 << 62)
        | ((sequence & 0x3FFFF) << 44)
        | _random.getrandbits(44)
    )
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
