"""Tests for toolware.router: running entries, worker threads and wrapping failures."""

import asyncio
import contextvars
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from toolware import (
    ErrorCategory,
    ForbiddenError,
    Kind,
    LocalRegistry,
    NotFoundError,
    PipelineBuilder,
    RequestContext,
    Router,
    ToolFailedError,
    UnavailableError,
)
from toolware._workers import default_workers
from toolware.testing import FakeClock

TENANT: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="none")


def request(
    target: str, arguments: dict[str, object] | None = None, **options: object
) -> RequestContext:
    return RequestContext.create(target, arguments, id="req-1", **options)  # type: ignore[arg-type]


@pytest.fixture
def registry() -> LocalRegistry:
    """An empty registry."""
    return LocalRegistry()


@pytest.fixture
def router(registry: LocalRegistry) -> Iterator[Router]:
    """A router over the registry, closed after the test."""
    router = Router(registry)
    yield router
    router.close()


async def test_async_handler_value_and_timings_on_the_injected_clock(
    registry: LocalRegistry,
) -> None:
    """An async handler is awaited; started_at/finished_at bracket it on the given clock."""
    clock = FakeClock()

    @registry.tool
    async def slow(seconds: float) -> str:
        await clock.sleep(seconds)
        return "done"

    router = Router(registry, clock=clock)
    task = asyncio.create_task(router(request("slow", {"seconds": 2.0})))
    await clock.advance(2.0)
    assert task.done()
    response = await task
    assert response.unwrap() == "done"
    assert (response.started_at, response.finished_at) == (1000.0, 1002.0)
    assert response.started_at <= response.finished_at
    assert response.elapsed == 2.0


async def test_sync_handler_runs_in_a_worker_thread(
    registry: LocalRegistry, router: Router
) -> None:
    """A sync handler runs off the event loop's thread, in a named worker."""

    @registry.tool
    def where() -> str:
        return threading.current_thread().name

    loop_thread = threading.current_thread().name
    name = (await router(request("where"))).unwrap()
    assert name != loop_thread
    assert name.startswith("toolware-worker")


async def test_context_vars_are_visible_in_the_worker_thread(
    registry: LocalRegistry, router: Router
) -> None:
    """ContextVar values of the calling task reach the sync handler, and do not leak back."""

    @registry.tool
    def tenant() -> str:
        seen = TENANT.get()
        TENANT.set("changed-in-thread")
        return seen

    token = TENANT.set("acme")
    try:
        assert (await router(request("tenant"))).unwrap() == "acme"
        assert TENANT.get() == "acme"
    finally:
        TENANT.reset(token)


async def test_worker_pool_is_bounded(registry: LocalRegistry) -> None:
    """With workers=2, four blocking sync calls never run more than two at once."""
    lock = threading.Lock()
    running = 0
    peak = 0
    two_running, three_running, release = threading.Event(), threading.Event(), threading.Event()

    @registry.tool
    def block(i: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            if running == 2:
                two_running.set()
            if running == 3:
                three_running.set()
        release.wait(5)
        with lock:
            running -= 1
        return i

    router = Router(registry, workers=2)
    assert router.workers == 2
    tasks = [asyncio.create_task(router(request("block", {"i": i}))) for i in range(4)]
    try:
        assert await asyncio.to_thread(two_running.wait, 5)
        # A third call would start at once if the pool allowed it.
        assert not await asyncio.to_thread(three_running.wait, 0.05)
    finally:
        release.set()
    responses = await asyncio.gather(*tasks)
    router.close()
    assert [r.unwrap() for r in responses] == [0, 1, 2, 3]
    assert peak == 2


async def test_unbounded_control_runs_all_four_at_once(registry: LocalRegistry) -> None:
    """The same four calls with workers=4 do overlap, so the bound above is what limits them."""
    lock = threading.Lock()
    running = 0
    four_running, release = threading.Event(), threading.Event()

    @registry.tool
    def block() -> None:
        nonlocal running
        with lock:
            running += 1
            if running == 4:
                four_running.set()
        release.wait(5)

    router = Router(registry, workers=4)
    tasks = [asyncio.create_task(router(request("block"))) for _ in range(4)]
    try:
        assert await asyncio.to_thread(four_running.wait, 5)
    finally:
        release.set()
    await asyncio.gather(*tasks)
    router.close()


def test_default_worker_count_is_bounded() -> None:
    """Without workers= the pool uses ThreadPoolExecutor's bounded default."""
    assert Router(LocalRegistry()).workers == default_workers()
    assert 1 <= default_workers() <= 32


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_bad_worker_count_is_refused(workers: object) -> None:
    """workers must be a positive integer (a bool is not a count)."""
    with pytest.raises(ValueError, match="positive integer"):
        Router(LocalRegistry(), workers=workers)  # type: ignore[arg-type]


@pytest.mark.parametrize("is_async", [True, False])
async def test_raising_handler_is_tool_failed_with_the_cause(
    registry: LocalRegistry, router: Router, is_async: bool
) -> None:
    """An exception becomes tool_failed, bound to the call, with the exception as __cause__."""
    boom = ValueError("bad input 7")

    async def async_fail() -> None:
        raise boom

    def sync_fail() -> None:
        raise boom

    registry.add(async_fail if is_async else sync_fail, name="fail")
    response = await router(request("fail"))
    error = response.error
    assert isinstance(error, ToolFailedError)
    assert error.__cause__ is boom
    assert error.message == "'fail' raised ValueError: bad input 7"
    assert (error.request_id, error.target) == ("req-1", "fail")
    assert error.retryable is False
    assert response.started_at <= response.finished_at


@pytest.mark.parametrize(
    ("raised", "retryable"),
    [
        (ConnectionError("down"), True),
        (ConnectionResetError("reset"), True),
        (KeyError("k"), False),
    ],
)
async def test_retryable_only_when_the_exception_type_is_listed(
    registry: LocalRegistry, router: Router, raised: Exception, retryable: bool
) -> None:
    """retryable_on=(ConnectionError,) makes that type and its subclasses retryable only."""

    @registry.tool(retryable_on=(ConnectionError,))
    async def fetch() -> None:
        raise raised

    error = (await router(request("fetch"))).error
    assert isinstance(error, ToolFailedError)
    assert error.retryable is retryable


async def test_handler_raising_a_toolware_error_keeps_its_category(
    registry: LocalRegistry, router: Router
) -> None:
    """A ToolwareError raised on purpose is returned as is, bound to the call."""

    @registry.tool
    def guarded() -> None:
        raise ForbiddenError("admins only")

    @registry.tool
    async def lookup(id: int) -> None:
        raise NotFoundError(f"document {id} does not exist")

    forbidden = (await router(request("guarded"))).error
    assert isinstance(forbidden, ForbiddenError)
    assert (forbidden.request_id, forbidden.target) == ("req-1", "guarded")
    missing = (await router(request("lookup", {"id": 42}))).error
    assert isinstance(missing, NotFoundError)
    assert missing.message == "document 42 does not exist"


async def test_sync_handler_raising_stop_iteration_does_not_hang(
    registry: LocalRegistry, router: Router
) -> None:
    """StopIteration cannot cross a future; it arrives as a failure instead of a hang."""

    @registry.tool
    def exhausted() -> int:
        return next(iter([]))

    response = await asyncio.wait_for(router(request("exhausted")), 5)
    error = response.error
    assert isinstance(error, ToolFailedError)
    assert error.message == "'exhausted' raised StopIteration"
    assert isinstance(error.__cause__, StopIteration)


async def test_not_found_from_the_router(registry: LocalRegistry, router: Router) -> None:
    """An unknown target is not_found, bound to the request, with close matches."""
    called = []

    @registry.tool
    def search() -> None:
        called.append(True)

    response = await router(request("serch"))
    error = response.error
    assert isinstance(error, NotFoundError)
    assert error.category is ErrorCategory.NOT_FOUND
    assert (error.request_id, error.target) == ("req-1", "serch")
    assert error.candidates == ("search",)
    assert called == []


async def test_plugin_actions_are_routed(registry: LocalRegistry, router: Router) -> None:
    """kind, target and action select a plugin method."""

    class Counter:
        def __init__(self) -> None:
            self.value = 0

        def bump(self, by: int) -> int:
            self.value += by
            return self.value

    registry.plugin(Counter)
    call = request("counter", {"by": 2}, kind=Kind.PLUGIN, action="bump")
    assert (await router(call)).unwrap() == 2
    assert (await router(call)).unwrap() == 4


async def test_close_releases_the_worker_threads(registry: LocalRegistry) -> None:
    """After close() the worker threads exit."""

    @registry.tool
    def ident() -> int:
        return threading.get_ident()

    router = Router(registry, workers=1)
    worker = (await router(request("ident"))).unwrap()
    thread = next(t for t in threading.enumerate() if t.ident == worker)
    router.close()
    await asyncio.to_thread(thread.join, 5)
    assert not thread.is_alive()


async def test_a_closed_router_refuses_sync_calls(registry: LocalRegistry) -> None:
    """After close() a sync call is 'unavailable' instead of quietly starting a new pool."""

    @registry.tool
    def ident() -> int:
        return threading.get_ident()

    router = Router(registry, workers=1)
    router.close()
    error = (await router(request("ident"))).error
    assert isinstance(error, UnavailableError)
    assert "router was closed" in error.message


async def test_close_drops_queued_calls_as_unavailable(registry: LocalRegistry) -> None:
    """A call still queued when the router closes gets 'unavailable', not a stray cancel."""
    started, release = threading.Event(), threading.Event()

    @registry.tool
    def block() -> str:
        started.set()
        release.wait(5)
        return "finished"

    router = Router(registry, workers=1)
    running = asyncio.create_task(router(request("block")))
    queued = asyncio.create_task(router(request("block")))
    assert await asyncio.to_thread(started.wait, 5)
    router.close()
    release.set()
    assert (await running).unwrap() == "finished"
    error = (await queued).error
    assert isinstance(error, UnavailableError)
    assert error.target == "block"


async def test_cancelling_the_caller_of_a_sync_handler_propagates(
    registry: LocalRegistry,
) -> None:
    """Cancelling the awaiting task raises CancelledError; it is not turned into an error."""
    started, release = threading.Event(), threading.Event()

    @registry.tool
    def block() -> None:
        started.set()
        release.wait(5)

    router = Router(registry, workers=1)
    task = asyncio.create_task(router(request("block")))
    assert await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    router.close()


async def test_router_as_pipeline_terminal(registry: LocalRegistry) -> None:
    """route(registry) builds a Router with the pipeline clock and the worker bound."""

    @registry.tool
    def ping() -> str:
        return "pong"

    pipeline = PipelineBuilder(clock=FakeClock()).route(registry, workers=3).build()
    assert isinstance(pipeline.terminal, Router)
    assert pipeline.terminal.workers == 3
    response = await pipeline.invoke("ping")
    assert response.unwrap() == "pong"
    assert response.started_at == response.finished_at == 1000.0
    pipeline.terminal.close()
    assert repr(pipeline.terminal) == "Router(LocalRegistry('local', entries=1, lazy=0))"


async def test_a_sync_wrapper_around_async_work_is_awaited(registry: LocalRegistry) -> None:
    """A functools.wraps decorator or a lambda returning a coroutine runs the coroutine."""
    import functools

    sent: list[str] = []

    def logged(function: Any) -> Any:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

        return wrapper

    @registry.tool
    @logged
    async def send(to: str) -> str:
        sent.append(to)
        return "sent"

    async def double(n: int) -> int:
        return n * 2

    registry.add(lambda n: double(n), name="twice")
    router = Router(registry)
    assert registry.resolve(Kind.TOOL, "send").is_async
    assert (await router(request("send", {"to": "a@example.com"}))).unwrap() == "sent"
    assert sent == ["a@example.com"]
    assert (await router(request("twice", {"n": 4}))).unwrap() == 8
    router.close()


async def test_system_exit_from_a_handler_is_a_tool_failure(registry: LocalRegistry) -> None:
    """sys.exit() in a sync or async tool (argparse does it) fails the call, not the process."""
    import sys

    @registry.tool
    def sync_exit() -> None:
        sys.exit(2)

    @registry.tool
    async def async_exit() -> None:
        sys.exit(2)

    router = Router(registry)
    for name in ("sync_exit", "async_exit"):
        error = (await router(request(name))).error
        assert isinstance(error, ToolFailedError)
        assert "SystemExit" in error.message
    router.close()


async def test_a_handlers_own_cancellation_is_a_tool_failure(registry: LocalRegistry) -> None:
    """A handler awaiting something someone else cancelled fails; the caller is not cancelled."""

    @registry.tool
    async def waits_on_cancelled() -> None:
        inner = asyncio.get_running_loop().create_future()
        inner.cancel()
        await inner

    error = (await Router(registry)(request("waits_on_cancelled"))).error
    assert isinstance(error, ToolFailedError)
    assert "CancelledError" in error.message


async def test_an_exception_that_cannot_be_printed_is_still_reported(
    registry: LocalRegistry,
) -> None:
    """A handler's exception whose __str__ raises still becomes a tool_failed response."""

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("cannot render")

    @registry.tool
    async def odd() -> None:
        raise Unprintable

    error = (await Router(registry)(request("odd"))).error
    assert isinstance(error, ToolFailedError)
    assert "Unprintable: <str() of the exception failed>" in error.message


class ToolAbort(BaseException):
    """A BaseException subclass a tool might raise (not an Exception)."""


@pytest.mark.parametrize(
    ("exception", "named"),
    [
        (KeyboardInterrupt(), "KeyboardInterrupt"),
        (SystemExit(3), "SystemExit (exit code 3)"),
        (GeneratorExit(), "GeneratorExit"),
        (ToolAbort("stop"), "ToolAbort: stop"),
    ],
)
@pytest.mark.parametrize("sync", [True, False])
async def test_base_exceptions_from_a_tool_are_typed_failures(
    registry: LocalRegistry, exception: BaseException, named: str, sync: bool
) -> None:
    """KeyboardInterrupt, SystemExit(3), GeneratorExit and custom BaseExceptions never escape."""
    if sync:

        def tool() -> None:
            raise exception

    else:

        async def tool() -> None:  # type: ignore[misc]
            raise exception

    registry.tool(tool, name="bad", retryable_on=(Exception,))
    router = Router(registry)
    response = await router(request("bad"))
    router.close()
    error = response.error
    assert isinstance(error, ToolFailedError)
    assert named in error.message
    assert error.retryable is False
    assert error.request_id == "req-1"
    assert response.started_at <= response.finished_at


async def test_result_validator_checks_the_value(registry: LocalRegistry) -> None:
    """An entry's result_validator runs on the value; its ToolwareError becomes the answer."""
    import msgspec

    @registry.tool
    async def count() -> int:
        return 3

    entry = registry.resolve(Kind.TOOL, "count")

    def refuse(value: object) -> object:
        raise ToolFailedError(f"'count' returned {value!r}, expected something else")

    router = Router(registry)
    checked = msgspec.structs.replace(entry, result_validator=lambda value: value * 2)
    doubled = await router(msgspec.structs.replace(request("count"), resolution=checked))
    assert doubled.unwrap() == 6
    refused = msgspec.structs.replace(entry, result_validator=refuse)
    response = await router(msgspec.structs.replace(request("count"), resolution=refused))
    assert isinstance(response.error, ToolFailedError)
    assert response.error.request_id == "req-1"
    router.close()


def test_a_router_on_another_clock_is_refused_with_the_fix() -> None:
    """bind_clock() names both clocks and says to let the builder make the router."""
    mine, other = FakeClock(), FakeClock()
    with pytest.raises(ValueError, match="clock") as caught:
        Router(LocalRegistry(), clock=mine).bind_clock(other)
    assert str(caught.value) == (
        f"the router keeps time on {mine!r}, but its pipeline uses {other!r}; "
        "let PipelineBuilder(clock=...).route(registry) make the router"
    )


async def test_failures_are_timed_on_the_router_clock(registry: LocalRegistry) -> None:
    """A raised ToolwareError, an exception and a tool's own CancelledError all carry the
    instant the handler started."""
    clock = FakeClock()

    @registry.tool
    async def refuse() -> str:
        await clock.sleep(1)
        raise ForbiddenError("no")

    @registry.tool
    async def crash() -> str:
        await clock.sleep(1)
        raise ValueError("bad")

    @registry.tool
    async def cancel_itself() -> str:
        await clock.sleep(1)
        raise asyncio.CancelledError

    router = Router(registry, clock=clock)
    for name, error_type in (
        ("refuse", ForbiddenError),
        ("crash", ToolFailedError),
        ("cancel_itself", ToolFailedError),
    ):
        start = clock.monotonic()
        task = asyncio.create_task(router(request(name)))
        await clock.advance(1)
        response = await task
        assert isinstance(response.error, error_type)
        assert (response.started_at, response.finished_at) == (start, start + 1)
    router.close()


async def test_a_lazy_import_is_bounded_on_the_router_clock() -> None:
    """An import still running at the request's deadline (on the router's clock) is answered
    with a 'not started' timeout then, not before."""
    clock = FakeClock()
    release = threading.Event()

    class SlowImports(LocalRegistry):
        """Every entry looks not yet imported, and importing waits for the test."""

        @property
        def lookup(self) -> Any:
            return lambda key: None

        def is_pending(self, kind: Kind, name: str) -> bool:
            return True

        def resolve(self, kind: Kind, name: str, action: str | None = None) -> Any:
            release.wait(10)
            return super().resolve(kind, name, action)

    registry = SlowImports()

    @registry.tool
    async def tool() -> str:
        return "ok"

    router = Router(registry, clock=clock)
    call = request("tool", deadline=clock.monotonic() + 2, clock=clock)
    task = asyncio.create_task(router(call))
    await clock.advance(1.9)
    assert not task.done()
    await clock.advance(0.1)
    error = (await asyncio.wait_for(task, 5)).error
    release.set()
    assert error is not None
    assert error.category is ErrorCategory.TIMEOUT
    assert "was not started" in error.message
    await router.aclose()


async def test_close_does_not_wait_for_a_running_sync_handler(registry: LocalRegistry) -> None:
    """close() returns while a sync tool is still running in its worker thread."""
    entered, release = threading.Event(), threading.Event()

    @registry.tool
    def stuck() -> str:
        entered.set()
        release.wait(10)
        return "done"

    router = Router(registry)
    running = asyncio.create_task(router(request("stuck")))
    await asyncio.to_thread(entered.wait, 5)
    closing = asyncio.create_task(asyncio.to_thread(router.close))
    await asyncio.wait((closing,), timeout=5)
    assert closing.done()
    assert not release.is_set()
    release.set()
    await asyncio.wait_for(running, 5)
