"""The stream layers behind :class:`~toolware.streams.ResponseStream`'s wrapping methods, and
the stream over a plain iterable (``ResponseStream.of``).

Each layer is a :class:`~toolware.streams.ResponseStream` whose chunks come from an async
generator reading the stream it wraps (:class:`Layer`): ``map``/``filter``/``take``/
``observe(on_chunk=)`` (:class:`_Wrapped`), ``through`` (:class:`_Through`). The contract they
keep is in :mod:`toolware.streams`. :func:`gather_chunks` reads a stream whole, for
``ResponseContext.collect()``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from toolware._callables import display_name
from toolware.errors import ResultTooLargeError, ToolwareError
from toolware.streams import ResponseStream, StreamOutcome, StreamState, logger

__all__ = ["Layer", "close_quietly", "gather_chunks", "log_close_failed"]


class Layer(ResponseStream):
    """A stream that reads another one and owns it."""

    __slots__ = ("_inner", "name")

    def __init__(
        self,
        inner: ResponseStream,
        chunks: Callable[[ResponseStream, StreamState], AsyncGenerator[Any, None]],
        *,
        name: str,
    ) -> None:
        if not isinstance(inner, ResponseStream):
            raise TypeError(
                f"a stream wrapper needs a ResponseStream, got {type(inner).__name__}; "
                "use ResponseStream.of(iterable) to make one"
            )
        inner_state = inner._state
        state = StreamState(inner_state.request_id, inner_state.target, inner_state.now)
        super().__init__(state, chunks(inner, state))
        self._inner = inner
        self.name = name

    async def _close_inner(self) -> None:
        await self._inner.aclose()


class _Wrapped(Layer):
    """map / filter / take / observe(on_chunk): synchronous code per chunk."""

    __slots__ = ()

    def __init__(
        self,
        inner: ResponseStream,
        *,
        name: str,
        mapper: Callable[[Any], Any] | None = None,
        keep: Callable[[Any], object] | None = None,
        limit: int | None = None,
        on_chunk: Callable[[Any], object] | None = None,
    ) -> None:
        for label, function in (("map", mapper), ("filter", keep), ("on_chunk", on_chunk)):
            if function is not None and not callable(function):
                raise TypeError(f"{label} takes a function, got {type(function).__name__}")
        super().__init__(
            inner,
            functools.partial(
                _wrapped_chunks, name=name, mapper=mapper, keep=keep, limit=limit, on_chunk=on_chunk
            ),
            name=name,
        )


async def _wrapped_chunks(
    inner: ResponseStream,
    state: StreamState,
    *,
    name: str,
    mapper: Callable[[Any], Any] | None,
    keep: Callable[[Any], object] | None,
    limit: int | None,
    on_chunk: Callable[[Any], object] | None,
) -> AsyncGenerator[Any, None]:
    pull = inner._gen.__anext__
    while True:
        try:
            chunk = await pull()
            if keep is not None:
                while not keep(chunk):
                    chunk = await pull()
            if mapper is not None:
                chunk = mapper(chunk)
            if on_chunk is not None:
                on_chunk(chunk)
        except StopAsyncIteration:
            state.finish(StreamOutcome.COMPLETED)
            return
        except ToolwareError as error:
            error = state.bind(error)
            state.finish(StreamOutcome.FAILED, error)
            raise error from error.__cause__
        except asyncio.CancelledError:
            state.finish(StreamOutcome.ABANDONED)
            raise
        except Exception as exc:
            # This wrapper's own code failed; the stream it reads is still open.
            failure = state.crashed(exc, name)
            state.finish(StreamOutcome.FAILED, failure)
            await inner.aclose()
            raise failure from exc
        state.chunks += 1
        if limit is not None and state.chunks >= limit:
            # The last chunk wanted: stop the producer now rather than at the next pull.
            state.finish(StreamOutcome.COMPLETED)
            await inner.aclose()
            yield chunk
            return
        yield chunk


class _IteratorStream(ResponseStream):
    """A stream over a plain iterable or an async iterator."""

    __slots__ = ("_iterator",)

    def __init__(
        self,
        chunks: Iterable[Any] | AsyncIterator[Any],
        *,
        request_id: str | None,
        target: str | None,
        now: Callable[[], float],
    ) -> None:
        if hasattr(chunks, "__anext__"):
            iterator: Any = chunks
            is_async = True
        elif isinstance(chunks, Iterable) and not isinstance(chunks, str | bytes):
            iterator = iter(chunks)
            is_async = False
        else:
            raise TypeError(
                f"ResponseStream.of() takes an iterable of chunks or an async iterator, got "
                f"{type(chunks).__name__}"
            )
        state = StreamState(request_id, target, now)
        super().__init__(state, _iterated_chunks(iterator, is_async, state))
        self._iterator = iterator

    async def _close_inner(self) -> None:
        iterator = self._iterator
        close = getattr(iterator, "aclose", None)
        if close is not None and hasattr(iterator, "__anext__"):
            await close_quietly(close, self._state)
            return
        sync_close = getattr(iterator, "close", None)
        if sync_close is not None and not hasattr(iterator, "__anext__"):
            sync_close()


async def _iterated_chunks(
    iterator: Any, is_async: bool, state: StreamState
) -> AsyncGenerator[Any, None]:
    while True:
        try:
            chunk = await iterator.__anext__() if is_async else next(iterator)
        except (StopAsyncIteration, StopIteration):
            state.finish(StreamOutcome.COMPLETED)
            return
        except ToolwareError as error:
            error = state.bind(error)
            state.finish(StreamOutcome.FAILED, error)
            raise error from error.__cause__
        except asyncio.CancelledError:
            state.finish(StreamOutcome.ABANDONED)
            raise
        except Exception as exc:
            failure = state.crashed(exc, display_name(iterator))
            state.finish(StreamOutcome.FAILED, failure)
            raise failure from exc
        state.chunks += 1
        yield chunk


class _Through(Layer):
    """A stream of what an async-generator transform of the inner stream yields."""

    __slots__ = ("_transformed",)

    def __init__(
        self,
        inner: ResponseStream,
        transform: Callable[[AsyncIterator[Any]], AsyncIterator[Any]],
        *,
        name: str,
    ) -> None:
        if not callable(transform):
            raise TypeError(
                f"through() takes an async-generator function, got {type(transform).__name__}"
            )
        transformed = transform(inner)
        if not hasattr(transformed, "__anext__"):
            raise TypeError(
                f"through({name}) must return an async iterator (write it as 'async def' with "
                f"'yield'), got {type(transformed).__name__}"
            )
        super().__init__(
            inner,
            functools.partial(_through_chunks, transformed=transformed, name=name),
            name=name,
        )
        self._transformed: AsyncIterator[Any] = transformed

    async def _close_inner(self) -> None:
        close = getattr(self._transformed, "aclose", None)
        if close is not None:
            await close_quietly(close, self._state)
        await self._inner.aclose()


async def _through_chunks(
    inner: ResponseStream, state: StreamState, *, transformed: AsyncIterator[Any], name: str
) -> AsyncGenerator[Any, None]:
    pull = transformed.__anext__
    while True:
        try:
            chunk = await pull()
        except StopAsyncIteration:
            state.finish(StreamOutcome.COMPLETED)
            await inner.aclose()  # the transform may have stopped before its input did
            return
        except ToolwareError as error:
            error = state.bind(error)
            state.finish(StreamOutcome.FAILED, error)
            await inner.aclose()
            raise error from error.__cause__
        except asyncio.CancelledError:
            state.finish(StreamOutcome.ABANDONED)
            raise
        except Exception as exc:
            failure = state.crashed(exc, name)
            state.finish(StreamOutcome.FAILED, failure)
            await inner.aclose()
            raise failure from exc
        state.chunks += 1
        yield chunk


async def close_quietly(close: Callable[[], Awaitable[object]], state: StreamState) -> None:
    """Close a generator; what it raises while closing is logged, not raised: the consumer is
    leaving, and the stream has already ended."""
    try:
        await close()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log_close_failed(state, exc)


def log_close_failed(stream: StreamState, exc: BaseException) -> None:
    logger.warning(
        "stream.close_failed target=%s request_id=%s error=%s: the producer raised while "
        "being closed; let GeneratorExit through and do not yield from 'finally'",
        stream.target,
        stream.request_id,
        type(exc).__name__,
        exc_info=exc,
        extra={"target": stream.target, "request_id": stream.request_id},
    )


async def gather_chunks(
    stream: ResponseStream, max_chunks: int
) -> tuple[list[Any], ToolwareError | None]:
    """Read ``stream`` to its end and close it: its chunks, and the error that ended it (or
    :class:`~toolware.errors.ResultTooLargeError` past ``max_chunks``). What
    ``ResponseContext.collect()`` is made of."""
    chunks: list[Any] = []
    try:
        async with stream:
            async for chunk in stream:
                if len(chunks) >= max_chunks:
                    raise ResultTooLargeError(
                        f"the stream of {stream.target!r} has more than {max_chunks} chunks, "
                        "the most collect() gathers",
                        limit=max_chunks,
                        request_id=stream.request_id,
                        target=stream.target,
                    )
                chunks.append(chunk)
    except ToolwareError as error:
        return chunks, error
    return chunks, None
