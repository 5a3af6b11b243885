"""Tests for toolware.interceptors.concurrency_limit: the in-flight bound, the FIFO wait queue,
wait_timeout and deadlines, cancelled waiters and keys, on a real pipeline and a fake clock."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

import pytest

from toolware import (
    CallTimeoutError,
    ErrorCategory,
    InternalError,
    Pipeline,
    PipelineBuilder,
    Principal,
    RequestContext,
    ResponseContext,
    TimeoutInterceptor,
)
from toolware.errors import ConcurrencyLimitedError
from toolware.interceptors.concurrency_limit import ConcurrencyLimitInterceptor
from toolware.markers import WAITED
from toolware.testing import FakeClock, FakeHandler, settle
from toolware.types import CallNext


class Gauge:
    """A handler that sleeps ``seconds`` on the clock, recording the order of entry and the
    most calls it saw at once."""

    def __init__(self, clock: FakeClock, seconds: float = 1.0) -> None:
        self.clock, self.seconds = clock, seconds
        self.now = self.peak = 0
        self.order: list[str] = []
        self.started: list[float] = []

    async def __call__(self, request: RequestContext) -> ResponseContext:
        self.order.append(str(request.arguments.get("n", request.target)))
        self.started.append(self.clock.monotonic())
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await self.clock.sleep(self.seconds)
        finally:
            self.now -= 1
        return ResponseContext.success("ok")


def bounded(
    clock: FakeClock, handler: Any, *, outer: Any = None, **options: Any
) -> tuple[Pipeline, ConcurrencyLimitInterceptor]:
    """A pipeline with a ConcurrencyLimitInterceptor (and maybe an outer stage) in front."""
    limiter = ConcurrencyLimitInterceptor(**options)
    builder = PipelineBuilder(clock=clock)
    if outer is not None:
        builder.use(outer)
    return builder.use(limiter).route(handler).build(), limiter


def refusal(response: ResponseContext) -> ConcurrencyLimitedError:
    error = response.error
    assert isinstance(error, ConcurrencyLimitedError)
    return error


# --- options -------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_must_be_at_least_one(limit: int) -> None:
    """limit < 1 is refused with its value."""
    with pytest.raises(ValueError, match=rf"^limit must be a whole number >= 1, got {limit}$"):
        ConcurrencyLimitInterceptor(limit=limit)


@pytest.mark.parametrize("limit", [True, 2.0, "2"])
def test_limit_must_be_an_int(limit: object) -> None:
    """A bool, float or string limit is a TypeError."""
    with pytest.raises(TypeError, match=r"^limit must be a whole number >= 1"):
        ConcurrencyLimitInterceptor(limit=limit)  # type: ignore[arg-type]


def test_max_waiting_must_not_be_negative() -> None:
    """max_waiting < 0 is refused; a bool is a TypeError; 0 is the default."""
    with pytest.raises(ValueError, match=r"^max_waiting must be a whole number >= 0, got -1$"):
        ConcurrencyLimitInterceptor(limit=1, max_waiting=-1)
    with pytest.raises(TypeError, match=r"^max_waiting must be a whole number >= 0, got True"):
        ConcurrencyLimitInterceptor(limit=1, max_waiting=True)
    assert ConcurrencyLimitInterceptor(limit=1, max_waiting=0).max_waiting == 0


@pytest.mark.parametrize("wait_timeout", [0, -1.0, math.nan, math.inf])
def test_wait_timeout_must_be_positive_and_finite(wait_timeout: float) -> None:
    """wait_timeout <= 0, NaN and inf are refused."""
    with pytest.raises(ValueError, match=r"^wait_timeout must be a finite number of seconds > 0"):
        ConcurrencyLimitInterceptor(limit=1, wait_timeout=wait_timeout)


@pytest.mark.parametrize("wait_timeout", [True, "1"])
def test_wait_timeout_must_be_a_number(wait_timeout: object) -> None:
    """A bool or a string wait_timeout is a TypeError."""
    with pytest.raises(TypeError, match=r"^wait_timeout must be a number of seconds, got"):
        ConcurrencyLimitInterceptor(limit=1, wait_timeout=wait_timeout)  # type: ignore[arg-type]


def test_key_and_clock_are_checked() -> None:
    """An unknown key kind, a non-callable key and a non-clock are refused."""
    with pytest.raises(ValueError, match=r"^ConcurrencyLimitInterceptor key must be .*'tool'"):
        ConcurrencyLimitInterceptor(limit=1, key="tool")
    with pytest.raises(TypeError, match=r"^ConcurrencyLimitInterceptor key must be .* got float"):
        ConcurrencyLimitInterceptor(limit=1, key=1.5)
    with pytest.raises(TypeError, match=r"^clock must implement toolware.clock.Clock"):
        ConcurrencyLimitInterceptor(limit=1, clock=object())  # type: ignore[arg-type]


def test_defaults_and_repr() -> None:
    """Defaults: per target, no queue, no wait timeout of its own."""
    limiter = ConcurrencyLimitInterceptor(limit=4, wait_timeout=2)
    assert (limiter.limit, limiter.max_waiting, limiter.key) == (4, 0, "target")
    assert limiter.wait_timeout == 2.0
    assert limiter.name == "concurrency_limit"
    assert repr(limiter) == (
        "ConcurrencyLimitInterceptor(limit=4, max_waiting=0, wait_timeout=2.0, key='target')"
    )


def test_an_explicit_clock_refuses_another_pipeline_clock() -> None:
    """Given a clock, it accepts that same clock again and refuses a different one."""
    mine, other = FakeClock(), FakeClock()
    limiter = ConcurrencyLimitInterceptor(limit=1, clock=mine)
    limiter.bind_clock(mine)
    with pytest.raises(ValueError, match=r"^ConcurrencyLimitInterceptor uses clock .* pipeline"):
        PipelineBuilder(clock=other).use(limiter).route(FakeHandler()).build()


# --- the bound -----------------------------------------------------------------------------


async def test_never_more_than_limit_in_flight_under_many_tasks() -> None:
    """20 calls, limit 3, all queued: at most 3 run at once, in waves one second apart."""
    clock = FakeClock()
    gauge = Gauge(clock)
    pipeline, limiter = bounded(clock, gauge, limit=3, max_waiting=17)
    tasks = [asyncio.create_task(pipeline.invoke("t", {"n": n})) for n in range(20)]
    await settle()
    assert (limiter.in_flight("t"), limiter.waiting("t")) == (3, 17)
    await clock.advance(7.0)
    responses = [task.result() for task in tasks]
    assert gauge.peak == 3
    assert gauge.order == [str(n) for n in range(20)]
    assert gauge.started == [1000.0 + n // 3 for n in range(20)]
    assert [r.get(WAITED) for r in responses] == [float(n // 3) for n in range(20)]
    assert [r.ok for r in responses] == [True] * 20
    assert (limiter.keys, limiter.in_flight("t"), limiter.waiting("t")) == (0, 0, 0)


async def test_full_without_a_queue_refuses_at_once() -> None:
    """max_waiting=0: the call over the limit is refused at once, saying how full it was."""
    clock = FakeClock()
    gauge = Gauge(clock)
    pipeline, _ = bounded(clock, gauge, limit=2)
    running = [asyncio.create_task(pipeline.invoke("search")) for _ in range(2)]
    await settle()
    response = await pipeline.invoke("search")
    error = refusal(response)
    assert (error.limit, error.in_flight, error.waiting, error.max_waiting) == (2, 2, 0, 0)
    assert error.category is ErrorCategory.UNAVAILABLE
    assert error.retryable is True
    assert error.target == "search"
    assert error.message == ("'search' refused: 2 of 2 calls in flight per target, 0 of 0 waiting")
    assert error.hint == "lower the number of concurrent calls, or raise the concurrency limit"
    assert gauge.order == ["search", "search"]
    await clock.advance(1.0)
    assert all(task.result().ok for task in running)
    after = asyncio.create_task(pipeline.invoke("search", {"n": "after"}))
    await clock.advance(1.0)
    assert after.result().get(WAITED) == 0.0


async def test_a_full_queue_refuses_the_next_caller() -> None:
    """limit 1, max_waiting 1: one runs, one waits, the third is refused with the counts."""
    clock = FakeClock()
    pipeline, _ = bounded(clock, Gauge(clock), limit=1, max_waiting=1)
    first = asyncio.create_task(pipeline.invoke("t"))
    second = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    error = refusal(await pipeline.invoke("t"))
    assert (error.in_flight, error.waiting, error.max_waiting) == (1, 1, 1)
    assert error.message == "'t' refused: 1 of 1 calls in flight per target, 1 of 1 waiting"
    await clock.advance(2.0)
    assert first.result().ok
    assert second.result().get(WAITED) == 1.0


async def test_waiters_are_served_in_arrival_order() -> None:
    """A freed slot goes to the longest waiter: FIFO."""
    clock = FakeClock()
    gauge = Gauge(clock)
    pipeline, _ = bounded(clock, gauge, limit=1, max_waiting=3)
    tasks = []
    for name in "ABCD":
        tasks.append(asyncio.create_task(pipeline.invoke("t", {"n": name})))
        await clock.advance(0.1)
    await clock.advance(4.0)
    assert gauge.order == ["A", "B", "C", "D"]
    assert gauge.started == [1000.0, 1001.0, 1002.0, 1003.0]


async def test_a_newcomer_never_jumps_the_queue() -> None:
    """A call arriving as a slot is handed over waits behind the one it was handed to."""
    clock = FakeClock()
    gauge = Gauge(clock)
    pipeline, _ = bounded(clock, gauge, limit=1, max_waiting=2)
    first = asyncio.create_task(pipeline.invoke("t", {"n": "first"}))
    await settle()
    second = asyncio.create_task(pipeline.invoke("t", {"n": "second"}))
    await settle()
    clock.advance_now(1.0)  # first's sleep is over; it has not run yet
    await asyncio.sleep(0)  # first releases, the slot is handed to second
    newcomer = asyncio.create_task(pipeline.invoke("t", {"n": "newcomer"}))
    await clock.advance(2.0)
    assert gauge.order == ["first", "second", "newcomer"]
    assert [t.result().ok for t in (first, second, newcomer)] == [True, True, True]


# --- how long a call waits -----------------------------------------------------------------


async def test_wait_timeout_refuses_at_the_exact_instant() -> None:
    """A waiter is refused exactly wait_timeout after it began waiting, and leaves the queue."""
    clock = FakeClock()
    pipeline, limiter = bounded(clock, Gauge(clock, 10.0), limit=1, max_waiting=1, wait_timeout=0.5)
    holder = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    waiter = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(0.499)
    assert not waiter.done()
    assert limiter.waiting("t") == 1
    await clock.advance(0.001)
    error = refusal(waiter.result())
    assert (error.in_flight, error.waiting) == (1, 0)
    assert error.message.endswith(
        "0 of 1 waiting; no slot freed within the 0.500s this call could wait"
    )
    assert error.hint == "raise wait_timeout= or give the call a later deadline, or lower the load"
    assert limiter.waiting("t") == 0
    assert clock.pending == 1  # only the holder's sleep: the waiter's timer is gone
    await clock.advance(10.0)
    assert holder.result().ok
    assert limiter.keys == 0


@pytest.mark.parametrize(
    ("wait_timeout", "seconds", "refused_at"),
    [(None, 0.3, 1000.3), (0.5, 0.3, 1000.3), (0.2, 0.3, 1000.2)],
)
async def test_the_earlier_of_wait_timeout_and_deadline_ends_the_wait(
    wait_timeout: float | None, seconds: float, refused_at: float
) -> None:
    """The deadline bounds the wait; with wait_timeout too, the earlier one wins."""
    clock = FakeClock()
    pipeline, _ = bounded(
        clock, Gauge(clock, 10.0), limit=1, max_waiting=1, wait_timeout=wait_timeout
    )
    holder = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    waiter = asyncio.create_task(pipeline.invoke("t", timeout=seconds))
    ended: list[float] = []
    waiter.add_done_callback(lambda _: ended.append(clock.monotonic()))
    await clock.advance(1.0)
    assert ended == [refused_at]
    refusal(waiter.result())
    await clock.advance(10.0)
    assert holder.result().ok


async def test_a_call_past_its_deadline_does_not_wait() -> None:
    """Full, with the deadline already over: refused at once, having waited 0 s."""
    clock = FakeClock()
    pipeline, limiter = bounded(clock, Gauge(clock), limit=1, max_waiting=1)
    holder = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    response = await pipeline.invoke("t", deadline=1000.0)
    assert refusal(response).message.endswith("within the 0.000s this call could wait")
    assert limiter.waiting("t") == 0
    await clock.advance(1.0)
    assert holder.result().ok


async def test_without_timeout_or_deadline_a_waiter_waits_for_the_slot() -> None:
    """No wait_timeout and no deadline: no timer; the waiter runs when the slot frees."""
    clock = FakeClock()
    pipeline, _ = bounded(clock, Gauge(clock, 30.0), limit=1, max_waiting=1)
    holder = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    waiter = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    assert clock.pending == 1
    await clock.advance(60.0)
    assert waiter.result().get(WAITED) == 30.0
    assert holder.result().ok


# --- cancellation --------------------------------------------------------------------------


async def test_a_cancelled_waiter_leaves_the_queue_and_order_is_kept() -> None:
    """Cancelling a waiter takes it out; the others keep their order; nothing leaks."""
    clock = FakeClock()
    gauge = Gauge(clock)
    pipeline, limiter = bounded(clock, gauge, limit=1, max_waiting=3, wait_timeout=10.0)
    tasks = {}
    for name in "ABCD":
        tasks[name] = asyncio.create_task(pipeline.invoke("t", {"n": name}))
        await settle()
    tasks["C"].cancel()
    await settle()
    assert limiter.waiting("t") == 2
    assert clock.pending == 3  # A's sleep, B's and D's wait timers
    await clock.advance(3.0)
    assert gauge.order == ["A", "B", "D"]
    assert tasks["C"].cancelled()
    assert (limiter.keys, limiter.waiting("t"), clock.pending) == (0, 0, 0)


async def test_a_cancelled_call_in_flight_frees_its_slot() -> None:
    """Cancelling a running call releases its slot to the first waiter."""
    clock = FakeClock()
    gauge = Gauge(clock, 5.0)
    pipeline, limiter = bounded(clock, gauge, limit=1, max_waiting=1)
    holder = asyncio.create_task(pipeline.invoke("t", {"n": "holder"}))
    waiter = asyncio.create_task(pipeline.invoke("t", {"n": "waiter"}))
    await clock.advance(1.0)
    holder.cancel()
    await clock.advance(5.0)
    assert gauge.started == [1000.0, 1001.0]
    assert waiter.result().get(WAITED) == 1.0
    assert limiter.keys == 0


async def test_a_waiter_cancelled_as_the_slot_is_handed_to_it_passes_it_on() -> None:
    """Granted and cancelled in the same step: the slot goes to the next waiter, not lost."""
    clock = FakeClock()
    gauge = Gauge(clock)
    tasks: dict[str, asyncio.Task[ResponseContext]] = {}

    async def cancel_b_when_a_ends(request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        if request.arguments["n"] == "A":
            tasks["B"].cancel()  # B's slot was handed over in this very step
        return response

    pipeline, limiter = bounded(clock, gauge, outer=cancel_b_when_a_ends, limit=1, max_waiting=2)
    for name in "ABC":
        tasks[name] = asyncio.create_task(pipeline.invoke("t", {"n": name}))
        await settle()
    await clock.advance(3.0)
    assert gauge.order == ["A", "C"]
    assert tasks["B"].cancelled()
    assert tasks["C"].result().get(WAITED) == 1.0
    assert limiter.keys == 0


async def test_a_waiter_timed_out_then_cancelled_leaves_cleanly() -> None:
    """Its wait ran out and it was cancelled before it could answer: no slot is taken."""
    clock = FakeClock()
    pipeline, limiter = bounded(clock, Gauge(clock), limit=1, max_waiting=1, wait_timeout=0.5)
    holder = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    waiter = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    clock.advance_now(0.5)  # the wait is over, the waiter has not run yet
    waiter.cancel()
    await settle()
    assert waiter.cancelled()
    assert limiter.waiting("t") == 0
    await clock.advance(1.0)
    assert holder.result().ok
    assert limiter.keys == 0


async def test_a_timed_out_waiter_skipped_by_a_release_is_refused() -> None:
    """A release that finds the first waiter already timed out hands the slot to the next."""
    clock = FakeClock()
    gauge = Gauge(clock, 0.5)
    pipeline, limiter = bounded(clock, gauge, limit=1, max_waiting=3, wait_timeout=0.5)
    tasks = {"A": asyncio.create_task(pipeline.invoke("t", {"n": "A"}))}
    tasks["B"] = asyncio.create_task(pipeline.invoke("t", {"n": "B"}))
    await clock.advance(0.1)
    for name in "CD":
        tasks[name] = asyncio.create_task(pipeline.invoke("t", {"n": name}))
    await clock.advance(0.4)  # A ends as B's wait runs out: C gets the slot, D still waits
    error = refusal(tasks["B"].result())
    assert (error.in_flight, error.waiting) == (1, 1)
    await clock.advance(1.0)
    assert gauge.order == ["A", "C"]
    assert refusal(tasks["D"].result()).waiting == 0  # its own wait ran out at 1000.6
    assert tasks["C"].result().ok
    assert limiter.keys == 0


async def test_a_waiter_timing_out_as_the_last_slot_frees_is_refused_with_empty_counts() -> None:
    """The holder ends in the same instant the only waiter's wait runs out: refused, 0 in
    flight, and the key is forgotten."""
    clock = FakeClock()
    pipeline, limiter = bounded(clock, Gauge(clock, 0.5), limit=1, max_waiting=1, wait_timeout=0.5)
    holder = asyncio.create_task(pipeline.invoke("t"))
    waiter = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(0.5)
    assert holder.result().ok
    error = refusal(waiter.result())
    assert (error.in_flight, error.waiting) == (0, 0)
    assert limiter.keys == 0


# --- keys ----------------------------------------------------------------------------------


async def test_keys_are_counted_apart_and_forgotten_when_idle() -> None:
    """Per target by default: another target has its own slots; idle keys are dropped."""
    clock = FakeClock()
    pipeline, limiter = bounded(clock, Gauge(clock), limit=1)
    a = asyncio.create_task(pipeline.invoke("a"))
    b = asyncio.create_task(pipeline.invoke("b", action="x"))
    await settle()
    assert (limiter.keys, limiter.in_flight("a"), limiter.in_flight("b.x")) == (2, 1, 1)
    assert refusal(await pipeline.invoke("a")).in_flight == 1
    await clock.advance(1.0)
    assert a.result().ok
    assert b.result().ok
    assert limiter.keys == 0


async def test_key_principal_counts_per_principal() -> None:
    """Per principal: alice's calls do not fill bob's slots."""
    clock = FakeClock()
    pipeline, limiter = bounded(clock, Gauge(clock), limit=1, key="principal")
    alice = Principal(id="alice")
    first = asyncio.create_task(pipeline.invoke("a", principal=alice))
    await settle()
    assert not (await pipeline.invoke("b", principal=alice)).ok
    second = asyncio.create_task(pipeline.invoke("a", principal=Principal(id="bob")))
    await settle()
    assert (limiter.in_flight("alice"), limiter.in_flight("bob")) == (1, 1)
    await clock.advance(1.0)
    assert first.result().ok
    assert second.result().ok


async def test_a_callable_object_as_key() -> None:
    """A key may be any callable; messages name it by its type."""

    class ByTenant:
        def __call__(self, request: RequestContext) -> str:
            return str(request.arguments["tenant"])

    clock = FakeClock()
    pipeline, _ = bounded(clock, Gauge(clock), limit=1, key=ByTenant())
    running = asyncio.create_task(pipeline.invoke("a", {"tenant": "x"}))
    await settle()
    assert (await pipeline.invoke("a", {"tenant": "x"})).error is not None
    assert "per function ByTenant" in str(refusal(await pipeline.invoke("b", {"tenant": "x"})))
    other = asyncio.create_task(pipeline.invoke("a", {"tenant": "y"}))
    await clock.advance(1.0)
    assert running.result().ok
    assert other.result().ok


async def test_a_failing_key_function_answers_internal(caplog: pytest.LogCaptureFixture) -> None:
    """A key function that raises, or returns a non-string, is an internal error naming us."""
    clock = FakeClock()
    boom = RuntimeError("no tenant")

    def broken(request: RequestContext) -> str:
        raise boom

    handler = FakeHandler()
    with caplog.at_level(logging.ERROR, logger="toolware.interceptors.concurrency_limit"):
        pipeline, _ = bounded(clock, handler, limit=1, key=broken)
        response = await pipeline.invoke("t")
    error = response.error
    assert isinstance(error, InternalError)
    assert error.interceptor == "concurrency_limit"
    assert error.__cause__ is boom
    assert error.message.endswith("broken raised RuntimeError for 't'")
    assert (
        caplog.records[0]
        .getMessage()
        .startswith("concurrency_limit.key_failed target=t key=function ")
    )
    pipeline, limiter = bounded(clock, handler, limit=1, key=lambda request: None)
    error = (await pipeline.invoke("t")).error
    assert isinstance(error, InternalError)
    assert error.message.endswith("returned NoneType, not a str for 't'")
    assert handler.call_count == 0
    assert limiter.keys == 0


async def test_long_keys_are_bounded() -> None:
    """A key longer than 256 characters is counted under a bounded stand-in."""
    clock = FakeClock()
    pipeline, limiter = bounded(
        clock, Gauge(clock), limit=1, key=lambda request: request.arguments["k"]
    )
    long = asyncio.create_task(pipeline.invoke("t", {"k": "k" * 1000}))
    exact = asyncio.create_task(pipeline.invoke("t", {"k": "e" * 256}))
    await settle()
    assert [len(key) for key in limiter._counts] == [128 + 1 + 32, 256]
    assert limiter.in_flight("e" * 256) == 1
    await clock.advance(1.0)
    assert long.result().ok
    assert exact.result().ok


# --- responses -----------------------------------------------------------------------------


async def test_waited_adds_to_an_outer_stage_wait() -> None:
    """WAITED is the seconds spent queued plus what an inner stage reported."""
    clock = FakeClock()

    async def inner(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return (await call_next(request)).with_extra(WAITED, 0.25)

    limiter = ConcurrencyLimitInterceptor(limit=1, max_waiting=1)
    pipeline = PipelineBuilder(clock=clock).use(limiter).use(inner).route(Gauge(clock)).build()
    first = asyncio.create_task(pipeline.invoke("t"))
    second = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(2.0)
    assert first.result().get(WAITED) == 0.25
    assert second.result().get(WAITED) == 1.25


async def test_a_crash_below_releases_the_slot() -> None:
    """An interceptor below that raises: the call answers internal and its slot is freed."""
    clock = FakeClock()

    async def crash(request: RequestContext, call_next: CallNext) -> ResponseContext:
        raise ValueError("bug")

    limiter = ConcurrencyLimitInterceptor(limit=1)
    pipeline = PipelineBuilder(clock=clock).use(limiter).use(crash).route(FakeHandler()).build()
    assert (await pipeline.invoke("t")).error is not None
    assert limiter.keys == 0


async def test_refusals_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """concurrency_limit.refused with the target, the key and the counts."""
    clock = FakeClock()
    pipeline, _ = bounded(clock, Gauge(clock), limit=1)
    running = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    with caplog.at_level(logging.DEBUG, logger="toolware.interceptors.concurrency_limit"):
        await pipeline.invoke("t")
    [record] = caplog.records
    assert record.levelno == logging.DEBUG
    assert record.getMessage() == "concurrency_limit.refused target=t key=t in_flight=1 waiting=0"
    assert (record.in_flight, record.waiting) == (1, 0)  # type: ignore[attr-defined]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="toolware.interceptors.concurrency_limit"):
        await pipeline.invoke("t")
    assert caplog.records == []
    await clock.advance(1.0)
    assert running.result().ok


async def test_used_without_a_pipeline_it_waits_on_the_system_clock() -> None:
    """Unbound, waits are timed on system_clock (no real sleep: the slot is freed by hand)."""
    limiter = ConcurrencyLimitInterceptor(limit=1, max_waiting=1)
    gate = asyncio.Event()

    async def handler(request: RequestContext) -> ResponseContext:
        await gate.wait()
        return ResponseContext.success(1)

    first = asyncio.create_task(limiter(RequestContext.create("t"), handler))
    second = asyncio.create_task(limiter(RequestContext.create("t"), handler))
    await settle()
    assert limiter.waiting("t") == 1
    gate.set()
    waited = (await second).get(WAITED)
    assert waited is not None
    assert 0.0 <= waited < 5.0
    assert (await first).ok


async def test_a_wait_timer_firing_after_the_grant_changes_nothing() -> None:
    """The waiter's timer fires after the slot was handed to it but before it ran: it keeps
    the slot."""
    clock = FakeClock()
    gauge = Gauge(clock, 0.25)

    async def jump_when_a_ends(request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        if request.arguments["n"] == "A":
            clock.advance_now(0.25)  # past B's wait timeout, in the very step of the grant
        return response

    pipeline, limiter = bounded(
        clock, gauge, outer=jump_when_a_ends, limit=1, max_waiting=1, wait_timeout=0.5
    )
    a = asyncio.create_task(pipeline.invoke("t", {"n": "A"}))
    b = asyncio.create_task(pipeline.invoke("t", {"n": "B"}))
    await clock.advance(1.0)
    assert a.result().ok
    assert b.result().get(WAITED) == 0.5
    assert gauge.order == ["A", "B"]
    assert limiter.keys == 0


async def test_a_call_that_did_not_wait_is_answered_untouched() -> None:
    """Below the limit the handler's response comes back as it is: no WAITED added."""
    clock = FakeClock()
    answer = ResponseContext.success("ok")

    async def handler(request: RequestContext) -> ResponseContext:
        return answer

    pipeline, limiter = bounded(clock, handler, limit=1)
    assert await pipeline.invoke("t") is answer
    assert limiter.keys == 0


async def test_a_waiter_cut_by_an_outer_timeout_never_started() -> None:
    """Cancelled by the timeout while queued: timeout, started=False, and the queue is left."""
    clock = FakeClock()
    gauge = Gauge(clock, 5.0)
    limiter = ConcurrencyLimitInterceptor(limit=1, max_waiting=1)
    pipeline = (
        PipelineBuilder(clock=clock)
        .use(TimeoutInterceptor(timeout=None))  # enforces each request's own deadline
        .use(limiter)
        .route(gauge)
        .build()
    )
    holder = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(0.25)
    waiter = asyncio.create_task(pipeline.invoke("t", timeout=1.0))
    await clock.advance(1.0)
    error = waiter.result().error
    assert isinstance(error, CallTimeoutError)
    assert error.started is False
    assert "(all 1 slots of its target in use; waited 1.000s for one)" in error.message
    assert limiter.waiting("t") == 0
    await clock.advance(5.0)
    assert holder.result().ok
    assert gauge.order == ["t"]
    assert limiter.keys == 0
