"""run_coroutine: async code run to completion from synchronous V1 code, bounded."""

from __future__ import annotations

import asyncio
import contextvars
import time

import pytest

from toolware.compat.v1 import _mcp_sync
from toolware.compat.v1._mcp_sync import run_coroutine

REQUEST = contextvars.ContextVar("REQUEST", default="none")


async def _value() -> str:
    await asyncio.sleep(0)
    return "done"


def test_returns_the_result() -> None:
    assert run_coroutine(_value, timeout=5) == "done"
    assert run_coroutine(_value, timeout=None) == "done"


async def test_works_inside_a_running_loop() -> None:
    """The caller's loop is running: the coroutine gets a loop of its own."""
    assert run_coroutine(_value, timeout=5) == "done"


def test_raises_what_the_coroutine_raised() -> None:
    async def boom() -> None:
        raise LookupError("no such row")

    with pytest.raises(LookupError, match=r"^no such row$"):
        run_coroutine(boom, timeout=5)


def test_the_coroutines_own_timeout_error_is_not_rewritten() -> None:
    async def own() -> None:
        raise TimeoutError("upstream said so")

    with pytest.raises(TimeoutError, match=r"^upstream said so$"):
        run_coroutine(own, timeout=5)


def test_the_callers_context_is_seen() -> None:
    async def read() -> str:
        return REQUEST.get()

    token = REQUEST.set("req-7")
    try:
        assert run_coroutine(read, timeout=5) == "req-7"
    finally:
        REQUEST.reset(token)


def test_a_slow_coroutine_is_cancelled_at_the_timeout() -> None:
    cancelled: list[bool] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        run_coroutine(slow, timeout=0.2)
    assert time.monotonic() - started < 0.2 + _mcp_sync.CANCEL_GRACE + 5  # generous: 2 cores
    assert cancelled == [True]


def test_a_coroutine_that_blocks_its_loop_is_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancellation cannot reach a blocked loop: the caller still returns, after the grace."""
    monkeypatch.setattr(_mcp_sync, "CANCEL_GRACE", 0.1)

    async def blocking() -> None:
        time.sleep(3)  # noqa: ASYNC251 - blocks the private loop on purpose

    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        run_coroutine(blocking, timeout=0.1)
    assert str(caught.value) == "not finished 0.1 s after a timeout of 0.1 s"
    assert time.monotonic() - started < 2.5


def test_the_coroutine_runs_on_a_named_daemon_thread() -> None:
    """A daemon thread, so that an abandoned call never keeps the process alive at exit."""
    import threading

    async def where() -> tuple[str, bool, bool]:
        thread = threading.current_thread()
        return thread.name, thread.daemon, thread is threading.main_thread()

    assert run_coroutine(where, timeout=5) == ("toolware-v1-mcp", True, False)
