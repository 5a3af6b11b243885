"""Streamed results: the stream a response carries, and how interceptors wrap it.

A call to a streaming entry (an async or sync generator function) answers with a response whose
``stream`` is a :class:`ResponseStream`: an async iterator of the handler's chunks, in order.
The contract every stream keeps, whoever made or wrapped it:

- **Pull-based.** The producer runs only while the consumer asks for the next chunk (unless its
  entry asked for a bounded ``read_ahead``). The first chunk is fetched as the call is made, so
  a handler that fails before it yields anything answers with an ordinary error response, which
  retry and fallback can act on like any other.
- **Typed failure.** A failure after the first chunk cannot take back what was delivered: the
  iteration ends by raising the typed :class:`~toolware.errors.ToolwareError` (its category,
  request id and target set). Any other exception from a wrapper's code becomes an
  ``internal`` error naming the wrapper.
- **Closed exactly once.** ``aclose()``, ``async with``, cancellation of the consuming task, or
  garbage collection of an abandoned stream closes it, and closing a wrapper closes the stream
  it wraps, down to the handler's generator (whose ``finally`` blocks then run). A plain
  ``break`` out of ``async for`` does not close an iterator in Python; the stream is then closed
  when it is collected. Write ``async with response.stream as chunks:`` to close it at once.
- **One end, observed once.** Each stream ends once, as ``completed``, ``failed`` or
  ``abandoned`` (the consumer stopped early); observers registered with :meth:`observe` hear
  it once, with the number of chunks delivered.

A stream belongs to the event loop of its call: read it from any task of that loop (one at a
time), not from another loop or thread.

Interceptors pass a stream through untouched, or wrap it with :meth:`ResponseStream.map`,
:meth:`~ResponseStream.filter`, :meth:`~ResponseStream.take`, :meth:`~ResponseStream.observe`
or :meth:`~ResponseStream.through`, and answer ``response.with_stream(wrapped)``. A wrapped
stream belongs to its wrapper: iterate only the outermost one.

Events: ``stream.close_failed`` (warning) when a handler's generator raised while it was being
closed; ``stream.wrapper_crashed`` (error) when a wrapper's own code raised (the stream then
fails with ``internal``); ``stream.observer_failed`` (error) when an ``on_end`` observer
raised.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from enum import StrEnum
from typing import Any

import msgspec

from toolware._callables import display_name
from toolware.errors import InternalError, ToolwareError

__all__ = ["ResponseStream", "StreamEnd", "StreamOutcome"]

logger = logging.getLogger("toolware.streams")


class StreamOutcome(StrEnum):
    """How a stream ended."""

    COMPLETED = "completed"
    """The producer finished and the consumer read every chunk."""
    FAILED = "failed"
    """The iteration ended by raising a typed error (the producer failed, or a deadline passed)."""
    ABANDONED = "abandoned"
    """The consumer stopped early: closed the stream, was cancelled, or dropped it."""


class StreamEnd(msgspec.Struct, frozen=True, kw_only=True):
    """What an ``on_end`` observer is told, once per stream."""

    outcome: StreamOutcome
    chunks: int
    """Chunks delivered through the observed stream."""
    error: ToolwareError | None = None
    """The error the iteration raised, for ``failed``."""
    ended_at: float = 0.0
    """When it ended, on the stream's clock (the pipeline clock for streams a pipeline made)."""


def _no_clock() -> float:
    return 0.0


class StreamState:
    """How far a stream got and how it ended, shared by the stream and the async generator
    that makes its chunks (never the stream itself: a dropped stream is then collected at once,
    without waiting for the cycle collector). Internal to toolware's stream classes."""

    __slots__ = (
        "chunks",
        "ended_at",
        "error",
        "now",
        "observers",
        "on_finish",
        "outcome",
        "request_id",
        "target",
    )

    def __init__(
        self, request_id: str | None, target: str | None, now: Callable[[], float]
    ) -> None:
        self.request_id = request_id
        self.target = target
        self.now = now
        self.chunks = 0
        self.outcome: StreamOutcome | None = None
        self.error: ToolwareError | None = None
        self.ended_at = 0.0
        self.observers: list[tuple[Callable[[StreamEnd], object], str]] | None = None
        self.on_finish: Callable[[], object] | None = None  # e.g. a deadline's timer to cancel

    def finish(self, outcome: StreamOutcome, error: ToolwareError | None = None) -> None:
        """End the stream, once (later calls do nothing), and tell its observers."""
        if self.outcome is not None:
            return
        self.outcome = outcome
        self.error = error
        self.ended_at = self.now()
        on_finish = self.on_finish
        if on_finish is not None:
            self.on_finish = None
            on_finish()
        observers = self.observers
        if observers is not None:
            self.observers = None
            end = StreamEnd(
                outcome=outcome, chunks=self.chunks, error=error, ended_at=self.ended_at
            )
            for on_end, name in observers:
                _notify(on_end, end, name, self.target)

    def collected(self) -> None:
        """The stream was garbage collected while open: end as abandoned. The collector may
        run in the middle of any code of this thread, even inside a lock an observer takes (a
        statistics recorder's): on an event loop's thread, observers hear the end at the
        loop's next turn instead."""
        observers, self.observers = self.observers, None
        self.finish(StreamOutcome.ABANDONED)
        if observers is not None:
            end = StreamEnd(
                outcome=StreamOutcome.ABANDONED, chunks=self.chunks, ended_at=self.ended_at
            )
            for on_end, name in observers:
                _soon(functools.partial(_notify, on_end, end, name, self.target))

    def bind(self, error: ToolwareError) -> ToolwareError:
        """``error`` naming this stream's call, if it names none yet."""
        if error.request_id is None and self.request_id is not None:
            return error.bind(self.request_id, self.target or "")
        return error

    def crashed(self, exc: BaseException, name: str) -> InternalError:
        """The ``internal`` error for a wrapper whose own code raised ``exc`` (logged)."""
        logger.error(
            "stream.wrapper_crashed wrapper=%s target=%s request_id=%s error=%s",
            name,
            self.target,
            self.request_id,
            type(exc).__name__,
            exc_info=exc,
            extra={"wrapper": name, "target": self.target, "request_id": self.request_id},
        )
        error = InternalError(
            f"stream wrapper {name!r} raised {type(exc).__name__} after {self.chunks} chunk(s); "
            "the traceback is in the 'stream.wrapper_crashed' log record",
            interceptor=name,
            request_id=self.request_id,
            target=self.target,
        )
        error.__cause__ = exc
        return error


class ResponseStream:
    """An async iterator of one call's chunks; see the module docstring for the contract.

    Not built directly: a pipeline makes one for a streaming entry, :meth:`of` makes one from
    any iterable (a cached or synthetic answer), and the wrapping methods make one around
    another. ``chunks`` counts the chunks delivered so far; ``outcome`` is ``None`` while the
    stream is open.

    Inside, each stream is an async generator (its chunks) and a :class:`StreamState`: a pull
    is one resumption of that generator, which costs about half a coroutine call per layer.
    """

    __slots__ = ("__weakref__", "_gen", "_state")

    def __init__(self, state: StreamState, chunks: AsyncGenerator[Any, None]) -> None:
        self._state = state
        self._gen = chunks

    # -- what it is --------------------------------------------------------------------------

    @property
    def chunks(self) -> int:
        """Chunks delivered so far."""
        return self._state.chunks

    @property
    def outcome(self) -> StreamOutcome | None:
        """How the stream ended; ``None`` while it is open."""
        return self._state.outcome

    @property
    def error(self) -> ToolwareError | None:
        """The error that ended the stream (``failed``)."""
        return self._state.error

    @property
    def ended_at(self) -> float:
        """When it ended, on the stream's clock (0.0 while open)."""
        return self._state.ended_at

    @property
    def request_id(self) -> str | None:
        return self._state.request_id

    @property
    def target(self) -> str | None:
        return self._state.target

    @property
    def done(self) -> bool:
        """Whether the stream has ended (completed, failed or abandoned)."""
        return self._state.outcome is not None

    # -- iteration ---------------------------------------------------------------------------

    def __aiter__(self) -> ResponseStream:
        return self

    def __anext__(self) -> Awaitable[Any]:
        return self._gen.__anext__()

    async def aclose(self) -> None:
        """Stop early: end as ``abandoned`` (if still open) and close what this stream wraps,
        down to the handler's generator. Closing twice, or after the end, does nothing."""
        state = self._state
        outcome = state.outcome
        if outcome is not None and outcome is not StreamOutcome.ABANDONED:
            # Completed or failed: every layer below has ended too, and closed what it read.
            return
        state.finish(StreamOutcome.ABANDONED)
        await self._gen.aclose()
        await self._close_inner()

    async def __aenter__(self) -> ResponseStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- wrapping ----------------------------------------------------------------------------

    def map(self, function: Callable[[Any], Any], *, name: str | None = None) -> ResponseStream:
        """A stream of ``function(chunk)`` for each chunk."""
        from toolware._stream_layers import _Wrapped

        return _Wrapped(self, mapper=function, name=name or display_name(function))

    def filter(
        self, predicate: Callable[[Any], object], *, name: str | None = None
    ) -> ResponseStream:
        """A stream of the chunks for which ``predicate(chunk)`` is true."""
        from toolware._stream_layers import _Wrapped

        return _Wrapped(self, keep=predicate, name=name or display_name(predicate))

    def take(self, limit: int) -> ResponseStream:
        """At most ``limit`` chunks; reaching it closes this stream (the producer stops) and the
        wrapper ends as ``completed``."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"take() needs a whole number of chunks >= 1, got {limit!r}")
        from toolware._stream_layers import _Wrapped

        return _Wrapped(self, limit=limit, name="take")

    def observe(
        self,
        *,
        on_chunk: Callable[[Any], object] | None = None,
        on_end: Callable[[StreamEnd], object] | None = None,
        name: str | None = None,
    ) -> ResponseStream:
        """The same chunks; ``on_chunk(chunk)`` hears each one as it passes, ``on_end(end)``
        hears once how the stream ended (also when it is dropped unread). ``on_end`` must not
        raise (it may run during garbage collection); if it does, the error is logged."""
        if on_chunk is None and on_end is None:
            raise ValueError("observe() needs on_chunk=, on_end= or both")
        if on_end is not None and not callable(on_end):
            raise TypeError(f"on_end takes a function, got {type(on_end).__name__}")
        label = name or display_name(on_chunk if on_chunk is not None else on_end)
        stream = self
        if on_chunk is not None or self.done:
            from toolware._stream_layers import _Wrapped

            stream = _Wrapped(self, on_chunk=on_chunk, name=label)
        if on_end is not None:
            # Hearing the end needs no layer of its own (nothing to do per chunk): the
            # observer joins this stream's, and the chunks pass with no extra step.
            state = stream._state
            if state.observers is None:
                state.observers = []
            state.observers.append((on_end, label))
        return stream

    def through(
        self,
        transform: Callable[[AsyncIterator[Any]], AsyncIterator[Any]],
        *,
        name: str | None = None,
    ) -> ResponseStream:
        """A stream of what ``transform(chunks)`` yields: any async-generator function taking
        this stream (batch, window, rate-limit, merge). Closing the result closes both the
        transform's generator and this stream, whatever the transform does."""
        from toolware._stream_layers import _Through

        return _Through(self, transform, name=name or display_name(transform))

    @classmethod
    def of(
        cls,
        chunks: Iterable[Any] | AsyncIterator[Any],
        *,
        request_id: str | None = None,
        target: str | None = None,
        now: Callable[[], float] = _no_clock,
    ) -> ResponseStream:
        """A stream of ``chunks`` (a list, any iterable, or an async iterator, closed with the
        stream): for an interceptor that answers with a stream of its own (a cache replaying
        one, a fallback)."""
        from toolware._stream_layers import _IteratorStream

        return _IteratorStream(chunks, request_id=request_id, target=target, now=now)

    # -- for subclasses ----------------------------------------------------------------------

    async def _close_inner(self) -> None:
        """Release what the stream reads from (after its own generator is closed)."""

    def _dropped(self) -> None:
        """Garbage collected while open: release what can be released without awaiting."""

    def __del__(self) -> None:
        # An abandoned stream (dropped unread, or left by a `break`) still ends exactly once,
        # so observers (statistics) count it, and its producer is released. Its generator,
        # if started, is closed by the event loop's async-generator hooks.
        try:
            state = self._state
        except AttributeError:  # pragma: no cover - __init__ did not complete
            return
        if state.outcome is None:
            state.collected()
            self._dropped()

    def __repr__(self) -> str:
        state = self._state
        ended = "open" if state.outcome is None else state.outcome.value
        return f"<{type(self).__name__} {state.target!r} {ended}, {state.chunks} chunk(s)>"


def _notify(
    on_end: Callable[[StreamEnd], object], end: StreamEnd, name: str, target: str | None
) -> None:
    try:
        on_end(end)
    except Exception as exc:
        logger.error(
            "stream.observer_failed observer=%s target=%s error=%s",
            name,
            target,
            type(exc).__name__,
            exc_info=exc,
            extra={"observer": name, "target": target},
        )


def _soon(callback: Callable[[], object]) -> None:
    """Run ``callback`` at the running loop's next turn; at once with no loop running here."""
    try:
        asyncio.get_running_loop().call_soon_threadsafe(callback)
    except RuntimeError:  # no running loop in this thread, or it is closing
        callback()
