"""Tests for RedisState construction: URL checks, option checks, nothing connected early."""

from __future__ import annotations

import math
from typing import Any

import pytest

from toolware.state import StateStore
from toolware.state.redis import RedisState
from toolware.testing import FakeClock


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://localhost:6379", "must start with redis://, rediss:// or unix://"),
        ("localhost:6379", "must start with redis://"),
        ("garbage", "must start with redis://"),
        ("redis://localhost:notaport/0", "is not a valid URL"),
        ("redis://localhost:70000/0", "is not a valid URL"),
        ("redis://localhost:0/0", "has port 0"),
        ("redis:///0", "names no host"),
        ("redis://localhost:6379/zero", "has database 'zero'"),
        ("unix://", "needs a socket path"),
    ],
)
def test_a_bad_url_is_refused_at_construction(url: str, problem: str) -> None:
    """Each kind of bad URL is refused with a ValueError that names what is wrong."""
    with pytest.raises(ValueError, match=problem):
        RedisState(url)


def test_a_refused_url_never_shows_its_password() -> None:
    """The message shows the URL with the password masked."""
    with pytest.raises(ValueError, match="must start") as caught:
        RedisState("http://user:hunter2@localhost:6379")
    assert "hunter2" not in str(caught.value)
    assert "user:***@localhost:6379" in str(caught.value)


def test_a_url_that_is_not_a_string_is_a_type_error() -> None:
    """A URL given as bytes says what type is needed."""
    with pytest.raises(TypeError, match="url must be a str"):
        RedisState(b"redis://localhost")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost",
        "redis://localhost:6379",
        "redis://:pw@localhost:6379/2",
        "rediss://user:pw@example.com:6380/0",
        "unix:///run/redis.sock",
    ],
)
def test_good_urls_are_accepted_without_connecting(url: str) -> None:
    """Construction outside any event loop: nothing connects until first use."""
    state = RedisState(url)
    assert isinstance(state, StateStore)
    assert state.name == "redis"
    assert state.status().shared is True
    assert state.status().degraded is False


def test_repr_masks_the_password() -> None:
    """repr names the URL and prefix, never the password."""
    state = RedisState.from_url("redis://:s3cret@localhost:6379/0", prefix="app:")
    assert repr(state) == "RedisState('redis://:***@localhost:6379/0', prefix='app:')"


@pytest.mark.parametrize(
    "option", ["op_timeout", "reconnect_interval", "max_reconnect_interval", "lease_ttl"]
)
@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, True, "1"])
def test_seconds_options_must_be_finite_and_positive(option: str, value: Any) -> None:
    """Zero, negatives, NaN, infinity, bools and strings are refused, naming the option."""
    with pytest.raises(ValueError, match=f"RedisState {option} must be a finite number"):
        RedisState("redis://localhost", **{option: value})


@pytest.mark.parametrize("option", ["lease_min_rate", "breaker_sync"])
def test_rate_and_sync_options_must_be_positive(option: str) -> None:
    """lease_min_rate and breaker_sync refuse 0 with their names."""
    with pytest.raises(ValueError, match=f"RedisState {option} must be a finite number"):
        RedisState("redis://localhost", **{option: 0})


@pytest.mark.parametrize(
    ("option", "value"), [("lease_size", 0), ("max_local_keys", 0), ("breaker_batch", 0)]
)
@pytest.mark.parametrize("kind", [int, bool, float])
def test_counts_must_be_whole_numbers(option: str, value: int, kind: type) -> None:
    """lease_size, max_local_keys and breaker_batch refuse 0, bools and floats."""
    bad: Any = {int: value, bool: True, float: 2.0}[kind]
    with pytest.raises(ValueError, match=f"RedisState {option} must be a whole number >= 1"):
        RedisState("redis://localhost", **{option: bad})


def test_max_reconnect_interval_below_reconnect_interval_is_refused() -> None:
    """The backoff cannot start above its own ceiling."""
    with pytest.raises(ValueError, match=r"max_reconnect_interval \(1.0\) must be >= "):
        RedisState("redis://localhost", reconnect_interval=2.0, max_reconnect_interval=1.0)


def test_prefix_must_be_a_string() -> None:
    """A prefix that is not a str is a TypeError."""
    with pytest.raises(TypeError, match="prefix must be a str"):
        RedisState("redis://localhost", prefix=1)  # type: ignore[arg-type]


def test_clock_must_be_a_clock() -> None:
    """Something that is not a Clock is refused; a FakeClock is taken."""
    with pytest.raises(TypeError, match="clock must be a toolware Clock"):
        RedisState("redis://localhost", clock=object())  # type: ignore[arg-type]
    RedisState("redis://localhost", clock=FakeClock())


def test_lease_size_one_is_accepted() -> None:
    """lease_size=1 (leases off) is the smallest value allowed."""
    RedisState("redis://localhost", lease_size=1, max_local_keys=1, breaker_batch=1)
