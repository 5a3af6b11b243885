"""Tests for toolware.streams: the stream contract and the wrapping helpers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from toolware import (
    ErrorCategory,
    InternalError,
    ResponseStream,
    StreamEnd,
    StreamOutcome,
    ToolFailedError,
)
from toolware._stream_layers import Layer, _Wrapped


class Producer:
    """An async generator source that records what it produced and whether it was closed."""

    def __init__(self, chunks: list[Any], *, fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.produced: list[Any] = []
        self.closed = 0

    async def run(self) -> AsyncIterator[Any]:
        try:
            for index, chunk in enumerate(self.chunks):
                if self.fail_after is not None and index == self.fail_after:
                    raise ToolFailedError("source broke")
                self.produced.append(chunk)
                yield chunk
        finally:
            self.closed += 1

    def stream(self) -> ResponseStream:
        return ResponseStream.of(self.run(), request_id="r1", target="src")


async def read(stream: ResponseStream) -> list[Any]:
    return [chunk async for chunk in stream]


async def test_of_a_list_yields_its_chunks_and_completes() -> None:
    """A stream over a list gives each item in order, then ends completed."""
    stream = ResponseStream.of([1, 2, 3], request_id="r", target="t")
    assert await read(stream) == [1, 2, 3]
    assert stream.outcome is StreamOutcome.COMPLETED
    assert stream.chunks == 3
    assert stream.done
    assert await read(stream) == []  # ended: iterating again gives nothing


async def test_of_refuses_what_is_not_iterable() -> None:
    """Strings, bytes and non-iterables are refused with a message naming the type."""
    for bad in ("text", b"bytes", 3):
        with pytest.raises(TypeError, match=type(bad).__name__):
            ResponseStream.of(bad)  # type: ignore[arg-type]


async def test_map_filter_take_compose_in_order() -> None:
    """Wrappers apply in the order they were added."""
    source = Producer(list(range(10)))
    stream = source.stream().filter(lambda n: n % 2 == 0).map(lambda n: n * 10).take(3)
    assert await read(stream) == [0, 20, 40]
    assert stream.outcome is StreamOutcome.COMPLETED
    # take() closed the producer at its limit, without pulling a fourth even chunk.
    assert source.produced == [0, 1, 2, 3, 4]
    assert source.closed == 1


async def test_take_refuses_a_bad_limit() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="take"):
            ResponseStream.of([1]).take(bad)  # type: ignore[arg-type]


async def test_take_of_a_shorter_stream_completes_normally() -> None:
    stream = ResponseStream.of([1, 2]).take(5)
    assert await read(stream) == [1, 2]
    assert stream.outcome is StreamOutcome.COMPLETED


async def test_observe_hears_each_chunk_and_the_end_once() -> None:
    """on_chunk hears every chunk delivered; on_end hears once, with the count."""
    seen: list[Any] = []
    ends: list[StreamEnd] = []
    stream = ResponseStream.of(["a", "b"], now=lambda: 7.0).observe(
        on_chunk=seen.append, on_end=ends.append
    )
    assert await read(stream) == ["a", "b"]
    await stream.aclose()  # after the end: nothing more is reported
    assert seen == ["a", "b"]
    assert ends == [StreamEnd(outcome=StreamOutcome.COMPLETED, chunks=2, ended_at=7.0)]


async def test_observe_needs_a_callback_and_callables() -> None:
    with pytest.raises(ValueError, match="on_chunk=, on_end="):
        ResponseStream.of([1]).observe()
    with pytest.raises(TypeError, match="on_end takes a function"):
        ResponseStream.of([1]).observe(on_end=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="map takes a function"):
        ResponseStream.of([1]).map("x")  # type: ignore[arg-type]


async def test_a_failure_mid_stream_raises_the_typed_error_bound_to_the_call() -> None:
    """The error a source raises reaches the consumer typed, with the call's id and target;
    every layer ends failed, and observers hear the error."""
    ends: list[StreamEnd] = []
    source = Producer([1, 2, 3], fail_after=2)
    stream = source.stream().map(str).observe(on_end=ends.append)
    received: list[Any] = []

    async def consume() -> None:
        async for chunk in stream:
            received.append(chunk)

    with pytest.raises(ToolFailedError) as caught:
        await consume()
    assert received == ["1", "2"]
    error = caught.value
    assert (error.request_id, error.target, error.category) == ("r1", "src", "tool_failed")
    assert stream.outcome is StreamOutcome.FAILED
    assert stream.error is error
    assert [(e.outcome, e.chunks, e.error) for e in ends] == [(StreamOutcome.FAILED, 2, error)]
    assert source.closed == 1
    assert await read(stream) == []


async def test_a_crashing_wrapper_becomes_internal_and_closes_the_source(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Code in a wrapper that raises is an internal error naming the wrapper; the stream it
    reads is closed (the producer's finally runs)."""

    def explode(chunk: int) -> int:
        if chunk == 2:
            raise KeyError("secret-ish detail")
        return chunk

    source = Producer([1, 2, 3])
    stream = source.stream().map(explode, name="redact")
    with (
        caplog.at_level(logging.ERROR, logger="toolware.streams"),
        pytest.raises(InternalError) as caught,
    ):
        await read(stream)
    error = caught.value
    assert error.interceptor == "redact"
    assert error.category is ErrorCategory.INTERNAL
    assert (error.request_id, error.target) == ("r1", "src")
    assert "KeyError" in error.message
    assert "after 1 chunk" in error.message
    assert "secret-ish" not in error.message
    assert isinstance(error.__cause__, KeyError)
    assert source.closed == 1
    assert any(r.message.startswith("stream.wrapper_crashed") for r in caplog.records)


async def test_a_plain_exception_from_an_iterator_becomes_internal() -> None:
    async def broken() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("boom")

    stream = ResponseStream.of(broken(), target="t")
    with pytest.raises(InternalError, match="RuntimeError after 1 chunk"):
        await read(stream)
    assert stream.outcome is StreamOutcome.FAILED


async def test_closing_the_outer_closes_every_layer_down_to_the_producer() -> None:
    """aclose() on the outermost wrapper ends each layer abandoned and runs the producer's
    finally; closing again does nothing."""
    ends: list[StreamOutcome] = []
    source = Producer([1, 2, 3])
    inner = source.stream()
    middle = inner.observe(on_end=lambda end: ends.append(end.outcome))
    outer = middle.map(lambda n: n)
    assert await outer.__anext__() == 1
    await outer.aclose()
    await outer.aclose()
    assert (outer.outcome, middle.outcome, inner.outcome) == (StreamOutcome.ABANDONED,) * 3
    assert ends == [StreamOutcome.ABANDONED]
    assert source.closed == 1
    assert source.produced == [1]


async def test_async_with_closes_the_stream() -> None:
    source = Producer([1, 2, 3])
    async with source.stream() as chunks:
        async for chunk in chunks:
            assert chunk == 1
            break
    assert source.closed == 1


async def test_a_dropped_stream_ends_abandoned_for_its_observers() -> None:
    """Garbage collection of an unread stream reports it abandoned, once; on the loop's
    thread at the loop's next turn, never from inside whatever code the collector
    interrupted (an observer's own lock, say)."""
    ends: list[StreamEnd] = []
    stream = ResponseStream.of([1, 2]).observe(on_end=ends.append)
    assert await stream.__anext__() == 1
    del stream
    gc.collect()
    assert ends == []
    await asyncio.sleep(0)
    assert [(e.outcome, e.chunks) for e in ends] == [(StreamOutcome.ABANDONED, 1)]


def test_a_stream_dropped_outside_a_loop_is_reported_at_once() -> None:
    ends: list[StreamEnd] = []
    stream = ResponseStream.of([1, 2]).observe(on_end=ends.append)
    del stream
    gc.collect()
    assert [(e.outcome, e.chunks) for e in ends] == [(StreamOutcome.ABANDONED, 0)]


async def test_a_failing_observer_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def bad_end(end: StreamEnd) -> None:
        raise ValueError("observer bug")

    stream = ResponseStream.of([1]).observe(on_end=bad_end, name="meter")
    with caplog.at_level(logging.ERROR, logger="toolware.streams"):
        assert await read(stream) == [1]
    assert stream.outcome is StreamOutcome.COMPLETED
    assert [r.message.split()[0] for r in caplog.records] == ["stream.observer_failed"]
    assert "observer=meter" in caplog.records[0].message


async def test_through_runs_an_async_generator_transform() -> None:
    """through() wraps any async-generator function; its result closes both generators."""

    async def pairs(chunks: AsyncIterator[int]) -> AsyncIterator[tuple[int, int]]:
        pending: list[int] = []
        async for chunk in chunks:
            pending.append(chunk)
            if len(pending) == 2:
                yield (pending[0], pending[1])
                pending = []

    source = Producer([1, 2, 3, 4, 5])
    stream = source.stream().through(pairs)
    assert await read(stream) == [(1, 2), (3, 4)]
    assert stream.outcome is StreamOutcome.COMPLETED
    assert source.closed == 1


async def test_through_closed_early_closes_the_transform_and_the_source() -> None:
    transform_closed: list[bool] = []

    async def first_only(chunks: AsyncIterator[int]) -> AsyncIterator[int]:
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            transform_closed.append(True)

    source = Producer([1, 2, 3])
    stream = source.stream().through(first_only)
    assert await stream.__anext__() == 1
    await stream.aclose()
    assert transform_closed == [True]
    assert source.closed == 1
    assert stream.outcome is StreamOutcome.ABANDONED


async def test_through_that_stops_early_closes_its_source() -> None:
    """A transform that returns before its input ended still releases the producer."""

    async def first(chunks: AsyncIterator[int]) -> AsyncIterator[int]:
        async for chunk in chunks:
            yield chunk
            return

    source = Producer([1, 2, 3])
    stream = source.stream().through(first)
    assert await read(stream) == [1]
    assert source.closed == 1


async def test_through_passes_typed_errors_and_converts_crashes() -> None:
    async def same(chunks: AsyncIterator[int]) -> AsyncIterator[int]:
        async for chunk in chunks:
            yield chunk

    failing = Producer([1, 2], fail_after=1).stream().through(same)
    with pytest.raises(ToolFailedError, match="source broke"):
        await read(failing)
    assert failing.outcome is StreamOutcome.FAILED

    async def crash(chunks: AsyncIterator[int]) -> AsyncIterator[int]:
        async for _ in chunks:
            raise LookupError("bug")
            yield 0  # pragma: no cover - makes this an async generator

    source = Producer([1, 2])
    crashing = source.stream().through(crash, name="batcher")
    with pytest.raises(InternalError) as caught:
        await read(crashing)
    assert caught.value.interceptor == "batcher"
    assert source.closed == 1


async def test_through_refuses_a_transform_that_is_not_an_async_generator() -> None:
    def not_async(chunks: Any) -> list[int]:
        return [1]

    with pytest.raises(TypeError, match="must return an async iterator"):
        ResponseStream.of([1]).through(not_async)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="async-generator function"):
        ResponseStream.of([1]).through(3)  # type: ignore[arg-type]


async def test_a_wrapper_needs_a_response_stream() -> None:
    from toolware._stream_layers import _Wrapped

    with pytest.raises(TypeError, match=r"ResponseStream\.of"):
        _Wrapped([1, 2], name="x")  # type: ignore[arg-type]


async def test_cancellation_of_the_consumer_abandons_every_layer() -> None:
    """Cancelling the task that reads ends the stream abandoned, and the producer closes."""
    started = asyncio.Event()
    closed: list[bool] = []

    async def slow() -> AsyncIterator[int]:
        try:
            yield 1
            started.set()
            await asyncio.sleep(3600)
            yield 2  # pragma: no cover - cancelled before
        finally:
            closed.append(True)

    ends: list[StreamOutcome] = []
    stream = ResponseStream.of(slow()).observe(on_end=lambda end: ends.append(end.outcome))

    async def consume() -> list[int]:
        return await read(stream)

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ends == [StreamOutcome.ABANDONED]
    assert closed == [True]


async def test_a_producer_that_raises_while_closing_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def stubborn() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2  # pragma: no cover - closed before
        finally:
            raise OSError("cannot close")

    stream = ResponseStream.of(stubborn(), target="t")
    assert await stream.__anext__() == 1
    with caplog.at_level(logging.WARNING, logger="toolware.streams"):
        await stream.aclose()
    assert stream.outcome is StreamOutcome.ABANDONED
    assert [r.message.split()[0] for r in caplog.records] == ["stream.close_failed"]


async def test_a_sync_iterator_with_close_is_closed() -> None:
    closed: list[bool] = []

    def numbers() -> Any:
        try:
            yield 1
            yield 2  # pragma: no cover - closed before
        finally:
            closed.append(True)

    stream = ResponseStream.of(numbers())
    assert await stream.__anext__() == 1
    await stream.aclose()
    assert closed == [True]


async def test_repr_says_what_and_how_far() -> None:
    stream = ResponseStream.of([1, 2], target="report")
    assert repr(stream) == "<_IteratorStream 'report' open, 0 chunk(s)>"
    await read(stream)
    assert repr(stream) == "<_IteratorStream 'report' completed, 2 chunk(s)>"


# -- exact names, messages, log records and ends (mutation testing) ----------------------------


def explode_on_two(chunk: int) -> int:
    if chunk == 2:
        raise KeyError("secret-ish detail")
    return chunk


def keep_until_two(chunk: int) -> bool:
    if chunk == 2:
        raise KeyError("predicate bug")
    return True


def watch_until_two(chunk: int) -> None:
    if chunk == 2:
        raise KeyError("on_chunk bug")


def end_observer_bug(end: StreamEnd) -> None:
    raise ValueError("observer bug")


async def crash_transform(chunks: AsyncIterator[int]) -> AsyncIterator[int]:
    async for chunk in chunks:
        yield chunk
        raise LookupError("bug")


async def same_chunks(chunks: AsyncIterator[int]) -> AsyncIterator[int]:
    async for chunk in chunks:
        yield chunk


async def broken_source() -> AsyncIterator[int]:
    yield 1
    raise RuntimeError("boom")


def layer_name(stream: ResponseStream) -> str:
    assert isinstance(stream, Layer)
    return stream.name


def test_a_stream_without_a_clock_ends_at_zero() -> None:
    """ResponseStream.of() without now= stamps its end 0.0."""

    async def run() -> StreamEnd:
        ends: list[StreamEnd] = []
        stream = ResponseStream.of([1]).observe(on_end=ends.append)
        assert await read(stream) == [1]
        assert stream.ended_at == 0.0
        return ends[0]

    assert asyncio.run(run()) == StreamEnd(outcome=StreamOutcome.COMPLETED, chunks=1)


async def test_a_crashing_wrapper_logs_one_record_with_its_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """stream.wrapper_crashed: the wrapper, target, request id and exception type, the
    traceback, and the same fields as extras; the error message points at that record."""
    source = Producer([1, 2, 3])
    stream = source.stream().map(explode_on_two, name="redact")
    with (
        caplog.at_level(logging.ERROR, logger="toolware.streams"),
        pytest.raises(InternalError) as caught,
    ):
        await read(stream)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        "stream.wrapper_crashed wrapper=redact target=src request_id=r1 error=KeyError"
    )
    assert (record.wrapper, record.target, record.request_id) == ("redact", "src", "r1")
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], KeyError)
    assert record.exc_info[1] is caught.value.__cause__
    assert caught.value.message == (
        "stream wrapper 'redact' raised KeyError after 1 chunk(s); "
        "the traceback is in the 'stream.wrapper_crashed' log record"
    )


async def test_a_crashing_wrapper_ends_failed_with_its_error_for_observers() -> None:
    """The wrapper's end is failed, with the internal error, once."""
    ends: list[StreamEnd] = []
    stream = Producer([1, 2, 3]).stream().map(explode_on_two).observe(on_end=ends.append)
    with pytest.raises(InternalError) as caught:
        await read(stream)
    assert stream.outcome is StreamOutcome.FAILED
    assert stream.error is caught.value
    assert ends == [StreamEnd(outcome=StreamOutcome.FAILED, chunks=1, error=caught.value)]


async def test_wrappers_are_named_after_their_function_unless_named() -> None:
    """map, filter, observe(on_chunk) and through take the function's name by default."""
    cases = [
        (lambda s: s.map(explode_on_two), "explode_on_two"),
        (lambda s: s.filter(keep_until_two), "keep_until_two"),
        (lambda s: s.filter(keep_until_two, name="evens"), "evens"),
        (lambda s: s.observe(on_chunk=watch_until_two, on_end=end_observer_bug), "watch_until_two"),
        (lambda s: s.through(crash_transform), "crash_transform"),
    ]
    for wrap, name in cases:
        stream = wrap(ResponseStream.of([1, 2, 3]))
        assert layer_name(stream) == name
        with pytest.raises(InternalError) as caught:
            await read(stream)
        assert caught.value.interceptor == name
    assert layer_name(ResponseStream.of([1]).map(str, name="text")) == "text"
    assert layer_name(ResponseStream.of([1]).take(2)) == "take"
    assert layer_name(ResponseStream.of([1]).through(same_chunks, name="copy")) == "copy"


async def test_an_end_observer_is_named_after_its_function(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """observe(on_end=f) alone is labelled f in stream.observer_failed."""
    stream = ResponseStream.of([1], target="t").observe(on_end=end_observer_bug)
    with caplog.at_level(logging.ERROR, logger="toolware.streams"):
        assert await read(stream) == [1]
    assert [r.getMessage() for r in caplog.records] == [
        "stream.observer_failed observer=end_observer_bug target=t error=ValueError"
    ]


async def test_a_failing_observer_logs_its_fields(caplog: pytest.LogCaptureFixture) -> None:
    """stream.observer_failed: observer, target and exception type, the traceback, extras."""
    stream = ResponseStream.of([1], target="t").observe(on_end=end_observer_bug, name="meter")
    with caplog.at_level(logging.ERROR, logger="toolware.streams"):
        await read(stream)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "stream.observer_failed observer=meter target=t error=ValueError"
    assert (record.observer, record.target) == ("meter", "t")
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


async def test_take_of_one_gives_one_chunk_and_closes_the_producer() -> None:
    source = Producer([1, 2, 3])
    stream = source.stream().take(1)
    assert await read(stream) == [1]
    assert stream.outcome is StreamOutcome.COMPLETED
    assert source.produced == [1]
    assert source.closed == 1


async def test_refusals_name_the_option_and_the_type() -> None:
    """Each refusal says exactly what was wrong and, where useful, what to do."""
    source = ResponseStream.of([1])
    refusals: list[tuple[Any, type[Exception], str]] = [
        (lambda: source.observe(), ValueError, "observe() needs on_chunk=, on_end= or both"),
        (lambda: source.observe(on_end=3), TypeError, "on_end takes a function, got int"),
        (lambda: source.map("x"), TypeError, "map takes a function, got str"),
        (lambda: source.filter("x"), TypeError, "filter takes a function, got str"),
        (lambda: source.observe(on_chunk=3), TypeError, "on_chunk takes a function, got int"),
        (
            lambda: _Wrapped([1, 2], name="x"),
            TypeError,
            "a stream wrapper needs a ResponseStream, got list; "
            "use ResponseStream.of(iterable) to make one",
        ),
        (
            lambda: source.through(3),
            TypeError,
            "through() takes an async-generator function, got int",
        ),
        (
            lambda: source.through(lambda chunks: [1], name="listing"),
            TypeError,
            "through(listing) must return an async iterator (write it as 'async def' with "
            "'yield'), got list",
        ),
    ]
    for make, kind, message in refusals:
        with pytest.raises(kind) as caught:
            make()
        assert str(caught.value) == message


async def test_a_source_error_naming_another_call_is_not_rebound() -> None:
    """An error that already names a call keeps its id and target."""

    async def relayed() -> AsyncIterator[int]:
        yield 1
        raise ToolFailedError("upstream", request_id="other", target="elsewhere")

    stream = ResponseStream.of(relayed(), request_id="r1", target="src")
    with pytest.raises(ToolFailedError) as caught:
        await read(stream)
    assert (caught.value.request_id, caught.value.target) == ("other", "elsewhere")


async def test_a_source_error_is_bound_only_when_the_stream_names_a_call() -> None:
    """Without a request id the error is left unbound; with one and no target, the target
    is empty."""

    async def failing() -> AsyncIterator[int]:
        yield 1
        raise ToolFailedError("broke")

    with pytest.raises(ToolFailedError) as unbound:
        await read(ResponseStream.of(failing()))
    assert (unbound.value.request_id, unbound.value.target) == (None, None)
    with pytest.raises(ToolFailedError) as bound:
        await read(ResponseStream.of(failing(), request_id="r"))
    assert (bound.value.request_id, bound.value.target) == ("r", "")


async def test_a_source_failure_ends_the_source_stream_failed() -> None:
    """Typed errors and crashes of the iterated source end its own stream failed, with the
    error, and observers hear it; a crash is named after the source."""

    async def failing() -> AsyncIterator[int]:
        yield 1
        raise ToolFailedError("broke")

    ends: list[StreamEnd] = []
    stream = ResponseStream.of(failing(), now=lambda: 4.0).observe(on_end=ends.append)
    with pytest.raises(ToolFailedError) as caught:
        await read(stream)
    assert (stream.outcome, stream.error) == (StreamOutcome.FAILED, caught.value)
    assert ends == [
        StreamEnd(outcome=StreamOutcome.FAILED, chunks=1, error=caught.value, ended_at=4.0)
    ]

    crashing = ResponseStream.of(broken_source(), target="t")
    with pytest.raises(InternalError) as crash:
        await read(crashing)
    assert crash.value.interceptor == "broken_source"
    assert (crashing.outcome, crashing.error) == (StreamOutcome.FAILED, crash.value)


async def test_closing_a_list_stream_early_abandons_it() -> None:
    """A list's iterator has no close(): closing early just ends the stream."""
    stream = ResponseStream.of([1, 2, 3])
    assert await stream.__anext__() == 1
    await stream.aclose()
    assert stream.outcome is StreamOutcome.ABANDONED


class Ticker:
    """An async iterator with no aclose(), only an unrelated synchronous close()."""

    def __init__(self) -> None:
        self.closed = 0

    def __aiter__(self) -> Ticker:
        return self

    async def __anext__(self) -> int:
        return 1

    def close(self) -> None:  # pragma: no cover - must not be called
        self.closed += 1


async def test_an_async_iterator_without_aclose_is_left_alone_on_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only an async iterator's aclose() is awaited; a sync close() on it is not called, and
    nothing is logged."""
    ticker = Ticker()
    stream = ResponseStream.of(ticker)
    assert await stream.__anext__() == 1
    with caplog.at_level(logging.DEBUG, logger="toolware.streams"):
        await stream.aclose()
    assert stream.outcome is StreamOutcome.ABANDONED
    assert ticker.closed == 0
    assert caplog.records == []


async def test_a_producer_that_raises_while_closing_logs_its_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """stream.close_failed: target, request id, exception type and the fix; extras and the
    traceback."""

    async def stubborn() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2  # pragma: no cover - closed before
        finally:
            raise OSError("cannot close")

    stream = ResponseStream.of(stubborn(), request_id="r", target="t")
    assert await stream.__anext__() == 1
    with caplog.at_level(logging.WARNING, logger="toolware.streams"):
        await stream.aclose()
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "stream.close_failed target=t request_id=r error=OSError: the producer raised while "
        "being closed; let GeneratorExit through and do not yield from 'finally'"
    )
    assert (record.target, record.request_id) == ("t", "r")
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], OSError)


async def test_a_transform_that_raises_while_closing_is_logged_and_the_source_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def stubborn(chunks: AsyncIterator[int]) -> AsyncIterator[int]:
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            raise OSError("cannot close")

    source = Producer([1, 2, 3])
    stream = source.stream().through(stubborn)
    assert await stream.__anext__() == 1
    with caplog.at_level(logging.WARNING, logger="toolware.streams"):
        await stream.aclose()
    assert [r.getMessage().split()[:3] for r in caplog.records] == [
        ["stream.close_failed", "target=src", "request_id=r1"]
    ]
    assert source.closed == 1


class Repeater:
    """An async iterator object (not a generator): no aclose()."""

    def __init__(self, chunks: AsyncIterator[int]) -> None:
        self.chunks = chunks

    def __aiter__(self) -> Repeater:
        return self

    async def __anext__(self) -> int:
        return await self.chunks.__anext__()


async def test_a_transform_without_aclose_closes_its_source() -> None:
    source = Producer([1, 2, 3])
    stream = source.stream().through(Repeater)
    assert await stream.__anext__() == 1
    await stream.aclose()
    assert stream.outcome is StreamOutcome.ABANDONED
    assert source.closed == 1


async def test_through_counts_its_chunks_and_ends_failed_with_the_error() -> None:
    """through()'s stream counts what it delivered; a typed error or a crash ends it
    failed with that error, heard once by observers."""
    ends: list[StreamEnd] = []
    stream = ResponseStream.of([1, 2, 3]).through(same_chunks).observe(on_end=ends.append)
    assert await read(stream) == [1, 2, 3]
    assert stream.chunks == 3
    assert ends == [StreamEnd(outcome=StreamOutcome.COMPLETED, chunks=3)]

    ends.clear()
    failing = Producer([1, 2], fail_after=1).stream().through(same_chunks)
    failing = failing.observe(on_end=ends.append)
    with pytest.raises(ToolFailedError) as caught:
        await read(failing)
    assert failing.error is caught.value
    assert ends == [StreamEnd(outcome=StreamOutcome.FAILED, chunks=1, error=caught.value)]

    ends.clear()
    crashing = ResponseStream.of([1, 2], target="t").through(crash_transform, name="batch")
    crashing = crashing.observe(on_end=ends.append)
    with pytest.raises(InternalError) as crash:
        await read(crashing)
    assert crash.value.message.startswith("stream wrapper 'batch' raised LookupError after 1 ")
    assert isinstance(crash.value.__cause__, LookupError)
    assert (crashing.outcome, crashing.error) == (StreamOutcome.FAILED, crash.value)
    assert ends == [StreamEnd(outcome=StreamOutcome.FAILED, chunks=1, error=crash.value)]


@pytest.mark.parametrize("layer", ["map", "through"])
async def test_cancelling_the_consumer_abandons_a_wrapper(layer: str) -> None:
    """The wrapper's own observers hear abandoned, once, when the reading task is cancelled."""
    started = asyncio.Event()

    async def slow() -> AsyncIterator[int]:
        yield 1
        started.set()
        await asyncio.sleep(3600)
        yield 2  # pragma: no cover - cancelled before

    ends: list[StreamEnd] = []
    source = ResponseStream.of(slow())
    wrapped = source.map(str) if layer == "map" else source.through(same_chunks)
    stream = wrapped.observe(on_end=ends.append)
    task = asyncio.create_task(read(stream))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream.outcome is StreamOutcome.ABANDONED
    assert ends == [StreamEnd(outcome=StreamOutcome.ABANDONED, chunks=1)]


class Countdown:
    """A sync iterator with close(): counts down, optionally failing at zero."""

    def __init__(self, start: int, *, fail: bool = False) -> None:
        self.left = start
        self.fail = fail
        self.closed = 0

    def __iter__(self) -> Countdown:
        return self

    def __next__(self) -> int:
        if self.left == 0:
            if self.fail:
                raise ToolFailedError("ran out")
            raise StopIteration
        self.left -= 1
        return self.left

    def close(self) -> None:  # pragma: no cover - must not be called after the end
        self.closed += 1


@pytest.mark.parametrize("fail", [False, True])
async def test_aclose_after_the_end_does_nothing(fail: bool) -> None:
    """A completed or failed stream is not closed again: its iterator's close() is not
    called, and the outcome stays."""
    countdown = Countdown(2, fail=fail)
    stream = ResponseStream.of(countdown)
    assert (stream.error, stream.ended_at) == (None, 0.0)  # open
    chunks: list[int] = []
    with pytest.raises(ToolFailedError) if fail else contextlib.nullcontext():
        async for chunk in stream:
            chunks.append(chunk)
    assert chunks == [1, 0]
    outcome = StreamOutcome.FAILED if fail else StreamOutcome.COMPLETED
    assert stream.outcome is outcome
    await stream.aclose()
    assert stream.outcome is outcome
    assert countdown.closed == 0


async def test_a_dropped_stream_reports_when_it_ended(caplog: pytest.LogCaptureFixture) -> None:
    """The deferred end of a collected stream carries its end time; a failing observer of
    it is logged with the stream's target."""
    ends: list[StreamEnd] = []
    stream = ResponseStream.of([1, 2], target="t", now=lambda: 5.0)
    stream = stream.observe(on_end=ends.append).observe(on_end=end_observer_bug, name="meter")
    assert await stream.__anext__() == 1
    del stream
    with caplog.at_level(logging.ERROR, logger="toolware.streams"):
        gc.collect()
        await asyncio.sleep(0)
    assert ends == [StreamEnd(outcome=StreamOutcome.ABANDONED, chunks=1, ended_at=5.0)]
    assert [r.getMessage() for r in caplog.records] == [
        "stream.observer_failed observer=meter target=t error=ValueError"
    ]
