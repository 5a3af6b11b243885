"""Cache keys and cached values for :mod:`toolware.interceptors.cache`.

A key is ``cache:<qualified name>:<hash>``, where the hash (blake2b, 128 bits, hex) covers the
canonical JSON (sorted keys, no whitespace) of ``[qualified name, entry version, scope,
arguments]``. The plain name before the hash lets ``invalidate(target)`` delete by prefix.

Both the arguments and the values are kept only when they *round-trip*: decoding what was
encoded gives back something equal. msgspec encodes more than JSON says (bytes as base64 text,
sets as arrays, datetimes as strings), so without this check ``b"hi"`` and ``"aGk="`` would
share a key, and a tuple would come back from a hit as a list. What does not round-trip is not
cached; the call goes on uncached.

It also holds what :class:`~toolware.interceptors.cache.CacheInterceptor` needs besides its
call path: the per-miss :class:`Miss`, the replay of a record as a response, the recording of
a stream, and the log events (logger ``toolware.interceptors.cache``).

A stored record is one marker byte and msgpack: ``v`` + the value, or ``s`` + the list of a
completed stream's chunks (each chunk encoded as it passed, so a consumer that mutates a chunk
afterwards cannot change what was stored).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec

from toolware.clock import Clock
from toolware.context import RequestContext, ResponseContext
from toolware.extras import EMPTY_EXTRAS
from toolware.markers import CACHE_HIT
from toolware.streams import ResponseStream

__all__ = [
    "MAX_STREAM_CHUNKS",
    "Miss",
    "cache_key",
    "encode_value",
    "key_failed",
    "recording",
    "replay",
    "skipped",
    "store_failed",
]

logger = logging.getLogger("toolware.interceptors.cache")

MAX_STREAM_CHUNKS = 10_000
"""A stream with more chunks than this is passed on whole but not cached: memory is bounded."""

_VALUE = ord("v")
_STREAM = ord("s")
_HIT = EMPTY_EXTRAS.with_value(CACHE_HIT, True)
_VALUE_PREFIX = b"v"
_STREAM_PREFIX = b"s"

_key_encoder = msgspec.json.Encoder(order="sorted")
_key_decode = msgspec.json.Decoder().decode
_value_encode = msgspec.msgpack.Encoder().encode
_value_decode = msgspec.msgpack.Decoder().decode
_blake2b = hashlib.blake2b


def cache_key(name: str, version: str, scope: str | bool | None, arguments: Any) -> str | None:
    """The key for one call, or None when its arguments have no exact JSON form.

    ``scope`` is the principal's id, None for an anonymous caller (one scope for all of them,
    distinct from every principal's), False for a shared entry.
    """
    try:
        raw = _key_encoder.encode([name, version, scope, arguments])
        if _key_decode(raw)[3] != arguments:
            return None
    except Exception:  # unencodable, mixed key types, a broken __eq__: no key, no caching
        return None
    return f"cache:{name}:{_blake2b(raw, digest_size=16).hexdigest()}"


def _exact(value: Any) -> bytes | None:
    try:
        raw = _value_encode(value)
        if _value_decode(raw) != value:
            return None
    except Exception:  # not encodable, or an __eq__ that raises: not cached
        return None
    return raw


def encode_value(value: Any) -> bytes | None:
    """The record of a plain value, or None when it does not round-trip."""
    raw = _exact(value)
    return None if raw is None else _VALUE_PREFIX + raw


def _encode_chunk(chunk: Any) -> msgspec.Raw | None:
    raw = _exact(chunk)
    return None if raw is None else msgspec.Raw(raw)


def replay(
    data: bytes, request: RequestContext, started: float, clock: Clock, store: str
) -> ResponseContext | None:
    """The hit response for a stored record (a fresh copy of the value, or a new stream of the
    chunks), or None for a record this module did not write (logged; answered as a miss)."""
    kind = data[0] if data else 0
    try:
        if kind != _VALUE and kind != _STREAM:
            raise ValueError(f"not a cache record (marker byte {kind!r})")
        value = _value_decode(memoryview(data)[1:])
    except ValueError as exc:  # msgspec.DecodeError is one
        store_failed("decode", request.qualified_name, store, exc)
        return None
    if kind == _STREAM:
        stream = ResponseStream.of(
            value, request_id=request.id, target=request.qualified_name, now=clock.monotonic
        )
        return ResponseContext(
            stream=stream, started_at=started, finished_at=clock.monotonic(), extras=_HIT
        )
    return ResponseContext(
        value=value, started_at=started, finished_at=clock.monotonic(), extras=_HIT
    )


class Miss:
    """One call that missed: where and for how long its result is stored, and the
    invalidation generation it began in (a later one means: store nothing)."""

    __slots__ = ("generation", "key", "name", "scope", "ttl", "version")

    def __init__(
        self, key: str, ttl: float, name: str, version: str, scope: Any, generation: int
    ) -> None:
        self.key, self.ttl, self.name = key, ttl, name
        self.version, self.scope, self.generation = version, scope, generation


def recording(
    miss: Miss,
    store: Callable[[Miss, bytes], Awaitable[None]],
    skip: Callable[[str, str], None],
) -> Callable[[AsyncIterator[Any]], AsyncIterator[Any]]:
    """A ``through()`` transform passing every chunk on, each encoded as it passes, that
    calls ``store(miss, record)`` when the stream completes. A failed or abandoned stream
    never gets past its ``async for``, so it stores nothing."""

    async def record(chunks: AsyncIterator[Any]) -> AsyncIterator[Any]:
        kept: list[msgspec.Raw] | None = []
        async for chunk in chunks:
            if kept is not None:
                raw = _encode_chunk(chunk)
                if raw is None or len(kept) == MAX_STREAM_CHUNKS:
                    kept = None
                    skip(miss.name, "a chunk does not round-trip, or too many chunks")
                else:
                    kept.append(raw)
            yield chunk
        if kept is not None:
            await store(miss, _STREAM_PREFIX + _value_encode(kept))

    return record


def key_failed(request: RequestContext) -> None:
    name = request.qualified_name
    logger.debug(
        "cache.key_failed target=%s request_id=%s: arguments with no exact JSON form",
        name,
        request.id,
        extra={"target": name, "request_id": request.id},
    )


def skipped(name: str, reason: str) -> None:
    logger.warning(
        "cache.value_skipped target=%s reason=%s: results of this target are not cached; "
        "return JSON-like data (dicts, lists, str, numbers) to cache them",
        name,
        reason,
        extra={"target": name, "reason": reason},
    )


def store_failed(operation: str, name: str, store: str, exc: Exception) -> None:
    logger.warning(
        "cache.store_failed operation=%s target=%s store=%s error=%s: answered as a miss",
        operation,
        name,
        store,
        type(exc).__name__,
        extra={"operation": operation, "target": name, "store": store},
    )
