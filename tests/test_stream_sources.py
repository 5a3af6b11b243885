"""Tests for toolware._stream_sources: the generator sources and their worker-thread steps."""

import asyncio
import gc
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from toolware import ToolFailedError, UnavailableError
from toolware._stream_sources import (
    _END,
    AsyncGeneratorStream,
    SyncGeneratorStream,
    _Steps,
    cancelled_by_caller,
)
from toolware._workers import WorkerPool
from toolware.streams import ResponseStream, StreamOutcome
from toolware.testing import settle


async def wait_for(condition: Any, rounds: int = 400) -> None:
    """Poll ``condition()`` (work finishing on a worker thread) in short real sleeps, bounded."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never became true")


async def numbers(log: list[str], n: int = 2) -> AsyncIterator[int]:
    try:
        for i in range(n):
            log.append(f"made {i}")
            yield i
    finally:
        log.append("finally")


def async_source(log: list[str], n: int = 2, **options: Any) -> AsyncGeneratorStream:
    return AsyncGeneratorStream(
        numbers(log, n), request_id="r-1", target="numbers", now=lambda: 7.0, **options
    )


# -- cancelled_by_caller ---------------------------------------------------------------------


async def test_cancelled_by_caller_is_false_in_a_task_nobody_cancels() -> None:
    assert cancelled_by_caller() is False


async def test_cancelled_by_caller_is_true_in_a_task_being_cancelled() -> None:
    seen: list[bool] = []

    async def victim() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            seen.append(cancelled_by_caller())

    task = asyncio.create_task(victim())
    await settle(2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == [True]


async def test_cancelled_by_caller_is_true_outside_any_task() -> None:
    seen: list[bool] = []
    done = asyncio.Event()

    def callback() -> None:
        seen.append(cancelled_by_caller())
        done.set()

    asyncio.get_running_loop().call_soon(callback)
    await done.wait()
    assert seen == [True]


# -- AsyncGeneratorStream --------------------------------------------------------------------


async def test_async_source_yields_in_order_and_completes_on_its_clock() -> None:
    log: list[str] = []
    stream = async_source(log, 3)
    assert [chunk async for chunk in stream] == [0, 1, 2]
    assert stream.outcome is StreamOutcome.COMPLETED
    assert stream.chunks == 3
    assert stream.ended_at == 7.0
    assert log == ["made 0", "made 1", "made 2", "finally"]
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert stream.chunks == 3


async def test_prime_reads_the_first_chunk_and_keeps_it_for_the_consumer() -> None:
    """A primed source reads one chunk at prime() (counted only when delivered) and gives it
    to the consumer's first pull without asking the generator again."""
    log: list[str] = []
    stream = async_source(log, 2, primed=True)
    assert await stream.prime() is True
    assert stream.chunks == 0
    assert log == ["made 0"]
    assert await anext(stream) == 0
    assert stream.chunks == 1
    assert log == ["made 0"]  # the kept chunk costs the generator nothing
    assert await anext(stream) == 1
    assert stream.chunks == 2


async def test_prime_of_an_empty_generator_says_so_and_completes() -> None:
    async def nothing() -> AsyncIterator[int]:
        return
        yield 0  # pragma: no cover - makes this an async generator

    stream = AsyncGeneratorStream(
        nothing(), request_id="r-1", target="t", now=lambda: 0.0, primed=True
    )
    assert await stream.prime() is False
    assert stream.outcome is StreamOutcome.COMPLETED
    assert [chunk async for chunk in stream] == []


async def test_async_source_refuses_what_is_not_an_async_generator() -> None:
    with pytest.raises(TypeError) as caught:
        AsyncGeneratorStream(
            [1, 2],  # type: ignore[arg-type]
            request_id="r-1",
            target="numbers",
            now=lambda: 0.0,
        )
    assert str(caught.value) == (
        "'numbers' is registered as an async generator but its call returned list"
    )


async def test_async_source_checks_each_chunk_and_closes_on_a_bad_one() -> None:
    log: list[str] = []

    def check(chunk: int) -> int:
        if chunk == 1:
            raise ToolFailedError("bad chunk 1")
        return chunk * 100

    stream = async_source(log, 3, check=check)
    assert await anext(stream) == 0
    with pytest.raises(ToolFailedError) as caught:
        await anext(stream)
    assert (caught.value.request_id, caught.value.target) == ("r-1", "numbers")
    assert log == ["made 0", "made 1", "finally"]
    assert stream.outcome is StreamOutcome.FAILED
    assert stream.error is caught.value
    assert stream.chunks == 1


async def test_async_source_closes_the_generator_when_the_check_crashes() -> None:
    """A check raising something else than a ToolwareError also leaves the generator open."""
    log: list[str] = []

    def check(chunk: int) -> int:
        if chunk == 1:
            raise RuntimeError("checker crashed")
        return chunk

    stream = async_source(log, 3, check=check)
    assert await anext(stream) == 0
    with pytest.raises(ToolFailedError) as caught:
        await anext(stream)
    assert caught.value.message == "'numbers' raised RuntimeError: checker crashed after 1 chunk(s)"
    assert log == ["made 0", "made 1", "finally"]
    assert stream.outcome is StreamOutcome.FAILED


async def test_async_source_failure_names_the_count_and_retryable_on() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise OSError("disk")

    stream = AsyncGeneratorStream(
        failing(), request_id="r-1", target="t", now=lambda: 0.0, retryable_on=(OSError,)
    )
    assert await anext(stream) == 1
    with pytest.raises(ToolFailedError) as caught:
        await anext(stream)
    assert caught.value.message == "'t' raised OSError: disk after 1 chunk(s)"
    assert caught.value.retryable is True
    assert (caught.value.request_id, caught.value.target) == ("r-1", "t")


async def test_async_source_close_failure_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def stubborn() -> AsyncIterator[int]:
        try:
            yield 1
        finally:
            raise ValueError("cannot close")

    stream = AsyncGeneratorStream(stubborn(), request_id="r-1", target="t", now=lambda: 0.0)
    assert await anext(stream) == 1
    with caplog.at_level(logging.WARNING, logger="toolware.streams"):
        await stream.aclose()
    assert stream.outcome is StreamOutcome.ABANDONED
    assert [record.getMessage().split(":")[0] for record in caplog.records] == [
        "stream.close_failed target=t request_id=r-1 error=ValueError"
    ]


async def test_async_source_cancelled_by_its_consumer_is_abandoned() -> None:
    log: list[str] = []
    entered = asyncio.Event()

    async def waiting() -> AsyncIterator[int]:
        try:
            yield 1
            entered.set()
            await asyncio.Event().wait()
            yield 2  # pragma: no cover - never reached
        finally:
            log.append("finally")

    stream = AsyncGeneratorStream(waiting(), request_id="r-1", target="t", now=lambda: 0.0)
    assert await anext(stream) == 1
    task = asyncio.create_task(anext(stream))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream.outcome is StreamOutcome.ABANDONED
    assert stream.error is None
    assert log == ["finally"]


# -- _Steps and SyncGeneratorStream ----------------------------------------------------------


def test_steps_closed_before_the_first_step_never_call_the_function() -> None:
    called: list[str] = []

    def function() -> Iterator[int]:
        called.append("called")
        yield 1

    steps = _Steps(function, {"unused": object()}, "t")
    assert steps.close() is False  # no generator yet: nothing for the caller to close
    assert (steps.function, steps.arguments) == (None, None)  # released at once
    assert steps.step() is _END
    assert called == []
    assert steps.close() is False  # closing twice does nothing


def test_steps_make_the_generator_then_step_it() -> None:
    log: list[str] = []

    def function(n: int) -> Iterator[int]:
        try:
            yield from range(n)
        finally:
            log.append("finally")

    steps = _Steps(function, {"n": 2}, "t")
    assert [steps.step(), steps.step(), steps.step()] == [0, 1, _END]
    assert steps.function is None
    assert steps.arguments is None
    assert log == ["finally"]


def test_steps_close_left_to_the_caller_runs_the_finally() -> None:
    log: list[str] = []

    def function() -> Iterator[int]:
        try:
            yield 1
            yield 2  # pragma: no cover - closed before
        finally:
            log.append("finally")

    steps = _Steps(function, {}, "t")
    assert steps.step() == 1
    assert steps.close() is True
    assert log == []
    steps.close_generator()
    assert log == ["finally"]
    assert steps.generator is None
    steps.close_generator()  # nothing left: a no-op
    assert log == ["finally"]
    assert steps.step() is _END


def test_steps_close_during_a_step_is_left_to_the_step() -> None:
    log: list[str] = []
    steps: _Steps

    def function() -> Iterator[int]:
        try:
            yield 1
            assert steps.close() is False  # a step is running: it closes the generator
            log.append("closed during step")
            yield 2
        finally:
            log.append("finally")

    steps = _Steps(function, {}, "t")
    assert steps.step() == 1
    assert steps.step() == 2  # the chunk the step made, then the generator is closed
    assert log == ["closed during step", "finally"]
    assert steps.generator is None
    assert steps.busy is False


def test_steps_close_failure_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def function() -> Iterator[int]:
        try:
            yield 1
        finally:
            raise ValueError("cannot close")

    steps = _Steps(function, {}, "t")
    assert steps.step() == 1
    assert steps.close() is True
    with caplog.at_level(logging.WARNING, logger="toolware.streams"):
        steps.close_generator()
    [record] = caplog.records
    assert record.getMessage() == (
        "stream.close_failed target=t error=ValueError: the producer raised while being "
        "closed; let GeneratorExit through and do not yield from 'finally'"
    )
    assert record.target == "t"  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


async def test_sync_source_closes_on_the_loop_thread_when_the_pool_is_shut_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """aclose() needs a worker to close the generator; a shut-down pool has none."""
    threads: list[threading.Thread] = []
    pool = WorkerPool(1)

    def function() -> Iterator[int]:
        try:
            yield 1
            yield 2  # pragma: no cover - closed before
        finally:
            threads.append(threading.current_thread())

    stream = SyncGeneratorStream(function, {}, pool, request_id="r-1", target="t", now=lambda: 0)
    assert await anext(stream) == 1
    pool.shutdown()
    with caplog.at_level(logging.WARNING, logger="toolware.streams"):
        await stream.aclose()
    assert threads == [threading.current_thread()]
    assert stream.outcome is StreamOutcome.ABANDONED
    assert caplog.records == []  # closing on the loop thread instead is not a failure


async def test_sync_source_aclose_waits_for_the_worker_to_close_the_generator() -> None:
    loop_thread = threading.current_thread()
    threads: list[threading.Thread] = []
    pool = WorkerPool(1)

    def function() -> Iterator[int]:
        try:
            yield 1
            yield 2  # pragma: no cover - closed before
        finally:
            threads.append(threading.current_thread())

    stream = SyncGeneratorStream(function, {}, pool, request_id="r-1", target="t", now=lambda: 0)
    assert await anext(stream) == 1
    await stream.aclose()
    assert len(threads) == 1
    assert threads[0] is not loop_thread
    await stream.aclose()
    assert len(threads) == 1
    pool.shutdown()


async def test_sync_source_dropped_with_a_shut_down_pool_closes_where_it_is_dropped() -> None:
    threads: list[threading.Thread] = []
    pool = WorkerPool(1)

    def function() -> Iterator[int]:
        try:
            yield 1
            yield 2  # pragma: no cover - closed before
        finally:
            threads.append(threading.current_thread())

    stream = SyncGeneratorStream(function, {}, pool, request_id="r-1", target="t", now=lambda: 0)
    assert await anext(stream) == 1
    pool.shutdown()
    del stream
    gc.collect()
    assert threads == [threading.current_thread()]


async def test_sync_source_a_refused_step_is_unavailable_and_closes_nothing() -> None:
    pool = WorkerPool(1)
    pool.shutdown()
    ran: list[str] = []

    def function() -> Iterator[int]:
        ran.append("ran")  # pragma: no cover - never started
        yield 1  # pragma: no cover

    stream = SyncGeneratorStream(function, {}, pool, request_id="r-1", target="t", now=lambda: 0)
    with pytest.raises(UnavailableError) as caught:
        await anext(stream)
    assert (caught.value.request_id, caught.value.target) == ("r-1", "t")
    assert stream.outcome is StreamOutcome.FAILED
    assert ran == []


def closing_badly(log: list[str], n: int = 3) -> AsyncIterator[int]:
    async def generator() -> AsyncIterator[int]:
        try:
            for i in range(n):
                log.append(f"made {i}")
                yield i
        finally:
            raise ValueError("cannot close")

    return generator()


@pytest.mark.parametrize("raised", [ToolFailedError("bad chunk"), RuntimeError("crashed")])
async def test_async_source_closing_after_a_failed_check_logs_a_close_failure(
    raised: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    """A chunk refused by its check (or a crashing check) leaves the generator open: it is
    closed there, and what it raises while closing is logged with the stream's call."""
    log: list[str] = []

    def check(chunk: int) -> int:
        if chunk == 1:
            raise raised
        return chunk

    stream = AsyncGeneratorStream(
        closing_badly(log), request_id="r-1", target="t", now=lambda: 0.0, check=check
    )
    assert await anext(stream) == 0
    with (
        caplog.at_level(logging.WARNING, logger="toolware.streams"),
        pytest.raises(ToolFailedError) as caught,
    ):
        await anext(stream)
    assert stream.error is caught.value
    [record] = caplog.records
    assert record.getMessage().split(":")[0] == (
        "stream.close_failed target=t request_id=r-1 error=ValueError"
    )


async def test_async_source_own_cancelled_error_is_the_streams_error() -> None:
    """A generator raising CancelledError of its own (nobody cancels the task) fails the
    stream with a tool_failed error, which the stream keeps as its error."""

    async def cancelling() -> AsyncIterator[int]:
        yield 1
        raise asyncio.CancelledError

    stream = AsyncGeneratorStream(cancelling(), request_id="r-1", target="t", now=lambda: 0.0)
    assert await anext(stream) == 1
    with pytest.raises(ToolFailedError) as caught:
        await anext(stream)
    assert caught.value.message == "'t' raised CancelledError after 1 chunk(s)"
    assert stream.outcome is StreamOutcome.FAILED
    assert stream.error is caught.value


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_a_source_with_an_empty_call_binds_errors_to_empty_names(kind: str) -> None:
    """A ToolwareError from the producer is bound to the stream's own (here empty) request id
    and target, and kept as the stream's error."""

    async def agen() -> AsyncIterator[int]:
        yield 1
        raise ToolFailedError("broke")

    def gen() -> Iterator[int]:
        yield 1
        raise ToolFailedError("broke")

    pool = WorkerPool(1)
    try:
        stream: ResponseStream
        if kind == "async":
            stream = AsyncGeneratorStream(agen(), request_id="", target="", now=lambda: 0.0)
        else:
            stream = SyncGeneratorStream(gen, {}, pool, request_id="", target="", now=lambda: 0.0)
        assert await anext(stream) == 1
        with pytest.raises(ToolFailedError) as caught:
            await anext(stream)
        assert (caught.value.request_id, caught.value.target) == ("", "")
        assert stream.outcome is StreamOutcome.FAILED
        assert stream.error is caught.value
    finally:
        pool.shutdown()


async def test_sync_source_failure_is_the_streams_error() -> None:
    """A sync generator raising (an Exception or a BaseException) fails the stream with a
    tool_failed error, which the stream keeps as its error."""

    def gen() -> Iterator[int]:
        yield 1
        raise KeyboardInterrupt

    pool = WorkerPool(1)
    try:
        stream = SyncGeneratorStream(gen, {}, pool, request_id="r-1", target="t", now=lambda: 0.0)
        assert await anext(stream) == 1
        with pytest.raises(ToolFailedError) as caught:
            await anext(stream)
        assert caught.value.message == "'t' raised KeyboardInterrupt after 1 chunk(s)"
        assert stream.error is caught.value
    finally:
        pool.shutdown()


async def test_sync_source_cancelled_after_its_step_returned_closes_on_a_worker() -> None:
    """The consumer cancelled after the worker made the chunk but before the loop delivered
    it: the generator is no longer stepping, so it is closed at once, on a worker."""
    made = threading.Event()
    finished: list[str] = []

    def gen() -> Iterator[int]:
        try:
            yield 1
            made.set()
            yield 2
        finally:
            finished.append(threading.current_thread().name)

    pool = WorkerPool(1)
    try:
        stream = SyncGeneratorStream(gen, {}, pool, request_id="r-1", target="t", now=lambda: 0.0)
        assert await anext(stream) == 1
        task = asyncio.create_task(anext(stream))
        await asyncio.sleep(0)  # the task hands the step to the worker
        steps = stream._steps
        for _ in range(1000):  # bounded: the worker makes chunk 2 at once
            if made.is_set() and not steps.busy:
                break
            # Blocking on purpose: while the loop's thread waits, the result is not delivered.
            time.sleep(0.001)  # noqa: ASYNC251
        assert made.is_set()
        assert not steps.busy
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert stream.outcome is StreamOutcome.ABANDONED
        await wait_for(lambda: bool(finished))
        assert finished[0].startswith("toolware-worker-")
    finally:
        pool.shutdown()
