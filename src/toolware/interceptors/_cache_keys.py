"""Cache keys and cached values for :mod:`toolware.interceptors.cache`.

A key is ``cache:<qualified name>:<hash>``, where the hash (blake2b, 128 bits, hex) covers the
canonical JSON (sorted keys, no whitespace) of ``[qualified name, entry version, scope,
arguments]``. The plain name before the hash lets ``invalidate(target)`` delete by prefix.

Both the arguments and the values are kept only when they *round-trip*: decoding what was
encoded gives back something equal. msgspec encodes more than JSON says (bytes as base64 text,
sets as arrays, datetimes as strings), so without this check ``b"hi"`` and ``"aGk="`` would
share a key, and a tuple would come back from a hit as a list. What does not round-trip is not
cached; the call goes on uncached.

A stored record is one marker byte and msgpack: ``v`` + the value, or ``s`` + the list of a
completed stream's chunks (each chunk encoded as it passed, so a consumer that mutates a chunk
afterwards cannot change what was stored).
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

__all__ = [
    "MAX_STREAM_CHUNKS",
    "STREAM",
    "VALUE",
    "cache_key",
    "decode_record",
    "encode_chunk",
    "encode_value",
    "stream_record",
]

MAX_STREAM_CHUNKS = 10_000
"""A stream with more chunks than this is passed on whole but not cached: memory is bounded."""

VALUE = ord("v")
STREAM = ord("s")
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


def encode_chunk(chunk: Any) -> msgspec.Raw | None:
    """One stream chunk, encoded as it passes; None when it does not round-trip."""
    raw = _exact(chunk)
    return None if raw is None else msgspec.Raw(raw)


def stream_record(chunks: list[msgspec.Raw]) -> bytes:
    """The record of a completed stream from its encoded chunks."""
    return _STREAM_PREFIX + _value_encode(chunks)


def decode_record(data: bytes) -> tuple[int, Any]:
    """``(VALUE, value)`` or ``(STREAM, chunks)``, a fresh object each time; ValueError for a
    record this module did not write (a store shared with something else, corrupted data)."""
    kind = data[0] if data else 0
    if kind != VALUE and kind != STREAM:
        raise ValueError(f"not a cache record (marker byte {kind!r})")
    return kind, _value_decode(memoryview(data)[1:])
