"""Running the async pipeline for synchronous V1 callers, from any thread.

V1 is synchronous; toolware is async. A caller whose thread runs no event loop (the main
thread of a script, a worker thread, a handler calling back into the V1 API) runs the call on
an event loop of its own thread, kept for the thread's next calls and closed when the thread
ends: no thread hop beyond the pipeline's own (synchronous handlers run on its worker
threads). A caller already inside a running event loop (an async agent calling the
synchronous V1 API) cannot run another loop in its thread: its call is handed to one event loop
running on a daemon thread of its own (started on first use, started afresh in a forked child),
and it waits for the answer. That loop is blocked for the call, as it would be by any
synchronous call, but nothing fails with "this event loop is already running".

No signals are used (V1 used ``SIGALRM``: main thread only, process-wide, none on Windows). The
pipeline's timeout answers on time; the caller's own bound is a safety net for a pipeline
without a timeout stage, after which the caller stops waiting and the call is cancelled.

A synchronous call made *on* the bridge loop itself (an async handler of the host's own
pipeline calling the V1 API) cannot wait for that loop, so it runs on a private loop in a
thread of its own instead of deadlocking.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["BridgeTimeout", "LoopThread", "bridge"]

T = TypeVar("T")


class BridgeTimeout(Exception):
    """The caller's own bound passed before the pipeline answered."""


class LoopThread:
    """An event loop on a daemon thread, for synchronous callers."""

    __slots__ = ("_local", "_lock", "_loop", "_name", "_pid")

    def __init__(self, name: str = "toolware-compat-v1") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._local = threading.local()

    def loop(self) -> asyncio.AbstractEventLoop:
        """The running bridge loop, started on first use (and after ``fork()``)."""
        loop = self._loop
        if loop is not None and self._pid == os.getpid():
            return loop
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=_serve, args=(loop,), name=self._name, daemon=True)
                thread.start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def run(self, make: Callable[[], Coroutine[Any, Any, T]], wait: float | None) -> T:
        """``await make()``; wait at most ``wait`` seconds (``None``: no bound), else cancel
        it and raise :class:`BridgeTimeout`."""
        running = asyncio._get_running_loop()
        if running is None:
            return self._run_here(make, wait)
        loop = self.loop()
        if running is loop:
            return _run_aside(make, wait)
        future = asyncio.run_coroutine_threadsafe(make(), loop)
        try:
            return future.result(timeout=wait)
        except TimeoutError:
            if future.done():  # the coroutine itself raised TimeoutError: not our bound
                raise
            future.cancel()
            raise BridgeTimeout(f"no answer within {wait} s") from None
        except BaseException:
            future.cancel()  # KeyboardInterrupt while waiting: do not leave the call running
            raise

    def _run_here(self, make: Callable[[], Coroutine[Any, Any, T]], wait: float | None) -> T:
        """On this thread's own loop (no loop runs in it)."""
        holder: _ThreadLoop | None = getattr(self._local, "holder", None)
        if holder is None or holder.pid != os.getpid() or holder.loop.is_closed():
            # A forked child inherits the parent's loop object, whose selector it shares.
            holder = self._local.holder = _ThreadLoop()
        loop = holder.loop
        task = loop.create_task(_then_stop(make(), loop))
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        timer = None if wait is None else loop.call_later(wait, expire)
        try:
            # run_forever, stopped by the task itself, rather than run_until_complete: one
            # loop iteration fewer (no done callback to schedule), and the outcome is read
            # from the task below, so no exception has to cross this frame's handlers.
            loop.run_forever()
        except BaseException:
            if not task.done():  # interrupted (Ctrl-C): this loop is not reused
                task.cancel()
                self._local.holder = None
                holder.close()
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if expired:  # whatever the call made of its cancellation, the bound has passed
            raise BridgeTimeout(f"no answer within {wait} s")
        return task.result()


async def _then_stop(coroutine: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop) -> T:
    try:
        return await coroutine
    finally:
        loop.stop()


class _ThreadLoop:
    """A thread's own event loop, closed when the thread ends (its ``threading.local`` goes)."""

    __slots__ = ("__weakref__", "loop", "pid")

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        weakref.finalize(self, _close, self.loop)

    def close(self) -> None:
        _close(self.loop)


def _close(loop: asyncio.AbstractEventLoop) -> None:
    if not loop.is_running() and not loop.is_closed():
        loop.close()


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def _run_aside(make: Callable[[], Coroutine[Any, Any, T]], wait: float | None) -> T:
    """Run on a private loop in a new thread: the caller is the bridge loop's own thread."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, asyncio.run(make())))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=target, name="toolware-compat-v1-aside", daemon=True)
    thread.start()
    thread.join(wait)
    if not outcome:
        raise BridgeTimeout(f"no answer within {wait} s")
    ok, value = outcome[0]
    if ok:
        result: T = value
        return result
    raise value


bridge = LoopThread()
"""The process-wide bridge every V1 adapter uses."""
