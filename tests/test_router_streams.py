"""Tests for toolware.router's streaming path: the eager first chunk, errors before and after it,
per-chunk checks, and sync generators on worker threads."""

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import pydantic
import pytest

from toolware import (
    ForbiddenError,
    InvalidRequestError,
    LocalRegistry,
    RequestContext,
    Router,
    ToolFailedError,
)
from toolware.streams import ResponseStream, StreamOutcome
from toolware.testing import FakeClock, settle


def request(target: str, arguments: dict[str, object] | None = None) -> RequestContext:
    return RequestContext.create(target, arguments, id="req-1")


@pytest.fixture
def registry() -> LocalRegistry:
    """An empty registry."""
    return LocalRegistry()


@pytest.fixture
def router(registry: LocalRegistry) -> Iterable[Router]:
    """A router over the registry, closed after the test."""
    router = Router(registry)
    yield router
    router.close()


async def open_stream(router: Router, target: str, **arguments: object) -> ResponseStream:
    response = await router(request(target, dict(arguments)))
    assert response.error is None, response.error
    assert response.stream is not None
    return response.stream


async def drain(stream: ResponseStream) -> list[Any]:
    return [chunk async for chunk in stream]


# -- async generators ------------------------------------------------------------------------


async def test_async_generator_chunks_arrive_in_order(
    registry: LocalRegistry, router: Router
) -> None:
    """Every chunk, in order; the stream completes, counting them, bound to the request."""

    @registry.tool
    async def count(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i * 10

    response = await router(request("count", {"n": 4}))
    assert response.value is None
    assert response.error is None
    stream = response.stream
    assert stream is not None
    assert (stream.request_id, stream.target) == ("req-1", "count")
    assert stream.chunks == 0
    assert stream.outcome is None
    assert await drain(stream) == [0, 10, 20, 30]
    assert stream.chunks == 4
    assert stream.outcome is StreamOutcome.COMPLETED
    assert stream.error is None


async def test_plain_tools_answer_without_a_stream(registry: LocalRegistry, router: Router) -> None:
    @registry.tool
    async def plain() -> list[int]:
        return [1, 2]

    response = await router(request("plain"))
    assert response.stream is None
    assert response.value == [1, 2]


async def test_empty_async_generator_is_a_completed_empty_stream(
    registry: LocalRegistry, router: Router
) -> None:
    ran: list[str] = []

    @registry.tool
    async def nothing() -> AsyncIterator[int]:
        ran.append("body")
        if ran:
            return
        yield 1  # pragma: no cover - never reached

    response = await router(request("nothing"))
    stream = response.stream
    assert response.error is None
    assert stream is not None
    assert ran == ["body"]
    assert stream.outcome is StreamOutcome.COMPLETED
    assert await drain(stream) == []
    assert stream.chunks == 0
    assert stream.outcome is StreamOutcome.COMPLETED


async def test_the_generator_runs_only_as_far_as_it_is_pulled(
    registry: LocalRegistry, router: Router
) -> None:
    """One chunk is made as the call is made, every further one only when asked for."""
    produced: list[int] = []

    @registry.tool
    async def count() -> AsyncIterator[int]:
        for i in range(3):
            produced.append(i)
            yield i

    stream = await open_stream(router, "count")
    await settle()
    assert produced == [0]
    assert await anext(stream) == 0
    assert produced == [0]
    assert stream.chunks == 1
    await settle()
    assert produced == [0]
    assert await anext(stream) == 1
    assert produced == [0, 1]
    assert await anext(stream) == 2
    assert produced == [0, 1, 2]
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert stream.chunks == 3


async def test_time_to_first_chunk_is_the_calls_time(registry: LocalRegistry) -> None:
    """started_at/finished_at bracket the wait for the first chunk, not the whole stream."""
    clock = FakeClock()

    @registry.tool
    async def slow() -> AsyncIterator[str]:
        await clock.sleep(2.0)
        yield "a"
        await clock.sleep(5.0)
        yield "b"

    router = Router(registry, clock=clock)
    task = asyncio.create_task(router(request("slow")))
    await clock.advance(1.999)
    assert not task.done()
    await clock.advance(0.001)
    assert task.done()
    response = task.result()
    assert (response.started_at, response.finished_at) == (1000.0, 1002.0)
    stream = response.stream
    assert stream is not None
    assert await anext(stream) == "a"
    pulled = asyncio.create_task(anext(stream))
    await clock.advance(5.0)
    assert await pulled == "b"
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert stream.ended_at == 1007.0
    router.close()


async def test_failure_before_the_first_chunk_is_an_ordinary_error_response(
    registry: LocalRegistry, router: Router
) -> None:
    @registry.tool
    async def broken() -> AsyncIterator[int]:
        raise ValueError("no data")
        yield 1  # pragma: no cover - unreachable

    response = await router(request("broken"))
    assert response.stream is None
    error = response.error
    assert isinstance(error, ToolFailedError)
    assert error.category == "tool_failed"
    assert error.message == "'broken' raised ValueError: no data before its first chunk"
    assert (error.request_id, error.target) == ("req-1", "broken")
    assert error.retryable is False
    assert isinstance(error.__cause__, ValueError)


async def test_failure_before_the_first_chunk_is_retryable_per_retryable_on(
    registry: LocalRegistry, router: Router
) -> None:
    @registry.tool(retryable_on=(ConnectionError,))
    async def flaky(kind: str) -> AsyncIterator[int]:
        if kind == "connection":
            raise ConnectionError("reset")
        raise ValueError("bad")
        yield 1  # pragma: no cover - unreachable

    retried = (await router(request("flaky", {"kind": "connection"}))).error
    refused = (await router(request("flaky", {"kind": "value"}))).error
    assert retried is not None
    assert refused is not None
    assert retried.retryable is True
    assert refused.retryable is False
    assert retried.message == "'flaky' raised ConnectionError: reset before its first chunk"


async def test_a_toolware_error_raised_on_purpose_keeps_its_category(
    registry: LocalRegistry, router: Router
) -> None:
    @registry.tool
    async def guarded() -> AsyncIterator[int]:
        raise ForbiddenError("not for you")
        yield 1  # pragma: no cover - unreachable

    response = await router(request("guarded"))
    assert response.stream is None
    error = response.error
    assert isinstance(error, ForbiddenError)
    assert error.category == "forbidden"
    assert error.message == "not for you"
    assert (error.request_id, error.target) == ("req-1", "guarded")


async def test_a_toolware_error_after_chunks_keeps_its_category(
    registry: LocalRegistry, router: Router
) -> None:
    @registry.tool
    async def guarded() -> AsyncIterator[int]:
        yield 1
        raise ForbiddenError("no more")

    stream = await open_stream(router, "guarded")
    assert await anext(stream) == 1
    with pytest.raises(ForbiddenError) as caught:
        await anext(stream)
    assert (caught.value.request_id, caught.value.target) == ("req-1", "guarded")
    assert stream.outcome is StreamOutcome.FAILED
    assert stream.error is caught.value


async def test_bad_arguments_to_a_generator_function_are_tool_failed(
    registry: LocalRegistry, router: Router
) -> None:
    """Calling the generator function itself can fail (routed to directly, unchecked)."""

    @registry.tool
    async def count(n: int) -> AsyncIterator[int]:
        yield n  # pragma: no cover - never called

    response = await router(request("count", {"bogus": 1}))
    assert response.stream is None
    error = response.error
    assert isinstance(error, ToolFailedError)
    assert error.message.startswith("'count' raised TypeError: ")
    assert (error.request_id, error.target) == ("req-1", "count")


async def test_a_toolware_error_from_calling_the_generator_function_keeps_its_category(
    registry: LocalRegistry, router: Router
) -> None:
    async def stream() -> AsyncIterator[int]:
        yield 1  # pragma: no cover - never called

    @functools.wraps(stream)
    def refusing() -> AsyncIterator[int]:
        raise ForbiddenError("refused at the door")

    registry.add(refusing, name="door")
    response = await router(request("door"))
    assert response.stream is None
    assert isinstance(response.error, ForbiddenError)
    assert (response.error.request_id, response.error.target) == ("req-1", "door")


async def test_failure_after_chunks_raises_tool_failed_bound_to_the_call(
    registry: LocalRegistry, router: Router
) -> None:
    @registry.tool(retryable_on=(ValueError,))
    async def partial() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise ValueError("lost the connection")

    stream = await open_stream(router, "partial")
    assert [await anext(stream), await anext(stream)] == [1, 2]
    with pytest.raises(ToolFailedError) as caught:
        await anext(stream)
    error = caught.value
    assert error.category == "tool_failed"
    assert error.message == "'partial' raised ValueError: lost the connection after 2 chunk(s)"
    assert (error.request_id, error.target) == ("req-1", "partial")
    assert error.retryable is True
    assert isinstance(error.__cause__, ValueError)
    assert stream.outcome is StreamOutcome.FAILED
    assert stream.error is error
    assert stream.chunks == 2
    assert await drain(stream) == []  # a failed stream stays ended


@pytest.mark.parametrize(
    ("exception", "detail"),
    [
        (SystemExit(3), "SystemExit (exit code 3)"),
        (KeyboardInterrupt(), "KeyboardInterrupt"),
    ],
)
async def test_system_exit_and_keyboard_interrupt_from_a_generator_are_tool_failed(
    registry: LocalRegistry, router: Router, exception: BaseException, detail: str
) -> None:
    @registry.tool(retryable_on=(Exception,))
    async def fatal(after: int) -> AsyncIterator[int]:
        for i in range(after):
            yield i
        raise exception

    before = (await router(request("fatal", {"after": 0}))).error
    assert isinstance(before, ToolFailedError)
    assert before.message == f"'fatal' raised {detail} before its first chunk"
    assert before.retryable is False

    stream = await open_stream(router, "fatal", after=1)
    assert await anext(stream) == 0
    with pytest.raises(ToolFailedError) as caught:
        await anext(stream)
    assert caught.value.message == f"'fatal' raised {detail} after 1 chunk(s)"
    assert caught.value.retryable is False
    assert caught.value.__cause__ is exception


async def test_a_generators_own_cancelled_error_is_tool_failed(
    registry: LocalRegistry, router: Router
) -> None:
    """Nobody cancelled the call: the handler let a CancelledError of its own escape."""

    @registry.tool
    async def rogue(after: int) -> AsyncIterator[int]:
        for i in range(after):
            yield i
        raise asyncio.CancelledError("mine")

    before = (await router(request("rogue", {"after": 0}))).error
    assert isinstance(before, ToolFailedError)
    assert before.message == "'rogue' raised CancelledError: mine before its first chunk"

    stream = await open_stream(router, "rogue", after=2)
    with pytest.raises(ToolFailedError) as caught:
        await drain(stream)
    assert caught.value.message == "'rogue' raised CancelledError: mine after 2 chunk(s)"
    assert stream.outcome is StreamOutcome.FAILED


async def test_cancelling_the_call_while_it_waits_for_the_first_chunk_propagates(
    registry: LocalRegistry, router: Router
) -> None:
    started = asyncio.Event()
    finished: list[str] = []

    @registry.tool
    async def waiting() -> AsyncIterator[int]:
        try:
            started.set()
            await asyncio.Event().wait()
            yield 1  # pragma: no cover - never reached
        finally:
            finished.append("finally")

    task = asyncio.create_task(router(request("waiting")))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == ["finally"]


# -- check_result ----------------------------------------------------------------------------


async def test_check_result_checks_and_converts_each_chunk(
    registry: LocalRegistry, router: Router
) -> None:
    @registry.tool(check_result=True)
    async def counts() -> AsyncIterator[int]:
        yield 1
        yield "2"  # type: ignore[misc]

    stream = await open_stream(router, "counts")
    assert await drain(stream) == [1, 2]


async def test_a_bad_chunk_fails_the_stream_and_closes_the_generator(
    registry: LocalRegistry, router: Router
) -> None:
    finished: list[str] = []

    @registry.tool(check_result=True)
    async def counts() -> AsyncIterator[int]:
        try:
            yield 1
            yield None  # type: ignore[misc]
            yield 3  # pragma: no cover - closed before
        finally:
            finished.append("finally")

    stream = await open_stream(router, "counts")
    assert await anext(stream) == 1
    with pytest.raises(ToolFailedError) as caught:
        await anext(stream)
    assert caught.value.message == "'counts' yielded None, but its declared chunk type is int"
    assert (caught.value.request_id, caught.value.target) == ("req-1", "counts")
    assert finished == ["finally"]
    assert stream.outcome is StreamOutcome.FAILED
    assert stream.chunks == 1


async def test_a_bad_first_chunk_is_an_error_response_and_closes_the_generator(
    registry: LocalRegistry, router: Router
) -> None:
    finished: list[str] = []

    @registry.tool(check_result=True)
    async def counts() -> AsyncIterator[int]:
        try:
            yield "x"  # type: ignore[misc]
        finally:
            finished.append("finally")

    response = await router(request("counts"))
    assert response.stream is None
    assert isinstance(response.error, ToolFailedError)
    assert response.error.message == "'counts' yielded a str, but its declared chunk type is int"
    assert (response.error.request_id, response.error.target) == ("req-1", "counts")
    assert finished == ["finally"]


class Item(pydantic.BaseModel):
    n: int

    @pydantic.field_validator("n")
    @classmethod
    def _not_two(cls, value: int) -> int:
        if value == 2:
            raise RuntimeError("validator crashed")
        return value


async def test_a_crashing_chunk_check_fails_the_stream_and_closes_the_generator(
    registry: LocalRegistry, router: Router
) -> None:
    """A chunk type whose own validator raises (not a validation error) still closes it."""
    finished: list[str] = []

    @registry.tool(check_result=True)
    async def items() -> AsyncIterator[Item]:
        try:
            yield Item(n=1)
            yield {"n": 2}  # type: ignore[misc]
            yield Item(n=3)  # pragma: no cover - closed before
        finally:
            finished.append("finally")

    stream = await open_stream(router, "items")
    assert await anext(stream) == Item(n=1)
    with pytest.raises(ToolFailedError) as caught:
        await anext(stream)
    assert caught.value.message == "'items' raised RuntimeError: validator crashed after 1 chunk(s)"
    assert finished == ["finally"]
    assert stream.outcome is StreamOutcome.FAILED


# -- sync generators -------------------------------------------------------------------------


async def test_sync_generator_runs_on_a_worker_thread(
    registry: LocalRegistry, router: Router
) -> None:
    loop_thread = threading.current_thread()
    threads: list[threading.Thread] = []

    @registry.tool
    def numbers(n: int) -> Iterator[int]:
        threads.append(threading.current_thread())
        for i in range(n):
            threads.append(threading.current_thread())
            yield i

    stream = await open_stream(router, "numbers", n=3)
    assert (stream.request_id, stream.target) == ("req-1", "numbers")
    assert await drain(stream) == [0, 1, 2]
    assert stream.outcome is StreamOutcome.COMPLETED
    assert stream.chunks == 3
    assert len(threads) == 4
    assert all(thread is not loop_thread for thread in threads)
    assert all(thread.name.startswith("toolware-worker-") for thread in threads)


async def test_sync_generator_is_pulled_one_step_at_a_time(
    registry: LocalRegistry, router: Router
) -> None:
    produced: list[int] = []

    @registry.tool
    def numbers() -> Iterator[int]:
        for i in range(3):
            produced.append(i)
            yield i

    stream = await open_stream(router, "numbers")
    await settle()
    assert produced == [0]
    assert await anext(stream) == 0
    assert produced == [0]
    assert await anext(stream) == 1
    assert produced == [0, 1]


async def test_a_blocked_sync_generator_does_not_block_the_loop(
    registry: LocalRegistry, router: Router
) -> None:
    release = threading.Event()

    @registry.tool
    def blocked() -> Iterator[str]:
        yield "first"
        release.wait(5.0)
        yield "second"

    stream = await open_stream(router, "blocked")
    assert await anext(stream) == "first"
    pulled = asyncio.create_task(anext(stream))
    ticks = 0
    for _ in range(10):  # the loop keeps running other work while the step blocks
        await asyncio.sleep(0)
        ticks += 1
    assert ticks == 10
    assert not pulled.done()
    release.set()
    assert await pulled == "second"


async def test_empty_sync_generator_is_a_completed_empty_stream(
    registry: LocalRegistry, router: Router
) -> None:
    @registry.tool
    def nothing() -> Iterator[int]:
        yield from ()

    response = await router(request("nothing"))
    assert response.error is None
    assert response.stream is not None
    assert response.stream.outcome is StreamOutcome.COMPLETED
    assert await drain(response.stream) == []


async def test_sync_generator_failures_before_and_after_the_first_chunk(
    registry: LocalRegistry, router: Router
) -> None:
    @registry.tool(retryable_on=(ConnectionError,))
    def flaky(after: int) -> Iterator[int]:
        yield from range(after)
        raise ConnectionError("reset")

    response = await router(request("flaky", {"after": 0}))
    assert response.stream is None
    error = response.error
    assert isinstance(error, ToolFailedError)
    assert error.message == "'flaky' raised ConnectionError: reset before its first chunk"
    assert (error.request_id, error.target, error.retryable) == ("req-1", "flaky", True)

    stream = await open_stream(router, "flaky", after=2)
    with pytest.raises(ToolFailedError) as caught:
        await drain(stream)
    assert caught.value.message == "'flaky' raised ConnectionError: reset after 2 chunk(s)"
    assert (caught.value.request_id, caught.value.target) == ("req-1", "flaky")
    assert stream.outcome is StreamOutcome.FAILED
    assert stream.chunks == 2


async def test_sync_generator_system_exit_is_tool_failed(
    registry: LocalRegistry, router: Router
) -> None:
    @registry.tool
    def fatal() -> Iterator[int]:
        yield 1
        raise SystemExit(2)

    @registry.tool
    def interrupted() -> Iterator[int]:
        raise KeyboardInterrupt
        yield 0  # pragma: no cover - makes this a generator

    stream = await open_stream(router, "fatal")
    with pytest.raises(ToolFailedError) as caught:
        await drain(stream)
    assert caught.value.message == "'fatal' raised SystemExit (exit code 2) after 1 chunk(s)"
    assert isinstance(caught.value.__cause__, SystemExit)
    assert (caught.value.request_id, caught.value.target) == ("req-1", "fatal")
    assert stream.outcome is StreamOutcome.FAILED

    response = await router(request("interrupted"))
    assert response.stream is None
    assert response.error is not None
    assert response.error.message == "'interrupted' raised KeyboardInterrupt before its first chunk"
    assert isinstance(response.error.__cause__, KeyboardInterrupt)


async def test_sync_generator_toolware_error_keeps_its_category(
    registry: LocalRegistry, router: Router
) -> None:
    @registry.tool
    def guarded(after: int) -> Iterator[int]:
        yield from range(after)
        raise ForbiddenError("stop")

    response = await router(request("guarded", {"after": 0}))
    assert isinstance(response.error, ForbiddenError)
    assert (response.error.request_id, response.error.target) == ("req-1", "guarded")
    stream = await open_stream(router, "guarded", after=1)
    with pytest.raises(ForbiddenError) as caught:
        await drain(stream)
    assert (caught.value.request_id, caught.value.target) == ("req-1", "guarded")


async def test_sync_generator_bad_chunk_closes_the_generator(
    registry: LocalRegistry, router: Router
) -> None:
    finished = threading.Event()

    @registry.tool(check_result=True)
    def counts() -> Iterator[int]:
        try:
            yield 1
            yield None  # type: ignore[misc]
            yield 3  # pragma: no cover - closed before
        finally:
            finished.set()

    stream = await open_stream(router, "counts")
    assert await anext(stream) == 1
    with pytest.raises(ToolFailedError) as caught:
        await anext(stream)
    assert caught.value.message == "'counts' yielded None, but its declared chunk type is int"
    for _ in range(400):  # closed on a worker, without making the consumer wait
        if finished.is_set():
            break
        await asyncio.sleep(0.005)
    assert finished.is_set()


async def test_a_sync_generator_function_that_returns_no_generator_is_tool_failed(
    registry: LocalRegistry, router: Router
) -> None:
    def real() -> Iterator[int]:
        yield 1  # pragma: no cover - never called

    @functools.wraps(real)
    def liar() -> Iterator[int]:
        return [1, 2]  # type: ignore[return-value]

    registry.add(liar, name="liar")
    response = await router(request("liar"))
    assert response.stream is None
    assert isinstance(response.error, ToolFailedError)
    assert response.error.message == (
        "'liar' raised TypeError: 'liar' is registered as a generator but its call returned "
        "list before its first chunk"
    )


# -- timings of every kind of answer (fake clock) --------------------------------------------


def guarded(function: Any) -> Any:
    """A functools.wraps decorator whose own code runs when the tool is called (before the
    generator exists): it refuses n < 0 on purpose and crashes on n > 100."""

    @functools.wraps(function)
    def wrapper(**arguments: Any) -> Any:
        if arguments.get("n", 0) < 0:
            raise InvalidRequestError("n must be >= 0")
        if arguments.get("n", 0) > 100:
            raise OverflowError("too many")
        return function(**arguments)

    return wrapper


def timed_registry(clock: FakeClock) -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    @guarded
    async def numbers(n: int = 2, fail_first: bool = False) -> AsyncIterator[int]:
        clock.advance_now(0.25)  # time to the first chunk, or to the failure before it
        if fail_first:
            raise ConnectionError("down")
        for i in range(n):
            yield i

    registry.tool(numbers, name="ahead", read_ahead=1)
    return registry


async def test_every_answer_of_a_streaming_entry_is_timed_on_the_router_clock() -> None:
    clock = FakeClock()
    router = Router(timed_registry(clock), clock=clock)

    refused = await router(request("numbers", {"n": -1}))  # raised by the call itself
    assert isinstance(refused.error, InvalidRequestError)
    assert (refused.error.request_id, refused.error.target) == ("req-1", "numbers")
    assert (refused.started_at, refused.finished_at) == (1000.0, 1000.0)

    crashed = await router(request("numbers", {"n": 101}))
    assert isinstance(crashed.error, ToolFailedError)
    assert "OverflowError" in crashed.error.message
    assert (crashed.started_at, crashed.finished_at) == (1000.0, 1000.0)

    failed = await router(request("numbers", {"fail_first": True}))
    assert isinstance(failed.error, ToolFailedError)
    assert (failed.started_at, failed.finished_at) == (1000.0, 1000.25)

    empty = await router(request("numbers", {"n": 0}))
    assert empty.stream is not None
    assert empty.stream.outcome is StreamOutcome.COMPLETED
    assert (empty.started_at, empty.finished_at) == (1000.25, 1000.5)

    streamed = await router(request("numbers"))
    assert (streamed.started_at, streamed.finished_at) == (1000.5, 1000.75)
    ahead = await router(request("ahead"))
    assert (ahead.started_at, ahead.finished_at) == (1000.75, 1001.0)
    assert ahead.stream is not None
    assert [chunk async for chunk in ahead.stream] == [0, 1]
    await streamed.stream.aclose()  # type: ignore[union-attr]
    router.close()


async def test_a_call_time_failure_is_answered_even_while_the_task_is_being_cancelled() -> None:
    """The handler's own exception is its failure; only a CancelledError propagates."""
    clock = FakeClock()
    router = Router(timed_registry(clock), clock=clock)
    task = asyncio.current_task()
    assert task is not None
    task.cancel()  # a cancel request pending: the next suspension raises it
    crashed = await router(request("numbers", {"n": 101}))  # answered without suspending
    with pytest.raises(asyncio.CancelledError):
        await asyncio.sleep(0)  # take the pending cancellation here
    task.uncancel()
    assert isinstance(crashed.error, ToolFailedError)
    router.close()
