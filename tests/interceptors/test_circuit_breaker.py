"""Tests for toolware.interceptors.circuit_breaker: opening, refusing, probing, closing, events,
what counts as a failure, keys and the store (fake clock, exact instants)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from tests.pipeline_support import Crasher
from toolware import (
    CallCancelledError,
    CallTimeoutError,
    CircuitOpenError,
    InternalError,
    NotFoundError,
    Pipeline,
    PipelineBuilder,
    RateLimitedError,
    RequestContext,
    ResponseContext,
    ToolFailedError,
    ToolwareError,
    UnavailableError,
)
from toolware.errors import ConcurrencyLimitedError
from toolware.interceptors.circuit_breaker import CircuitBreakerInterceptor
from toolware.state.base import BreakerChange, BreakerState
from toolware.state.memory import MemoryState
from toolware.testing import FakeClock

CLOSED = BreakerState.CLOSED
OPEN = BreakerState.OPEN
HALF_OPEN = BreakerState.HALF_OPEN
ISOLATED = BreakerState.ISOLATED


def tool_failed() -> ToolwareError:
    return ToolFailedError("broke")


class Target:
    """A terminal answering ``value``, or a fresh error from ``error()`` when it is set."""

    def __init__(self, clock: FakeClock | None = None, delay: float = 0.0) -> None:
        self.error: Callable[[], ToolwareError] | None = None
        self.calls = 0
        self.clock, self.delay = clock, delay

    async def __call__(self, request: RequestContext) -> ResponseContext:
        self.calls += 1
        if self.delay and self.clock is not None:
            await self.clock.sleep(self.delay)
        if self.error is not None:
            return ResponseContext.failure(self.error())
        return ResponseContext.success("ok")


def build(
    clock: FakeClock, target: Any, *inner: Any, **options: Any
) -> tuple[Pipeline, CircuitBreakerInterceptor]:
    breaker = CircuitBreakerInterceptor(**options)
    builder = PipelineBuilder(clock=clock).use(breaker)
    for interceptor in inner:
        builder.use(interceptor)
    return builder.route(target).build(), breaker


async def answers(pipeline: Pipeline, count: int = 1, target: str = "t", **args: Any) -> list[Any]:
    """The error category (or "ok") of ``count`` calls in a row."""
    out = []
    for _ in range(count):
        response = await pipeline.invoke(target, args)
        out.append("ok" if response.ok else response.error.category.value)  # type: ignore[union-attr]
    return out


async def test_opens_exactly_at_minimum_calls() -> None:
    """Ratio 0.5 over 4 calls: 1 ok + 2 failures stay closed; the 4th call (a failure) opens."""
    clock = FakeClock()
    target = Target()
    pipeline, breaker = build(clock, target, minimum_calls=4)
    assert await answers(pipeline) == ["ok"]
    target.error = tool_failed
    assert await answers(pipeline, 2) == ["tool_failed", "tool_failed"]
    assert breaker.state("t") is CLOSED
    assert await answers(pipeline) == ["tool_failed"]
    assert breaker.state("t") is OPEN
    response = await pipeline.invoke("t")
    error = response.error
    assert isinstance(error, CircuitOpenError)
    assert error.retry_after == 30.0
    assert target.calls == 4


async def test_ratio_below_threshold_stays_closed() -> None:
    """3 successes and 2 failures (0.4) under ratio 0.5 stay closed."""
    clock = FakeClock()
    target = Target()
    pipeline, breaker = build(clock, target, minimum_calls=4)
    await answers(pipeline, 3)
    target.error = tool_failed
    await answers(pipeline, 2)
    assert breaker.state("t") is CLOSED
    await answers(pipeline)
    assert breaker.state("t") is OPEN


async def test_failure_ratio_option_sets_the_threshold() -> None:
    """failure_ratio=1.0: one success among the calls keeps it closed."""
    clock = FakeClock()
    target = Target()
    pipeline, breaker = build(clock, target, failure_ratio=1.0, minimum_calls=2)
    await answers(pipeline)
    target.error = tool_failed
    await answers(pipeline, 3)
    assert breaker.state("t") is CLOSED


async def test_opens_on_consecutive_failures() -> None:
    """consecutive_failures=3 with no ratio: a success resets the run."""
    clock = FakeClock()
    target = Target()
    pipeline, breaker = build(clock, target, failure_ratio=None, consecutive_failures=3)
    target.error = tool_failed
    await answers(pipeline, 2)
    target.error = None
    await answers(pipeline)
    target.error = tool_failed
    await answers(pipeline, 2)
    assert breaker.state("t") is CLOSED
    await answers(pipeline)
    assert breaker.state("t") is OPEN


async def test_old_failures_age_out_at_the_exact_instant() -> None:
    """Window 10 s (1 s buckets): a failure at 1000 still counts at 1009.99, not at 1010."""
    clock = FakeClock()
    target = Target()
    target.error = tool_failed
    pipeline, breaker = build(clock, target, minimum_calls=2, window=10.0)
    await answers(pipeline)
    await clock.advance(10.0)
    await answers(pipeline)
    assert breaker.state("t") is CLOSED
    await clock.advance(9.99)
    await answers(pipeline)
    assert breaker.state("t") is OPEN


async def test_retry_after_and_message_are_exact() -> None:
    """Opened at 1000 for 20 s: at 1012.5 the refusal says 7.5 s and names the key."""
    clock = FakeClock()
    target = Target()
    target.error = tool_failed
    pipeline, _ = build(
        clock, target, failure_ratio=None, consecutive_failures=1, break_duration=20.0
    )
    await answers(pipeline)
    await clock.advance(12.5)
    response = await pipeline.invoke("t")
    error = response.error
    assert isinstance(error, CircuitOpenError)
    assert error.retry_after == 7.5
    assert error.retryable is True
    assert error.target == "t"
    assert error.message == (
        "circuit breaker 't' is open: calls are refused for 7.500s more, then a trial call "
        "goes through"
    )
    assert error.hint == CircuitOpenError.default_hint
    assert target.calls == 1


async def test_half_open_after_break_duration_then_probe_success_closes() -> None:
    """Refused at 1029.99; at 1030 one probe goes through and its success closes."""
    clock = FakeClock()
    target = Target()
    target.error = tool_failed
    pipeline, breaker = build(clock, target, failure_ratio=None, consecutive_failures=1)
    await answers(pipeline)
    await clock.advance(29.99)
    assert await answers(pipeline) == ["circuit_open"]
    await clock.advance(0.01)
    assert breaker.state("t") is HALF_OPEN
    target.error = None
    assert await answers(pipeline, 2) == ["ok", "ok"]
    assert breaker.state("t") is CLOSED
    assert target.calls == 3


async def test_probe_failure_reopens_for_another_break() -> None:
    """A probe failing at 1030 reopens until 1060."""
    clock = FakeClock()
    target = Target()
    target.error = tool_failed
    pipeline, breaker = build(clock, target, failure_ratio=None, consecutive_failures=1)
    await answers(pipeline)
    await clock.advance(30.0)
    assert await answers(pipeline) == ["tool_failed"]
    assert breaker.state("t") is OPEN
    response = await pipeline.invoke("t")
    assert isinstance(response.error, CircuitOpenError)
    assert response.error.retry_after == 30.0


async def test_probes_are_bounded() -> None:
    """Two probe slots: with two probes in flight the third call is refused at once."""
    clock = FakeClock()
    target = Target(clock, delay=1.0)
    target.error = tool_failed
    pipeline, breaker = build(
        clock, target, failure_ratio=None, consecutive_failures=1, half_open_probes=2
    )
    first = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(1.0)
    assert (await first).error is not None
    await clock.advance(30.0)  # opened at 1001 (the failure took 1 s)
    target.error = None
    probes = [asyncio.create_task(pipeline.invoke("t")) for _ in range(2)]
    await asyncio.sleep(0)
    response = await pipeline.invoke("t")
    error = response.error
    assert isinstance(error, CircuitOpenError)
    assert error.retry_after == 0.0
    assert "half-open: its 2 trial call(s) are in flight" in error.message
    assert error.hint == "call again shortly: the breaker closes once its trial calls succeed"
    await clock.advance(1.0)
    assert [(await probe).ok for probe in probes] == [True, True]
    assert breaker.state("t") is CLOSED
    assert target.calls == 3


async def test_isolate_and_reset() -> None:
    """Isolated: refused, not retryable, retry_after 0, whatever the time; reset lets calls in."""
    clock = FakeClock()
    target = Target()
    pipeline, breaker = build(clock, target)
    change = await breaker.isolate("t")
    assert change == BreakerChange("t", CLOSED, ISOLATED, "isolated", 1000.0)
    assert await breaker.isolate("t") is None
    assert breaker.state("t") is ISOLATED
    await clock.advance(1000.0)
    response = await pipeline.invoke("t")
    error = response.error
    assert isinstance(error, CircuitOpenError)
    assert (error.retry_after, error.retryable) == (0.0, False)
    assert error.message == "circuit breaker 't' is isolated: every call is refused until reset"
    assert error.hint == "reset it with `await breaker.reset(key)` to let calls through again"
    assert target.calls == 0
    assert await breaker.reset("t") == BreakerChange("t", ISOLATED, CLOSED, "reset", 2000.0)
    assert await breaker.reset("t") is None
    assert await answers(pipeline) == ["ok"]


async def test_manual_keys_must_be_strings() -> None:
    """isolate/reset/state refuse a key that is not a str."""
    _, breaker = build(FakeClock(), Target())
    with pytest.raises(TypeError, match="a breaker key is a str"):
        await breaker.isolate(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got None"):
        breaker.state(None)  # type: ignore[arg-type]


async def test_state_changes_reach_the_callback_in_order(caplog: pytest.LogCaptureFixture) -> None:
    """opened, half_open, opened (probe failed), half_open, closed, isolated, reset: logged
    under their event names and handed to on_state_change keyed without the prefix."""
    clock = FakeClock()
    target = Target()
    target.error = tool_failed
    seen: list[BreakerChange] = []
    pipeline, breaker = build(
        clock, target, failure_ratio=None, consecutive_failures=1, on_state_change=seen.append
    )
    caplog.set_level(logging.INFO, "toolware.interceptors.circuit_breaker")
    await answers(pipeline)
    await clock.advance(30.0)
    await answers(pipeline)
    await clock.advance(30.0)
    target.error = None
    await answers(pipeline)
    await breaker.isolate("t")
    await breaker.reset("t")
    assert seen == [
        BreakerChange("t", CLOSED, OPEN, "consecutive", 1000.0),
        BreakerChange("t", OPEN, HALF_OPEN, "break_elapsed", 1030.0),
        BreakerChange("t", HALF_OPEN, OPEN, "probe_failed", 1030.0),
        BreakerChange("t", OPEN, HALF_OPEN, "break_elapsed", 1060.0),
        BreakerChange("t", HALF_OPEN, CLOSED, "probes_succeeded", 1060.0),
        BreakerChange("t", CLOSED, ISOLATED, "isolated", 1060.0),
        BreakerChange("t", ISOLATED, CLOSED, "reset", 1060.0),
    ]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "circuit_breaker.opened key=t previous=closed reason=consecutive"),
        ("INFO", "circuit_breaker.half_open key=t previous=open reason=break_elapsed"),
        ("WARNING", "circuit_breaker.opened key=t previous=half_open reason=probe_failed"),
        ("INFO", "circuit_breaker.half_open key=t previous=open reason=break_elapsed"),
        ("INFO", "circuit_breaker.closed key=t previous=half_open reason=probes_succeeded"),
        ("WARNING", "circuit_breaker.isolated key=t previous=closed reason=isolated"),
        ("INFO", "circuit_breaker.reset key=t previous=isolated reason=reset"),
    ]
    assert caplog.records[0].__dict__["current"] == "open"
    assert caplog.records[0].__dict__["key"] == "t"


async def test_a_raising_callback_is_logged_and_the_call_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """on_state_change raising does not change the response."""

    def broken(change: BreakerChange) -> None:
        raise RuntimeError("dashboard down")

    clock = FakeClock()
    target = Target()
    target.error = tool_failed
    pipeline, breaker = build(
        clock, target, failure_ratio=None, consecutive_failures=1, on_state_change=broken
    )
    assert await answers(pipeline) == ["tool_failed"]
    assert breaker.state("t") is OPEN
    failed = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in failed] == [
        "circuit_breaker.callback_failed key=t current=open"
    ]
    assert failed[0].exc_info is not None


@pytest.mark.parametrize(
    "error",
    [
        lambda: RateLimitedError("slow down", retry_after=1.0),
        lambda: CircuitOpenError("inner breaker", retry_after=1.0),
        lambda: CallCancelledError("gone"),
        lambda: ConcurrencyLimitedError("full", limit=1, in_flight=1, waiting=0, max_waiting=0),
        lambda: CallTimeoutError("queued", limit=1.0, started=False),
    ],
)
async def test_errors_that_never_reached_the_target_are_no_outcome(
    error: Callable[[], ToolwareError],
) -> None:
    """Counted neither way: after one, two failures out of two calls open (ratio 1.0)."""
    clock = FakeClock()
    target = Target()
    pipeline, breaker = build(clock, target, failure_ratio=1.0, minimum_calls=2)
    target.error = error
    await answers(pipeline, 3)
    target.error = tool_failed
    await answers(pipeline)
    assert breaker.state("t") is CLOSED
    await answers(pipeline)
    assert breaker.state("t") is OPEN


@pytest.mark.parametrize(
    "error",
    [
        lambda: NotFoundError("no such row"),
        lambda: CallTimeoutError("slow", limit=1.0, started=True),
        lambda: UnavailableError("down"),
    ],
)
async def test_other_errors_count_as_success_unless_chosen(
    error: Callable[[], ToolwareError],
) -> None:
    """failure_categories=("tool_failed",): not_found, timeout, unavailable are successes."""
    clock = FakeClock()
    target = Target()
    pipeline, breaker = build(
        clock, target, failure_ratio=1.0, minimum_calls=2, failure_categories=("tool_failed",)
    )
    target.error = error
    await answers(pipeline)
    target.error = tool_failed
    await answers(pipeline)
    assert breaker.state("t") is CLOSED


@pytest.mark.parametrize("category", ["timeout", "unavailable", "tool_failed", "internal"])
async def test_default_failure_categories(category: str) -> None:
    """Each default category opens a breaker with consecutive_failures=1."""
    errors = {
        "timeout": lambda: CallTimeoutError("slow", limit=1.0, started=True),
        "unavailable": lambda: UnavailableError("down"),
        "tool_failed": tool_failed,
        "internal": lambda: InternalError("bug"),
    }
    clock = FakeClock()
    target = Target()
    target.error = errors[category]
    pipeline, breaker = build(clock, target, failure_ratio=None, consecutive_failures=1)
    await answers(pipeline)
    assert breaker.state("t") is OPEN


async def test_an_exception_below_counts_as_internal() -> None:
    """An interceptor crashing inside the breaker is an internal failure, and still raised."""
    clock = FakeClock()
    pipeline, breaker = build(
        clock, Target(), Crasher("bad", fail=True), failure_ratio=None, consecutive_failures=1
    )
    assert await answers(pipeline) == ["internal"]
    assert breaker.state("t") is OPEN
    pipeline, breaker = build(
        clock,
        Target(),
        Crasher("bad", fail=True),
        failure_ratio=None,
        consecutive_failures=1,
        failure_categories=("timeout",),
    )
    await answers(pipeline)
    assert breaker.state("t") is CLOSED


async def test_key_function_separates_breakers() -> None:
    """key=tenant: tenant a opens, tenant b still goes through."""
    clock = FakeClock()
    target = Target()
    target.error = tool_failed
    pipeline, breaker = build(
        clock,
        target,
        failure_ratio=None,
        consecutive_failures=1,
        key=lambda request: request.arguments["tenant"],
    )
    await answers(pipeline, tenant="a")
    assert await answers(pipeline, tenant="a") == ["circuit_open"]
    assert await answers(pipeline, tenant="b") == ["tool_failed"]
    assert (breaker.state("a"), breaker.state("t")) == (OPEN, CLOSED)


@pytest.mark.parametrize(
    ("key", "kind"),
    [(lambda request: request.arguments["missing"], "KeyError"), (lambda request: 7, "TypeError")],
)
async def test_a_failing_key_function_is_an_internal_error(
    key: Callable[[RequestContext], str], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The call is not made; the error names the interceptor and the cause."""
    clock = FakeClock()
    target = Target()
    pipeline, _ = build(clock, target, key=key)
    response = await pipeline.invoke("t")
    error = response.error
    assert isinstance(error, InternalError)
    assert error.interceptor == "circuit_breaker"
    assert error.message == (
        f"the circuit breaker's key function raised {kind} for 't'; the call was not made"
    )
    assert type(error.__cause__).__name__ == kind
    assert target.calls == 0
    assert [r.getMessage() for r in caplog.records] == [
        f"circuit_breaker.key_failed target=t error={kind}"
    ]


async def test_keys_are_prefixed_in_a_shared_store() -> None:
    """The store sees "cb:t"; the default key is the qualified name."""
    clock = FakeClock()
    store = MemoryState()
    target = Target()
    target.error = tool_failed
    pipeline, _ = build(clock, target, failure_ratio=None, consecutive_failures=1, state=store)
    await answers(pipeline)
    assert store.breaker_state("cb:t", clock.monotonic()) is OPEN
    assert store.breaker_state("t", clock.monotonic()) is CLOSED


async def test_memory_bound_evicts_old_keys() -> None:
    """A store with max_breaker_keys=2 holds two keys whatever the number of targets."""
    clock = FakeClock()
    store = MemoryState(max_breaker_keys=2)
    pipeline, _ = build(clock, Target(), state=store)
    for name in ("a", "b", "c", "d"):
        await answers(pipeline, target=name)
    assert len(store.breakers) == 2


async def test_remote_changes_reach_the_callback() -> None:
    """Changes another process made arrive through the store's subscription; other
    interceptors' keys are ignored."""
    callbacks: list[Callable[[BreakerChange], None]] = []

    class Shared(MemoryState):
        def subscribe_breaker_changes(
            self, callback: Callable[[BreakerChange], None]
        ) -> Callable[[], None]:
            callbacks.append(callback)
            return lambda: None

    seen: list[BreakerChange] = []
    CircuitBreakerInterceptor(state=Shared(), on_state_change=seen.append)
    callbacks[0](BreakerChange("cb:t", CLOSED, OPEN, "remote", 5.0))
    callbacks[0](BreakerChange("rl:t", CLOSED, OPEN, "remote", 5.0))
    assert seen == [BreakerChange("t", CLOSED, OPEN, "remote", 5.0)]


async def test_pipeline_clock_is_adopted_and_a_different_one_refused() -> None:
    """Without clock= it reads the pipeline's clock; with another clock, build() fails."""
    clock = FakeClock(start=50.0)
    breaker = CircuitBreakerInterceptor()
    PipelineBuilder(clock=clock).use(breaker).route(Target()).build()
    assert (await breaker.isolate("t")) == BreakerChange("t", CLOSED, ISOLATED, "isolated", 50.0)
    PipelineBuilder(clock=clock).use(breaker).route(Target()).build()  # same clock: fine
    other = FakeClock()
    with pytest.raises(ValueError, match=r"reads time on .* but its pipeline uses"):
        PipelineBuilder(clock=other).use(breaker).route(Target()).build()
    own = CircuitBreakerInterceptor(clock=other)
    assert (await own.isolate("t")) == BreakerChange("t", CLOSED, ISOLATED, "isolated", 1000.0)


async def test_many_names_keep_the_key_cache_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache of store keys is cleared when full, and keys stay right after."""
    from toolware.interceptors import circuit_breaker as module

    monkeypatch.setattr(module, "_MAX_CACHED_KEYS", 2)
    clock = FakeClock()
    target = Target()
    target.error = tool_failed
    pipeline, breaker = build(clock, target, failure_ratio=None, consecutive_failures=1)
    for name in ("a", "b", "c"):
        await answers(pipeline, target=name)
    assert [breaker.state(name) for name in ("a", "b", "c")] == [OPEN, OPEN, OPEN]
    assert len(breaker._keys) == 1


async def test_a_plugin_action_has_its_own_breaker() -> None:
    """The default key is target.action for an action call, the target alone otherwise."""
    clock = FakeClock()
    target = Target()
    target.error = tool_failed
    pipeline, breaker = build(clock, target, failure_ratio=None, consecutive_failures=1)
    await pipeline.invoke("t", action="a")
    assert (breaker.state("t.a"), breaker.state("t")) == (OPEN, CLOSED)
    await pipeline.invoke("t")
    assert breaker.state("t") is OPEN


async def test_a_key_that_is_not_a_string_says_what_it_was() -> None:
    """The internal error's cause names the type the key function returned."""
    pipeline, _ = build(FakeClock(), Target(), key=lambda request: 7)
    error = (await pipeline.invoke("t")).error
    assert isinstance(error, InternalError)
    assert str(error.__cause__) == "the key function returned int, not str"
    assert error.hint == (
        "make key= return a str for every request; the traceback is in the "
        "'circuit_breaker.key_failed' log record"
    )


async def test_key_failure_log_carries_its_fields(caplog: pytest.LogCaptureFixture) -> None:
    """The key_failed record has the traceback and the target and request id in extra."""
    pipeline, _ = build(FakeClock(), Target(), key=lambda request: request.arguments["x"])
    response = await pipeline.invoke("t")
    (record,) = caplog.records
    assert record.exc_info is not None
    assert record.__dict__["target"] == "t"
    assert record.__dict__["request_id"] == response.error.request_id  # type: ignore[union-attr]


async def test_a_probe_that_crashes_reopens() -> None:
    """An exception below a probe is reported as the probe's failure."""
    clock = FakeClock()
    crasher = Crasher("bad", fail=True)
    pipeline, breaker = build(clock, Target(), crasher, failure_ratio=None, consecutive_failures=1)
    await answers(pipeline)
    await clock.advance(30.0)
    await answers(pipeline)
    assert breaker.state("t") is OPEN
    assert (await pipeline.invoke("t")).error.retry_after == 30.0  # type: ignore[union-attr]


async def test_an_explicit_clock_is_kept() -> None:
    """Given clock=, a pipeline with another clock is refused with the fix in the message."""
    breaker = CircuitBreakerInterceptor(clock=FakeClock())
    with pytest.raises(ValueError, match=r"leave the interceptor's clock unset \(one interceptor"):
        PipelineBuilder(clock=FakeClock()).use(breaker).route(Target()).build()


async def test_log_records_carry_the_change(caplog: pytest.LogCaptureFixture) -> None:
    """Each change record has key, previous, current and reason in extra; so has a failed
    callback's record."""

    def broken(change: BreakerChange) -> None:
        raise RuntimeError("no")

    clock = FakeClock()
    target = Target()
    target.error = tool_failed
    pipeline, _ = build(
        clock, target, failure_ratio=None, consecutive_failures=1, on_state_change=broken
    )
    await answers(pipeline)
    opened, failed = caplog.records
    for record in (opened, failed):
        assert {
            name: record.__dict__[name] for name in ("key", "previous", "current", "reason")
        } == {
            "key": "t",
            "previous": "closed",
            "current": "open",
            "reason": "consecutive",
        }


async def test_errors_name_their_call_without_a_pipeline() -> None:
    """Called directly, the refusal and the key failure carry the request id and target."""

    async def handler(request: RequestContext) -> ResponseContext:
        return ResponseContext.failure(ToolFailedError("broke"))

    breaker = CircuitBreakerInterceptor(failure_ratio=None, consecutive_failures=1)
    request = RequestContext.create("t")
    await breaker(request, handler)
    refused = (await breaker(request, handler)).error
    assert isinstance(refused, CircuitOpenError)
    assert (refused.request_id, refused.target) == (request.id, "t")
    keyless = CircuitBreakerInterceptor(key=lambda request: request.arguments["x"])
    failed = (await keyless(request, handler)).error
    assert isinstance(failed, InternalError)
    assert (failed.request_id, failed.target) == (request.id, "t")
