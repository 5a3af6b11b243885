"""Tests for toolware.state._redis_health that pin what mutation testing found loose: URL
checks' exact messages, a password holding "@", the status of a fresh store, and the events
and counts of the fallback's state machine."""

from __future__ import annotations

import logging

import pytest

from toolware.state._redis_health import Health, check_url, mask_url
from toolware.state.redis import RedisState

LOGGER = "toolware.state.redis"


def test_a_password_holding_an_at_sign_is_masked_whole() -> None:
    """Everything up to the last "@" is the user info: no piece of the password shows."""
    assert mask_url("redis://u:p@ss@host:6379/0") == "redis://u:***@host:6379/0"


def test_a_url_of_another_type_is_named_by_its_type() -> None:
    """The TypeError names the type that was given."""
    with pytest.raises(TypeError, match=r"url must be a str") as raised:
        check_url(b"redis://localhost")
    assert str(raised.value) == (
        "RedisState url must be a str such as 'redis://localhost:6379/0', got bytes"
    )


def test_a_host_error_shows_the_masked_url() -> None:
    """Refusals made after the scheme check name the URL, its password masked."""
    with pytest.raises(ValueError, match=r"has port 0") as raised:
        check_url("redis://:pw@localhost:0/0")
    assert str(raised.value) == (
        "RedisState url 'redis://:***@localhost:0/0' has port 0; use a port in 1..65535"
    )


def test_a_database_that_is_not_a_number_is_refused_whole() -> None:
    """Only the leading "/" is taken off the database: "/X1" is the database "X1"."""
    with pytest.raises(ValueError, match=r"has database") as raised:
        check_url("redis://localhost:6379/X1")
    assert str(raised.value) == (
        "RedisState url 'redis://localhost:6379/X1' has database 'X1'; use a number, e.g. '/0'"
    )


def test_a_fresh_store_reports_no_last_error() -> None:
    """Before any error, status().last_error is None (not an empty text)."""
    assert RedisState("redis://localhost:6379/0").status().last_error is None


def test_going_degraded_and_recovering_are_logged_with_their_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """redis.unavailable has the error and the retry delay; redis.recovered the counts."""
    health = Health(0.5, 5.0, None)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        health.failed(OSError("boom"), 0.0)
        health.succeeded()
    down, up = caplog.records
    assert down.getMessage() == "redis.unavailable error=OSError: boom retry_in=0.5"
    assert (down.error, down.retry_in) == ("OSError: boom", 0.5)  # type: ignore[attr-defined]
    assert up.getMessage() == "redis.recovered fallbacks=1 errors=1"
    assert (up.fallbacks, up.errors) == (1, 1)  # type: ignore[attr-defined]


def test_a_bad_value_adds_to_the_errors_and_logs_its_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """bad_value counts one more error (after others) and logs the key as a field."""
    health = Health(0.5, 5.0, None)
    health.failed(OSError("boom"), 0.0)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        health.bad_value("app:rl:k", "not a number")
    assert (health.errors, health.last_error) == (2, "bad value under 'app:rl:k': not a number")
    [record] = caplog.records
    assert record.getMessage() == "redis.bad_value key=app:rl:k detail=not a number"
    assert record.key == "app:rl:k"  # type: ignore[attr-defined]
