"""Where a streamed response's chunks come from: the handler's generator, read by the router.

- :class:`AsyncGeneratorStream` reads an async generator on the consumer's task: one
  ``__anext__`` of the generator per chunk asked for, nothing in between.
- :class:`SyncGeneratorStream` steps a sync generator on the router's worker threads, one chunk
  per step, so a blocking producer never blocks the loop and holds no thread between chunks.
  A consumer that leaves while a step runs (``time.sleep`` cannot be interrupted) has the
  generator closed by that worker as soon as the step returns, which frees the thread.

:class:`~toolware._read_ahead.ReadAheadStream` (an entry's ``read_ahead`` option) lets a
background task read ahead of the consumer.

The router primes a source (made with ``primed=True``, then ``await stream.prime()``): the
first chunk is read as the call is made and kept for the consumer's first pull, so a failure
before it is an ordinary error response.

Each source turns what the handler raises into a bound ``tool_failed`` error (``retryable``
per the entry's ``retryable_on``, which only matters before the first chunk), checks each
chunk with the entry's result validator, and lets the cancellation of the consuming task
through (ending as ``abandoned``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any

from toolware._stream_layers import close_quietly
from toolware._workers import WorkerPool
from toolware.errors import ToolFailedError, ToolwareError, describe_exception
from toolware.streams import ResponseStream, StreamOutcome, StreamState

__all__ = [
    "AsyncGeneratorStream",
    "SyncGeneratorStream",
    "cancelled_by_caller",
]

logger = logging.getLogger("toolware.streams")

_END: Any = object()
_PRIMED: Any = object()


def cancelled_by_caller() -> bool:
    """Whether the current task is being cancelled (by its caller, or a deadline), as opposed
    to code below it raising a ``CancelledError`` of its own."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


class _Source(ResponseStream):
    """A stream reading a handler's generator, which the router primes."""

    __slots__ = ()

    async def prime(self) -> bool:
        """Read the first chunk and keep it for the consumer's first pull (made with
        ``primed=True``): ``False`` for a stream with no chunk at all; a failure raises the
        typed error, so the router can answer with an ordinary error response."""
        try:
            await self._gen.__anext__()
        except StopAsyncIteration:
            return False
        return True


def _failure(
    state: StreamState, exc: BaseException, retryable_on: tuple[type[BaseException], ...]
) -> ToolFailedError:
    detail = describe_exception(exc)
    if isinstance(exc, SystemExit):
        detail = f"SystemExit (exit code {exc.code!r})"
    when = "before its first chunk" if not state.chunks else f"after {state.chunks} chunk(s)"
    failure = ToolFailedError(
        f"{state.target!r} raised {detail} {when}",
        retryable=isinstance(exc, retryable_on) and isinstance(exc, Exception),
        request_id=state.request_id,
        target=state.target,
    )
    failure.__cause__ = exc
    return failure


class AsyncGeneratorStream(_Source):
    """The chunks of a handler's async generator."""

    __slots__ = ("_generator",)

    def __init__(
        self,
        generator: AsyncGenerator[Any, Any],
        *,
        request_id: str,
        target: str,
        now: Callable[[], float],
        check: Callable[[Any], Any] | None = None,
        retryable_on: tuple[type[BaseException], ...] = (),
        primed: bool = False,
    ) -> None:
        if not hasattr(generator, "__anext__"):
            raise TypeError(
                f"{target!r} is registered as an async generator but its call returned "
                f"{type(generator).__name__}"
            )
        state = StreamState(request_id, target, now)
        super().__init__(state, _async_source_chunks(generator, state, check, retryable_on, primed))
        self._generator = generator

    async def _close_inner(self) -> None:
        await close_quietly(self._generator.aclose, self._state)


async def _async_source_chunks(
    generator: AsyncGenerator[Any, Any],
    state: StreamState,
    check: Callable[[Any], Any] | None,
    retryable_on: tuple[type[BaseException], ...],
    primed: bool,
) -> AsyncGenerator[Any, None]:
    pull = generator.__anext__
    while True:
        try:
            chunk = await pull()
            if check is not None:
                chunk = check(chunk)
        except StopAsyncIteration:
            state.finish(StreamOutcome.COMPLETED)
            return
        except ToolwareError as error:
            # Raised on purpose by the handler, or a chunk failed its check (the generator is
            # then still open: close it).
            error = error.bind(state.request_id or "", state.target or "")
            state.finish(StreamOutcome.FAILED, error)
            await close_quietly(generator.aclose, state)
            raise error from error.__cause__
        except asyncio.CancelledError as exc:
            if cancelled_by_caller():
                state.finish(StreamOutcome.ABANDONED)
                raise
            failure = _failure(state, exc, retryable_on)  # the handler's own cancellation
            state.finish(StreamOutcome.FAILED, failure)
            raise failure from exc
        except BaseException as exc:
            # As for plain handlers: SystemExit, KeyboardInterrupt and custom BaseExceptions
            # from a tool are its failure, never the loop's end.
            failure = _failure(state, exc, retryable_on)
            state.finish(StreamOutcome.FAILED, failure)
            await close_quietly(generator.aclose, state)  # the check raised: still open
            raise failure from exc
        if primed:  # the router's first pull: it gets a marker, the consumer the chunk
            primed = False
            yield _PRIMED
        state.chunks += 1
        yield chunk


class _Escaped(Exception):
    """A ``BaseException`` that is not an ``Exception``, raised by a sync generator's step."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(type(original).__name__)
        self.original = original


class _Steps:
    """A sync generator shared with worker threads: created and advanced one step at a time,
    closed by whichever side comes last (the worker if a step is running)."""

    __slots__ = ("arguments", "busy", "closed", "function", "generator", "lock", "name")

    def __init__(self, function: Callable[..., Any], arguments: Mapping[str, Any], name: str):
        self.function: Callable[..., Any] | None = function
        self.arguments: Mapping[str, Any] | None = arguments
        self.generator: Generator[Any, Any, Any] | None = None
        self.lock = threading.Lock()
        self.busy = False
        self.closed = False
        self.name = name

    def step(self) -> Any:
        """On a worker thread: the next chunk, or ``_END``. The first step calls the function."""
        with self.lock:
            if self.closed:
                return _END
            self.busy = True
        try:
            generator = self.generator
            if generator is None:
                function, arguments = self.function, self.arguments
                self.function = self.arguments = None
                generator = function(**arguments)  # type: ignore[misc,arg-type]
                if not hasattr(generator, "__next__"):
                    raise TypeError(
                        f"{self.name!r} is registered as a generator but its call returned "
                        f"{type(generator).__name__}"
                    )
                self.generator = generator
            return next(generator, _END)
        except Exception:
            raise
        except BaseException as exc:
            # SystemExit, KeyboardInterrupt...: carried as an Exception, so the stream (not the
            # worker pool) describes it, with how many chunks came before.
            raise _Escaped(exc) from None
        finally:
            with self.lock:
                self.busy = False
                close_now = self.closed
            if close_now:
                self.close_generator()

    def close(self) -> bool:
        """Close for good; ``True`` if the generator is left for the caller to close now
        (:meth:`close_generator`), ``False`` if a running step will close it, or it is gone."""
        with self.lock:
            if self.closed:
                return False
            self.closed = True
            if self.busy:
                return False
        self.function = self.arguments = None
        return self.generator is not None

    def close_generator(self) -> None:
        """Run the generator's ``finally`` blocks (in the calling thread)."""
        generator, self.generator = self.generator, None
        if generator is None:
            return
        try:
            generator.close()
        except Exception as exc:
            logger.warning(
                "stream.close_failed target=%s error=%s: the producer raised while being "
                "closed; let GeneratorExit through and do not yield from 'finally'",
                self.name,
                type(exc).__name__,
                exc_info=exc,
                extra={"target": self.name},
            )


class SyncGeneratorStream(_Source):
    """The chunks of a handler's sync generator, each made on a worker thread."""

    __slots__ = ("_pool", "_steps")

    def __init__(
        self,
        function: Callable[..., Any],
        arguments: Mapping[str, Any],
        pool: WorkerPool,
        *,
        request_id: str,
        target: str,
        now: Callable[[], float],
        check: Callable[[Any], Any] | None = None,
        retryable_on: tuple[type[BaseException], ...] = (),
        primed: bool = False,
    ) -> None:
        state = StreamState(request_id, target, now)
        steps = _Steps(function, arguments, target)
        super().__init__(
            state, _sync_source_chunks(steps, pool, state, check, retryable_on, primed)
        )
        self._steps = steps
        self._pool = pool

    async def _close_inner(self) -> None:
        steps = self._steps
        if steps.close():
            try:
                await self._pool.run(steps.close_generator, _NO_ARGUMENTS, name=self.target)
            except ToolwareError:  # the pool is shut down or saturated: close it here
                steps.close_generator()

    def _dropped(self) -> None:
        _release(self._steps, self._pool)


def _release(steps: _Steps, pool: WorkerPool) -> None:
    """Close the generator without waiting: on a worker when one takes it, else here."""
    if steps.close() and not pool.start(steps.close_generator):
        steps.close_generator()


async def _sync_source_chunks(
    steps: _Steps,
    pool: WorkerPool,
    state: StreamState,
    check: Callable[[Any], Any] | None,
    retryable_on: tuple[type[BaseException], ...],
    primed: bool,
) -> AsyncGenerator[Any, None]:
    run, step, name = pool.run, steps.step, state.target
    while True:
        try:
            chunk = await run(step, _NO_ARGUMENTS, name=name)
            if chunk is _END:
                state.finish(StreamOutcome.COMPLETED)
                steps.close()  # finished: nothing left to run
                return
            if check is not None:
                chunk = check(chunk)
        except ToolwareError as error:
            error = error.bind(state.request_id or "", state.target or "")
            state.finish(StreamOutcome.FAILED, error)
            _release(steps, pool)
            raise error from error.__cause__
        except asyncio.CancelledError:
            # The consumer left (or its deadline passed) while a step ran or waited for a
            # worker: the generator is closed by the worker when the step returns.
            state.finish(StreamOutcome.ABANDONED)
            _release(steps, pool)
            raise
        except BaseException as exc:
            if isinstance(exc, _Escaped):
                exc = exc.original
            failure = _failure(state, exc, retryable_on)
            state.finish(StreamOutcome.FAILED, failure)
            _release(steps, pool)
            raise failure from exc
        if primed:
            primed = False
            yield _PRIMED
        state.chunks += 1
        yield chunk


_NO_ARGUMENTS: Mapping[str, Any] = {}
