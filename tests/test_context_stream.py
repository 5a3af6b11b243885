"""Tests for streamed responses in toolware.context: the stream field, with_stream, collect()."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from toolware import (
    ErrorCategory,
    ResponseContext,
    ResponseStream,
    ResultTooLargeError,
    StreamOutcome,
    ToolFailedError,
)
from toolware.context import MAX_COLLECTED_CHUNKS, PARTIAL_CHUNKS


def streamed(chunks: object, **options: object) -> ResponseContext:
    stream = ResponseStream.of(chunks, request_id="r", target="t", now=lambda: 9.0)  # type: ignore[arg-type]
    return ResponseContext(stream=stream, started_at=1.0, finished_at=2.0, **options)  # type: ignore[arg-type]


async def test_collect_turns_a_stream_into_a_list_value() -> None:
    response = streamed(["a", "b", "c"])
    collected = await response.collect()
    assert collected.value == ["a", "b", "c"]
    assert collected.stream is None
    assert collected.ok
    # finished_at moves to the end of the stream; started_at stays.
    assert (collected.started_at, collected.finished_at) == (1.0, 9.0)
    assert response.stream is not None
    assert response.stream.outcome is StreamOutcome.COMPLETED


async def test_collect_of_a_plain_response_is_itself() -> None:
    plain = ResponseContext.success(3)
    assert await plain.collect() is plain
    failed = ResponseContext.failure(ToolFailedError("x"))
    assert await failed.collect() is failed


async def test_collect_of_a_failing_stream_is_the_error_with_the_partial_chunks() -> None:
    async def chunks() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise ToolFailedError("lost the connection")

    collected = await streamed(chunks()).collect()
    assert collected.stream is None
    assert collected.value is None
    assert isinstance(collected.error, ToolFailedError)
    assert collected.error.request_id == "r"
    assert collected.get(PARTIAL_CHUNKS) == (1, 2)
    with pytest.raises(ToolFailedError, match="lost the connection"):
        collected.unwrap()


async def test_collect_of_a_stream_failing_at_once_has_no_partial_chunks() -> None:
    async def chunks() -> AsyncIterator[int]:
        raise ToolFailedError("nothing")
        yield 0  # pragma: no cover - makes this an async generator

    collected = await streamed(chunks()).collect()
    assert collected.error is not None
    assert collected.get(PARTIAL_CHUNKS) is None


async def test_collect_stops_at_the_limit_and_closes_the_stream() -> None:
    """An endless stream is cut at max_chunks with a typed error; the producer is closed and
    the chunks gathered so far are kept as partial chunks."""
    produced: list[int] = []
    closed: list[bool] = []

    async def endless() -> AsyncIterator[int]:
        try:
            n = 0
            while True:
                produced.append(n)
                yield n
                n += 1
        finally:
            closed.append(True)

    response = streamed(endless())
    collected = await response.collect(max_chunks=5)
    error = collected.error
    assert isinstance(error, ResultTooLargeError)
    assert error.category is ErrorCategory.INVALID_REQUEST
    assert error.limit == 5
    assert error.to_dict()["limit"] == 5
    assert (error.request_id, error.target) == ("r", "t")
    assert "more than 5 chunks" in error.message
    assert collected.get(PARTIAL_CHUNKS) == (0, 1, 2, 3, 4)
    assert produced == [0, 1, 2, 3, 4, 5]  # the sixth chunk revealed the excess
    assert closed == [True]
    assert response.stream is not None
    assert response.stream.outcome is StreamOutcome.ABANDONED


async def test_collect_at_exactly_the_limit_succeeds() -> None:
    assert (await streamed([1, 2, 3]).collect(max_chunks=3)).value == [1, 2, 3]


async def test_collect_refuses_a_bad_limit() -> None:
    for bad in (0, -1, True, 2.0):
        with pytest.raises(ValueError, match="max_chunks"):
            await streamed([1]).collect(max_chunks=bad)  # type: ignore[arg-type]
    assert MAX_COLLECTED_CHUNKS == 100_000


def test_a_stream_excludes_value_and_error() -> None:
    stream = ResponseStream.of([1])
    with pytest.raises(ValueError, match="carries its chunks in `stream`"):
        ResponseContext(stream=stream, value=3)
    with pytest.raises(ValueError, match="carries its chunks in `stream`"):
        ResponseContext(stream=stream, error=ToolFailedError("x"))


def test_a_stream_must_be_a_response_stream() -> None:
    with pytest.raises(TypeError, match=r"ResponseStream\.of"):
        ResponseContext(stream=[1, 2])  # type: ignore[arg-type]


def test_with_stream_replaces_value_and_error() -> None:
    stream = ResponseStream.of([1])
    response = ResponseContext.success(3, started_at=1.0).with_stream(stream)
    assert (response.stream, response.value, response.error) == (stream, None, None)
    assert response.started_at == 1.0
    assert response.with_value(4).stream is None
    assert response.with_error(ToolFailedError("x")).stream is None


def test_unwrap_of_a_stream_says_to_iterate_or_collect() -> None:
    with pytest.raises(TypeError, match="collect"):
        ResponseContext(stream=ResponseStream.of([1])).unwrap()


def test_unwrap_of_a_stream_says_exactly_what_to_do() -> None:
    with pytest.raises(TypeError) as caught:
        ResponseContext(stream=ResponseStream.of([1])).unwrap()
    assert str(caught.value) == (
        "this response is a stream: iterate response.stream, or "
        "(await response.collect()).unwrap() for the list of chunks"
    )


def test_with_stream_on_a_failure_drops_the_error() -> None:
    stream = ResponseStream.of([1])
    response = ResponseContext.failure(ToolFailedError("x")).with_stream(stream)
    assert (response.error, response.stream, response.ok) == (None, stream, True)


async def test_collect_with_a_limit_of_one() -> None:
    assert (await streamed([7]).collect(max_chunks=1)).value == [7]
    too_many = await streamed([7, 8]).collect(max_chunks=1)
    assert isinstance(too_many.error, ResultTooLargeError)
    assert too_many.error.message == (
        "the stream of 't' has more than 1 chunks, the most collect() gathers"
    )


async def test_a_failed_collect_ends_when_the_stream_ended() -> None:
    """finished_at is the stream's end on its clock; without a clock (0.0), the response's."""

    async def failing() -> AsyncIterator[int]:
        yield 1
        raise ToolFailedError("broke")

    collected = await streamed(failing()).collect()
    assert collected.error is not None
    assert (collected.started_at, collected.finished_at) == (1.0, 9.0)

    clockless = ResponseContext(
        stream=ResponseStream.of(failing(), target="t"), started_at=1.0, finished_at=2.0
    )
    collected = await clockless.collect()
    assert collected.error is not None
    assert collected.finished_at == 2.0
    plain = await ResponseContext(
        stream=ResponseStream.of([1], target="t"), started_at=1.0, finished_at=2.0
    ).collect()
    assert plain.finished_at == 2.0


def test_stream_refusals_say_exactly_what_to_do() -> None:
    with pytest.raises(TypeError) as caught:
        ResponseContext(stream=[1, 2])  # type: ignore[arg-type]
    assert str(caught.value) == (
        "a ResponseContext stream must be a ResponseStream, got list; wrap an iterator with "
        "ResponseStream.of(chunks)"
    )
    with pytest.raises(ValueError, match="carries its chunks") as refused:
        ResponseContext(stream=ResponseStream.of([1]), value=3)
    assert str(refused.value) == (
        "a streamed ResponseContext carries its chunks in `stream`, not a value or an error; "
        "use response.with_stream(...), or collect() it first"
    )
