"""Fixtures for the state tests: one real ``redis-server`` for the whole session.

Without ``redis-server`` the Redis tests are skipped with the command that installs it, and
the end of the run says so in one line; with ``CI=true`` they fail instead, so a CI machine
that lost its Redis cannot pass by skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.redis_support import INSTALL_HINT, RedisServer, find_redis_server
from toolware.state.redis import RedisState

_MISSING = (
    f"redis-server is not installed: the Redis state tests did not run. "
    f"Install it with `{INSTALL_HINT}` (or `make redis-server`)"
)
_skipped: list[str] = []


def _require_redis_server() -> None:
    if find_redis_server() is not None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{_MISSING} (CI=true: a missing Redis fails the build)", pytrace=False)
    _skipped.append(_MISSING)
    pytest.skip(_MISSING)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server on a free loopback port, shared by the session's tests (do not kill it:
    outage tests start their own with ``own_redis``)."""
    _require_redis_server()
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server for this test alone, free to kill and restart."""
    _require_redis_server()
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own, so tests sharing the server never see each other."""
    return f"t{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    """A plain redis-py client on the session's server, to look at and spoil keys."""
    client: Redis = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def stores(redis_url: str, prefix: str) -> AsyncIterator[Callable[..., RedisState]]:
    """Makes RedisStates on the session's server under this test's prefix; all closed after."""
    made: list[RedisState] = []

    def make(url: str | None = None, **options: Any) -> RedisState:
        options.setdefault("prefix", prefix)
        # Generous: a loaded machine's first connection must not count as an outage here.
        options.setdefault("op_timeout", 1.0)
        state = RedisState(url or redis_url, **options)
        made.append(state)
        return state

    yield make
    for state in made:
        await state.aclose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped:
        terminalreporter.write_line(f"SKIPPED REDIS TESTS: {_skipped[0]}", yellow=True, bold=True)
