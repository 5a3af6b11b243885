"""Run a coroutine to completion from synchronous V1 code, wherever that code runs.

``McpCalls`` is synchronous like V1, and its callers are a worker thread of the pipeline, a
plain script, or a coroutine that calls the V1 mixin without awaiting (an event loop is running
in the calling thread, so ``asyncio.run`` there would fail). The coroutine therefore runs on a
fresh event loop in a private daemon thread, in a copy of the caller's context (so the current
trace span is seen), and the caller waits for it:

- with a ``timeout``, the coroutine is cancelled at the limit (``asyncio.timeout``), and the
  caller stops waiting ``CANCEL_GRACE`` seconds later even if the cancellation hangs, leaving
  the daemon thread behind rather than blocking the agent;
- without one, the caller waits as long as the coroutine runs (the pipeline around the V1 call
  bounds it and abandons the worker thread at its own timeout).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import TypeVar

__all__ = ["CANCEL_GRACE", "run_coroutine"]

T = TypeVar("T")

CANCEL_GRACE = 1.0
"""Seconds the caller waits, after the timeout, for a cancelled coroutine to finish."""


def run_coroutine(factory: Callable[[], Awaitable[T]], *, timeout: float | None) -> T:
    """The result of ``await factory()``, run on a private loop in a private thread.

    Raises what the coroutine raised; ``TimeoutError`` when ``timeout`` passed first.
    """
    box: Future[T] = Future()
    context = contextvars.copy_context()

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await factory()

    def main() -> None:
        try:
            box.set_result(context.run(asyncio.run, bounded()))
        except BaseException as exc:  # handed to the caller, who re-raises it
            box.set_exception(exc)

    threading.Thread(target=main, name="toolware-v1-mcp", daemon=True).start()
    try:
        return box.result(timeout=None if timeout is None else timeout + CANCEL_GRACE)
    except FutureTimeoutError:
        if box.done():  # the coroutine's own TimeoutError (the same class since 3.11)
            raise
        raise TimeoutError(
            f"not finished {CANCEL_GRACE} s after a timeout of {timeout} s"
        ) from None
