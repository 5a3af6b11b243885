"""A bounded thread pool for synchronous handlers, so they never block the event loop."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from toolware.errors import ToolFailedError, UnavailableError

__all__ = ["WorkerPool", "default_workers", "take_not_started"]

# Set (in the calling task's context) when a caller gave up on a call that was still waiting
# for a worker thread; the timeout interceptor reads it to say "never started". Plain awaits
# share the task's context, so the outer interceptor sees what the pool set.
_NOT_STARTED: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "toolware_not_started", default=None
)


def take_not_started() -> str | None:
    """Why the last call this task gave up on never started (and forget it), or ``None``."""
    reason = _NOT_STARTED.get()
    if reason is not None:
        _NOT_STARTED.set(None)
    return reason


def default_workers() -> int:
    """The same default as ``ThreadPoolExecutor``: enough for I/O-bound tools, bounded."""
    return min(32, (os.cpu_count() or 1) + 4)


class WorkerPool:
    """Runs a callable with keyword arguments on a worker thread, keeping ``ContextVar`` values.

    The executor is created on first use, so pipelines with only async handlers start no
    threads. A caller that stops waiting (timeout, cancellation) returns at once; the thread
    finishes the function in the background, since Python cannot interrupt it.
    """

    __slots__ = ("_closed", "_executor", "_lock", "max_workers")

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise ValueError(f"workers must be a positive integer, got {max_workers!r}")
        self.max_workers = max_workers or default_workers()
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _get(self) -> ThreadPoolExecutor:
        executor = self._executor
        if executor is None:
            with self._lock:
                if self._closed:
                    raise UnavailableError(
                        "the worker pool is shut down: its router was closed",
                        hint="build a new pipeline (or Router) instead of reusing a closed one",
                    )
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        max_workers=self.max_workers, thread_name_prefix="toolware-worker"
                    )
                executor = self._executor
        return executor

    async def run(self, function: Callable[..., Any], arguments: Mapping[str, Any]) -> Any:
        """Run ``function(**arguments)`` on a worker thread and return its result.

        Raises :class:`~toolware.errors.UnavailableError` if :meth:`shutdown` dropped the call
        before a thread picked it up; cancelling the awaiting task still raises
        ``CancelledError``.
        """
        started: list[bool] = []
        call = functools.partial(_call, contextvars.copy_context(), function, arguments, started)
        future = asyncio.get_running_loop().run_in_executor(self._get(), call)
        try:
            return await future
        except asyncio.CancelledError:
            if not started:
                _NOT_STARTED.set(f"all {self.max_workers} worker threads were busy")
            task = asyncio.current_task()
            if future.cancelled() and task is not None and task.cancelling() == 0:
                # Nobody cancelled this task: the queued call was dropped by shutdown().
                raise UnavailableError(
                    "the worker pool was shut down before this call could start",
                    hint="the router was closed while the call waited for a worker; call again",
                ) from None
            raise

    def shutdown(self, *, wait: bool = False) -> None:
        """Stop accepting work for good; with ``wait`` also wait for running functions."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)


def _call(
    context: contextvars.Context,
    function: Callable[..., Any],
    arguments: Mapping[str, Any],
    started: list[bool],
) -> Any:
    started.append(True)
    try:
        return context.run(function, **arguments)
    except Exception as exc:
        if not isinstance(exc, StopIteration):
            raise
        failure: BaseException = exc
    except BaseException as exc:
        failure = exc
    # asyncio cannot put StopIteration into a future (the caller would wait forever), and a
    # BaseException that is not an Exception (SystemExit, KeyboardInterrupt, GeneratorExit)
    # would cross into the event loop and stop it: the caller gets a typed failure instead.
    detail = type(failure).__name__
    if isinstance(failure, SystemExit):
        detail = f"SystemExit (exit code {failure.code!r})"
    elif str(failure):
        detail = f"{detail}: {failure}"
    error = ToolFailedError(
        f"{getattr(function, '__qualname__', function)!s} raised {detail}", retryable=False
    )
    error.__cause__ = failure
    raise error
