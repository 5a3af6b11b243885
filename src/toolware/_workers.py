"""A bounded thread pool for synchronous handlers, so they never block the event loop.

Not ``run_in_executor``: it builds a ``concurrent.futures.Future`` (with a ``Condition``), a work
item and a second, chained future per call, and wakes the loop once per call. Here a call is one
``Job`` and one ``asyncio`` future, idle workers are handed jobs directly, and calls completing
together wake the loop once (see docs/benchmarks.md).

Saturation: at most ``max_queued`` calls wait for a worker. A call that finds the queue full is
refused at once with ``UnavailableError`` ("no worker free"). A caller that gives up (timeout,
cancellation) while its call is still queued takes the call out of the queue, so its arguments
are released at once, and leaves a description for :func:`take_not_started`, which the timeout
interceptor reads to answer "never started" instead of "did not complete".

Exceptions: a function's ``Exception`` reaches the caller as it is; ``BaseException``s and
``StopIteration`` become ``ToolFailedError`` naming them (see :mod:`toolware._jobs`).

Worker threads are daemon threads: a process that is done does not wait for a stuck tool. After
``fork()`` the child's pools start afresh (the parent's threads do not exist there).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from toolware._jobs import DROPPED, QUEUED, RUNNING, Job
from toolware.clock import Clock, system_clock
from toolware.errors import UnavailableError

__all__ = [
    "DEFAULT_MAX_QUEUED",
    "WorkerPool",
    "default_workers",
    "note_not_started",
    "take_not_started",
]

DEFAULT_MAX_QUEUED = 1024
"""How many calls may wait for a worker before further calls are refused."""

_NOT_STARTED: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "toolware_not_started", default=None
)


def default_workers() -> int:
    """The same default as ``ThreadPoolExecutor``: enough for I/O-bound tools, bounded."""
    return min(32, (os.cpu_count() or 1) + 4)


def note_not_started(reason: str) -> None:
    """Say, right before re-raising a ``CancelledError``, that the call in this task was
    cancelled while it waited for capacity (a worker, a concurrency slot, a rate-limit permit)
    and never started: the timeout interceptor then answers ``started=False`` with ``reason``."""
    _NOT_STARTED.set(reason)


def take_not_started() -> str | None:
    """Why the call just cancelled in this task never started, once; ``None`` if it did.

    :meth:`WorkerPool.run` sets it (e.g. ``"all 4 workers busy, 12 calls queued; waited
    0.200s"``) right before re-raising the ``CancelledError`` of a call that was still queued.
    A plain ``await`` shares the task's context, so the code that cancelled the call (the timeout
    interceptor) reads it here; reading clears it.
    """
    reason = _NOT_STARTED.get()
    if reason is not None:
        _NOT_STARTED.set(None)
    return reason


class _Worker:
    """One thread; ``wake`` is held while the thread sleeps waiting to be handed a job."""

    __slots__ = ("job", "thread", "wake")

    def __init__(self) -> None:
        self.job: Job | None = None
        self.wake = threading.Lock()
        self.wake.acquire()
        self.thread: threading.Thread | None = None


class _Core:
    """A pool's threads, queue and results. Threads hold this, never the ``WorkerPool``, so a
    pool dropped without ``shutdown()`` is collected and its idle threads exit."""

    __slots__ = (
        "__weakref__",
        "_clock",
        "_closed",
        "_done",
        "_idle",
        "_lock",
        "_queue",
        "_workers",
        "max_queued",
        "max_workers",
    )

    def __init__(self, max_workers: int, max_queued: int | None, clock: Clock) -> None:
        self.max_workers = max_workers
        self.max_queued = max_queued
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._idle: list[_Worker] = []
        self._workers: list[_Worker] = []
        # Completed jobs per event loop, waiting for that loop's one scheduled drain.
        self._done: dict[asyncio.AbstractEventLoop, list[Job]] = {}
        self._closed = False
        _CORES.add(self)

    def reset(self) -> None:
        """Forget threads and calls: in a forked child, only the forking thread exists."""
        self._lock = threading.Lock()
        self._queue = deque()
        self._idle = []
        self._workers = []
        self._done = {}

    def submit(self, job: Job) -> _Worker | None:
        """Hand ``job`` to an idle worker (returned, to wake), a new thread, or the queue."""
        with self._lock:
            if self._closed:
                raise UnavailableError(
                    "the worker pool is shut down: its router was closed",
                    hint="build a new pipeline (or Router) instead of reusing a closed one",
                )
            if self._idle:
                worker = self._idle.pop()
                worker.job = job
                return worker
            if len(self._workers) < self.max_workers and self._start(job):
                return None
            queue = self._queue
            if self.max_queued is not None and len(queue) >= self.max_queued:
                raise UnavailableError(
                    f"no worker free: all {self.max_workers} workers busy and {len(queue)} "
                    f"calls queued; raise workers= / max_queued= or make the tool async",
                    retryable=True,
                    hint="call again later, when a worker is free",
                )
            job.state = QUEUED
            job.queued_at = self._clock.monotonic()
            queue.append(job)
            return None

    def _start(self, job: Job) -> bool:
        """Start a thread for ``job``; ``False`` if the system refuses one and others exist."""
        worker = _Worker()
        worker.job = job
        worker.thread = threading.Thread(
            target=self._work,
            args=(worker,),
            name=f"toolware-worker-{len(self._workers)}",
            daemon=True,
        )
        try:
            worker.thread.start()
        except RuntimeError as exc:  # "can't start new thread": out of threads or memory
            if self._workers:
                return False  # queue the call for the threads there are
            raise UnavailableError(
                f"no worker thread could be started: {exc}",
                hint="the process is out of threads or memory; call again later",
            ) from exc
        self._workers.append(worker)
        return True

    def withdraw(self, job: Job) -> str | None:
        """The caller gave up: unqueue ``job`` if it never started, and say why it did not."""
        with self._lock:
            if job.state != QUEUED:
                return None
            queued = len(self._queue)
            self._queue.remove(job)
            job.release()
            waited = self._clock.monotonic() - job.queued_at
        return (
            f"all {self.max_workers} workers busy, {queued} calls queued; "
            f"waited {waited:.3f}s for a worker"
        )

    def _work(self, worker: _Worker) -> None:
        lock, queue, done = self._lock, self._queue, self._done
        job = worker.job
        worker.job = None
        while job is not None:
            job.execute()
            loop = job.future.get_loop()
            with lock:
                batch = done.get(loop)
                if batch is None:
                    done[loop] = [job]
                else:
                    batch.append(job)
                if queue:
                    job = queue.popleft()
                    job.state = RUNNING
                else:
                    job = None
                    if not self._closed:
                        self._idle.append(worker)
            if batch is None:  # the first completion since the last drain: wake the loop once
                try:
                    loop.call_soon_threadsafe(self._drain, loop)
                except RuntimeError:
                    # The loop is closed: nobody is waiting for these results any more.
                    with lock:
                        done.pop(loop, None)
            del batch, loop
            if job is None and not self._closed:
                worker.wake.acquire()
                job = worker.job
                worker.job = None

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """On ``loop``: resolve the futures of every job completed since the last drain."""
        with self._lock:
            batch = self._done.pop(loop, ())
        for job in batch:
            future = job.future
            if not future.done():  # a cancelled caller has gone
                future.set_result(None)

    def shutdown(self, *, wait: bool = False) -> None:
        with self._lock:
            self._closed = True
            dropped = list(self._queue)
            self._queue.clear()
            for job in dropped:
                job.state = DROPPED
            idle, self._idle = self._idle, []
            workers = list(self._workers)
        for worker in idle:
            worker.job = None
            worker.wake.release()
        for job in dropped:
            job.release()
            job.error = UnavailableError(
                "the worker pool was shut down before this call could start",
                hint="the router was closed while the call waited for a worker; call again",
            )
            # RuntimeError: the caller's loop is closed, nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                job.future.get_loop().call_soon_threadsafe(_resolve, job.future)
        if wait:
            current = threading.current_thread()
            for worker in workers:
                thread = worker.thread
                if thread is not None and thread is not current:
                    thread.join()


class WorkerPool:
    """Runs a callable with keyword arguments on a worker thread, keeping ``ContextVar`` values.

    Threads are started on demand, up to ``max_workers``, so pipelines with only async handlers
    start none. A caller that stops waiting returns at once; a call already running finishes in
    the background (Python cannot interrupt a thread), one still queued is dropped.
    ``max_queued=None`` lets the queue grow without bound: explicit, since it is dangerous.
    ``clock`` times the queue waits reported by :func:`take_not_started`.
    """

    __slots__ = ("__weakref__", "_core")

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        max_queued: int | None = DEFAULT_MAX_QUEUED,
        clock: Clock = system_clock,
    ) -> None:
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise ValueError(f"workers must be a positive integer, got {max_workers!r}")
        if max_queued is not None and (
            isinstance(max_queued, bool) or not isinstance(max_queued, int) or max_queued < 0
        ):
            raise ValueError(
                f"max_queued must be a non-negative integer, or None for no bound, "
                f"got {max_queued!r}"
            )
        if not isinstance(clock, Clock):
            raise TypeError(f"clock must be a toolware Clock, got {type(clock).__name__}")
        self._core = _Core(max_workers or default_workers(), max_queued, clock)
        weakref.finalize(self, self._core.shutdown)  # like ThreadPoolExecutor: idle threads go

    @property
    def max_workers(self) -> int:
        return self._core.max_workers

    @property
    def max_queued(self) -> int | None:
        return self._core.max_queued

    async def run(
        self, function: Callable[..., Any], arguments: Mapping[str, Any], *, name: str | None = None
    ) -> Any:
        """Run ``function(**arguments)`` on a worker thread and return its result.

        ``name`` is how failures name the function (default: its qualified name). Raises
        :class:`~toolware.errors.UnavailableError` when the pool is shut down or saturated;
        cancelling the awaiting task raises ``CancelledError`` (see :func:`take_not_started`).
        """
        if _NOT_STARTED.get() is not None:  # a stale answer must not describe this call
            _NOT_STARTED.set(None)
        core = self._core
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        job = Job(function, arguments, contextvars.copy_context(), future, name)
        worker = core.submit(job)
        if worker is not None:
            worker.wake.release()
        try:
            await future
        except asyncio.CancelledError:
            reason = core.withdraw(job)
            if reason is not None:
                _NOT_STARTED.set(reason)
            # The CancelledError's traceback keeps this frame: let the arguments go with the job.
            function = arguments = job = None  # type: ignore[assignment]
            raise
        error = job.error
        if error is None:
            return job.value
        job.error = None
        try:
            raise error
        finally:
            # Our frame joins the traceback: drop its references to the error, or they cycle.
            error = job = None  # type: ignore[assignment]

    def start(self, function: Callable[[], object]) -> bool:
        """Run ``function()`` on a worker thread without waiting for it (cleanup work, such as
        closing a generator, that must not block the loop). ``False`` when the pool cannot
        take it: no running event loop in this thread, shut down, or saturated; the caller
        then does the work itself. What the function raises is its own to handle."""
        try:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        except RuntimeError:
            return False
        job = Job(function, _NO_ARGUMENTS, contextvars.copy_context(), future, None)
        try:
            worker = self._core.submit(job)
        except UnavailableError:
            return False
        if worker is not None:
            worker.wake.release()
        return True

    def shutdown(self, *, wait: bool = False) -> None:
        """Stop accepting work for good; with ``wait`` also wait for running functions.

        Calls still queued are answered with ``UnavailableError``.
        """
        self._core.shutdown(wait=wait)


_CORES: weakref.WeakSet[_Core] = weakref.WeakSet()
_NO_ARGUMENTS: Mapping[str, Any] = {}


def _after_fork() -> None:
    for core in list(_CORES):
        core.reset()


if hasattr(os, "register_at_fork"):  # pragma: no branch - absent only on Windows
    os.register_at_fork(after_in_child=_after_fork)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
