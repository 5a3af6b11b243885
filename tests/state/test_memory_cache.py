"""Tests for toolware.state._memory_cache: TTL expiry at the exact instant, LRU eviction,
delete and delete_prefix."""

from __future__ import annotations

from toolware.state._memory_cache import MemoryCache


def test_a_value_lives_until_just_before_its_expiry() -> None:
    """Set at 10 for 5 s: there at 14.999, gone at exactly 15 (and dropped)."""
    cache = MemoryCache(10)
    cache.set("k", b"v", 5.0, 10.0)
    assert cache.get("k", 14.999) == b"v"
    assert len(cache) == 1
    assert cache.get("k", 15.0) is None
    assert len(cache) == 0


def test_a_missing_key_is_none() -> None:
    """Nothing stored: None."""
    assert MemoryCache(1).get("nope", 0.0) is None


def test_setting_again_replaces_the_value_and_the_expiry() -> None:
    """A second set wins, with its own ttl counted from its own time."""
    cache = MemoryCache(10)
    cache.set("k", b"old", 1.0, 0.0)
    cache.set("k", b"new", 1.0, 0.5)
    assert cache.get("k", 1.4) == b"new"
    assert cache.get("k", 1.5) is None


def test_the_least_recently_used_entry_is_evicted() -> None:
    """At max_entries, a new entry evicts the one read or written longest ago."""
    cache = MemoryCache(2)
    cache.set("a", b"1", 60.0, 0.0)
    cache.set("b", b"2", 60.0, 0.0)
    assert cache.get("a", 1.0) == b"1"  # a is now the most recent
    cache.set("c", b"3", 60.0, 1.0)
    assert len(cache) == 2
    assert cache.get("b", 1.0) is None
    assert (cache.get("a", 1.0), cache.get("c", 1.0)) == (b"1", b"3")


def test_rewriting_an_entry_makes_it_the_most_recent() -> None:
    """Setting an existing key moves it to the recent end, without growing the cache."""
    cache = MemoryCache(2)
    cache.set("a", b"1", 60.0, 0.0)
    cache.set("b", b"2", 60.0, 0.0)
    cache.set("a", b"1'", 60.0, 0.0)
    cache.set("c", b"3", 60.0, 0.0)
    assert list(cache._entries) == ["a", "c"]


def test_delete_says_whether_the_entry_was_there() -> None:
    """delete removes one entry: True once, then False."""
    cache = MemoryCache(10)
    cache.set("k", b"", 60.0, 0.0)  # an empty value is still a value
    assert cache.delete("k") is True
    assert cache.delete("k") is False
    assert len(cache) == 0


def test_delete_prefix_removes_exactly_the_matching_keys() -> None:
    """Every key starting with the prefix goes; the count is returned; others stay."""
    cache = MemoryCache(10)
    for key in ("cache:a:1", "cache:a:2", "cache:ab", "cache:b:1", "x:cache:a:"):
        cache.set(key, b"v", 60.0, 0.0)
    assert cache.delete_prefix("cache:a:") == 2
    assert list(cache._entries) == ["cache:ab", "cache:b:1", "x:cache:a:"]
    assert cache.delete_prefix("none:") == 0
