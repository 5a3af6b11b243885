"""Read-ahead for a streaming entry (its ``read_ahead`` option): one background task fetches up
to N chunks before the consumer asks for them, for producers whose latency should overlap the
consumer's work. The task never holds the stream object, so a dropped stream is collected at
once and its collection stops the task (which then closes the producer).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator
from typing import Any

from toolware.errors import ToolwareError
from toolware.streams import ResponseStream, StreamOutcome, StreamState

__all__ = ["ReadAheadStream"]


class _Buffer:
    """Chunks fetched ahead, and the two sides' wake-ups. Shared by the reader task and the
    stream, never holding the stream (so a dropped stream is collected and stops the task)."""

    __slots__ = ("end", "items", "ready", "space", "wanted")

    def __init__(self, wanted: int) -> None:
        self.items: deque[Any] = deque()
        self.wanted = wanted
        self.end: BaseException | None = None  # StopAsyncIteration or the error, once read
        self.ready: asyncio.Future[None] | None = None  # the consumer waits for a chunk
        self.space: asyncio.Future[None] | None = None  # the reader waits for room

    def wake(self, which: asyncio.Future[None] | None) -> None:
        if which is not None and not which.done():
            which.set_result(None)


async def _read_ahead(inner: ResponseStream, buffer: _Buffer) -> None:
    """The reader task: keep up to ``buffer.wanted`` chunks ready; close ``inner`` when done."""
    loop = asyncio.get_running_loop()
    pull = inner.__anext__
    try:
        while True:
            while len(buffer.items) >= buffer.wanted:
                buffer.space = loop.create_future()
                await buffer.space
            try:
                chunk = await pull()
            except (StopAsyncIteration, ToolwareError) as end:
                buffer.end = end
                return
            buffer.items.append(chunk)
            buffer.wake(buffer.ready)
    finally:
        if buffer.end is None:
            buffer.end = StopAsyncIteration()
        buffer.wake(buffer.ready)
        await inner.aclose()  # a no-op for a stream that ended by itself


class ReadAheadStream(ResponseStream):
    """Up to ``read_ahead`` chunks fetched by a background task before they are asked for."""

    __slots__ = ("_task",)

    def __init__(self, inner: ResponseStream, read_ahead: int) -> None:
        buffer = _Buffer(read_ahead)
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(
            _read_ahead(inner, buffer), name=f"toolware-read-ahead {inner.target}"
        )
        state = StreamState(inner.request_id, inner.target, inner._state.now)
        super().__init__(state, _buffered_chunks(buffer, state, task))
        self._task = task  # which holds the inner stream, and closes it when it ends

    async def _close_inner(self) -> None:
        task = self._task
        if not task.done():
            task.cancel()
            # The task closes the producer; wait for it, so aclose() returns after the
            # handler's finally blocks ran (as it does without read-ahead).
            await asyncio.wait((task,))

    def _dropped(self) -> None:
        # Collection may happen on any thread; Task.cancel() belongs on its loop's thread.
        task = self._task
        with contextlib.suppress(RuntimeError):  # the loop is closed: the task is gone too
            task.get_loop().call_soon_threadsafe(task.cancel)


async def _buffered_chunks(
    buffer: _Buffer, state: StreamState, task: asyncio.Task[None]
) -> AsyncGenerator[Any, None]:
    loop = asyncio.get_running_loop()
    while True:
        try:
            while not buffer.items:
                end = buffer.end
                if end is not None:
                    if isinstance(end, ToolwareError):
                        state.finish(StreamOutcome.FAILED, end)
                        raise end
                    state.finish(StreamOutcome.COMPLETED)
                    return
                buffer.ready = loop.create_future()
                await buffer.ready
        except asyncio.CancelledError:
            state.finish(StreamOutcome.ABANDONED)
            task.cancel()
            raise
        chunk = buffer.items.popleft()
        buffer.wake(buffer.space)
        state.chunks += 1
        yield chunk
