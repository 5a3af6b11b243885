"""Cached values in process memory: a TTL per entry and a least-recently-used bound."""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["MemoryCache"]


class MemoryCache:
    """At most ``max_entries`` values; an expired value is dropped when it is next read."""

    __slots__ = ("_entries", "max_entries")

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def get(self, key: str, now: float) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires_at, value = found
        if now >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def set(self, key: str, value: bytes, ttl: float, now: float) -> None:
        entries = self._entries
        entries[key] = (now + ttl, value)
        entries.move_to_end(key)
        while len(entries) > self.max_entries:
            entries.popitem(last=False)

    def delete(self, key: str) -> bool:
        return self._entries.pop(key, None) is not None

    def delete_prefix(self, prefix: str) -> int:
        doomed = [key for key in self._entries if key.startswith(prefix)]
        for key in doomed:
            del self._entries[key]
        return len(doomed)

    def __len__(self) -> int:
        return len(self._entries)
