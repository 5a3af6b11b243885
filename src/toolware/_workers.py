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

__all__ = ["WorkerPool", "default_workers"]


def default_workers() -> int:
    """The same default as ``ThreadPoolExecutor``: enough for I/O-bound tools, bounded."""
    return min(32, (os.cpu_count() or 1) + 4)


class WorkerPool:
    """Runs a callable with keyword arguments on a worker thread, keeping ``ContextVar`` values.

    The executor is created on first use, so pipelines with only async handlers start no
    threads. A caller that stops waiting (timeout, cancellation) returns at once; the thread
    finishes the function in the background, since Python cannot interrupt it.
    """

    __slots__ = ("_executor", "_lock", "max_workers")

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and (not isinstance(max_workers, int) or max_workers < 1):
            raise ValueError(f"workers must be a positive integer, got {max_workers!r}")
        self.max_workers = max_workers or default_workers()
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get(self) -> ThreadPoolExecutor:
        executor = self._executor
        if executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        max_workers=self.max_workers, thread_name_prefix="toolware-worker"
                    )
                executor = self._executor
        return executor

    async def run(self, function: Callable[..., Any], arguments: Mapping[str, Any]) -> Any:
        context = contextvars.copy_context()
        call = functools.partial(context.run, function, **arguments)
        return await asyncio.get_running_loop().run_in_executor(self._get(), call)

    def shutdown(self, *, wait: bool = False) -> None:
        """Stop accepting work; with ``wait`` also wait for running functions to finish."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)
