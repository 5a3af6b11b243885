"""Tests for toolware.interceptors.rate_limit: GCRA admissions, exact retry_after, keys, scopes
and throttling, on a real pipeline and a fake clock."""

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
    RateLimitedError,
    RequestContext,
    ResponseContext,
    TimeoutInterceptor,
)
from toolware.clock import system_clock
from toolware.interceptors.rate_limit import RateLimitInterceptor
from toolware.markers import WAITED
from toolware.state import MemoryState, RateDecision, RateLimit
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext

ALICE = Principal(id="alice")
BOB = Principal(id="bob")


def limited(clock: FakeClock, handler: Any = None, **options: Any) -> Pipeline:
    """A pipeline with only a RateLimitInterceptor in front of ``handler``."""
    interceptor = RateLimitInterceptor(**options)
    terminal = FakeHandler(["ok"]) if handler is None else handler
    return PipelineBuilder(clock=clock).use(interceptor).route(terminal).build()


def retry_after(response: ResponseContext) -> float:
    error = response.error
    assert isinstance(error, RateLimitedError)
    return error.retry_after


# --- options -------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0, -1.0, math.nan, math.inf, -math.inf])
def test_rate_must_be_positive_and_finite(rate: float) -> None:
    """rate <= 0, NaN and inf are refused, naming the option and the value."""
    with pytest.raises(ValueError, match=rf"^rate must be a finite .* got {rate!r}; for 1 call"):
        RateLimitInterceptor(rate=rate)


@pytest.mark.parametrize("rate", [True, "10", None])
def test_rate_must_be_a_number(rate: object) -> None:
    """A bool or a string is not a rate."""
    with pytest.raises(TypeError, match=r"^rate must be a number of calls per second"):
        RateLimitInterceptor(rate=rate)  # type: ignore[arg-type]


@pytest.mark.parametrize("burst", [0, -3])
def test_burst_must_be_at_least_one(burst: int) -> None:
    """burst < 1 is refused with its value."""
    with pytest.raises(ValueError, match=rf"^burst must be a whole number >= 1, got {burst}$"):
        RateLimitInterceptor(rate=1, burst=burst)


@pytest.mark.parametrize("burst", [True, 2.0, "2"])
def test_burst_must_be_an_int(burst: object) -> None:
    """A bool, float or string burst is a TypeError."""
    with pytest.raises(TypeError, match=r"^burst must be a whole number"):
        RateLimitInterceptor(rate=1, burst=burst)  # type: ignore[arg-type]


@pytest.mark.parametrize("max_wait", [-0.001, math.nan, math.inf])
def test_max_wait_must_be_finite_and_not_negative(max_wait: float) -> None:
    """max_wait < 0, NaN and inf are refused."""
    with pytest.raises(ValueError, match=r"^max_wait must be a finite number of seconds >= 0"):
        RateLimitInterceptor(rate=1, max_wait=max_wait)


@pytest.mark.parametrize("max_wait", [True, "1", None])
def test_max_wait_must_be_a_number(max_wait: object) -> None:
    """A bool or a string max_wait is a TypeError."""
    with pytest.raises(TypeError, match=r"^max_wait must be a number of seconds"):
        RateLimitInterceptor(rate=1, max_wait=max_wait)  # type: ignore[arg-type]


def test_state_must_be_a_store() -> None:
    """Anything but a StateStore is refused, by type name."""
    with pytest.raises(TypeError, match=r"^state must be a toolware StateStore .* got dict"):
        RateLimitInterceptor(rate=1, state={})  # type: ignore[arg-type]


@pytest.mark.parametrize("scope", ["", 3])
def test_scope_must_be_a_non_empty_string(scope: object) -> None:
    """An empty or non-string scope is refused."""
    with pytest.raises(ValueError, match=r"^scope must be a non-empty string or None"):
        RateLimitInterceptor(rate=1, scope=scope)  # type: ignore[arg-type]


def test_clock_must_be_a_clock() -> None:
    """A clock that is not a Clock is refused."""
    with pytest.raises(TypeError, match=r"^clock must implement toolware.clock.Clock"):
        RateLimitInterceptor(rate=1, clock=object())  # type: ignore[arg-type]


def test_key_must_be_a_known_kind_or_a_function() -> None:
    """An unknown key kind is a ValueError, a non-callable a TypeError; both list the kinds."""
    with pytest.raises(
        ValueError, match=r"^RateLimitInterceptor key must be 'principal', .*'user'"
    ):
        RateLimitInterceptor(rate=1, key="user")
    with pytest.raises(TypeError, match=r"^RateLimitInterceptor key must be .* got int"):
        RateLimitInterceptor(rate=1, key=5)


def test_defaults_and_repr() -> None:
    """Defaults: burst 1, per principal, no waiting, a private memory store, scope from config."""
    limiter = RateLimitInterceptor(rate=2)
    assert (limiter.rate, limiter.burst, limiter.key, limiter.max_wait) == (
        2.0,
        1,
        "principal",
        0.0,
    )
    assert type(limiter.state) is MemoryState
    assert limiter.scope == "principal:2.0x1"
    assert limiter.name == "rate_limit"
    assert repr(limiter) == (
        "RateLimitInterceptor(rate=2.0, burst=1, key='principal', max_wait=0.0, "
        "scope='principal:2.0x1')"
    )


def test_an_explicit_clock_refuses_another_pipeline_clock() -> None:
    """Given a clock, it accepts that same clock again and refuses a different one."""
    mine, other = FakeClock(), FakeClock()
    limiter = RateLimitInterceptor(rate=1, clock=mine)
    limiter.bind_clock(mine)
    with pytest.raises(ValueError, match=r"^RateLimitInterceptor uses clock .* but its pipeline"):
        PipelineBuilder(clock=other).use(limiter).route(FakeHandler()).build()


# --- GCRA ----------------------------------------------------------------------------------


async def test_burst_then_steady_rate_with_exact_retry_after() -> None:
    """burst calls pass at once; the next waits exactly 1/rate and is admitted at that instant."""
    clock = FakeClock()
    handler = FakeHandler(["ok"])
    pipeline = limited(clock, handler, rate=2, burst=3)
    for _ in range(3):
        assert (await pipeline.invoke("t")).ok
    refused = await pipeline.invoke("t")
    assert retry_after(refused) == 0.5
    await clock.advance(0.25)
    assert retry_after(await pipeline.invoke("t")) == 0.25
    await clock.advance(0.25)
    assert (await pipeline.invoke("t")).ok
    assert retry_after(await pipeline.invoke("t")) == 0.5
    assert handler.call_count == 4


async def test_refusal_names_the_limit_and_the_wait() -> None:
    """The error is rate_limited, retryable, bound to the call, and its message has the values."""
    clock = FakeClock()
    pipeline = limited(clock, rate=0.5, burst=1)
    await pipeline.invoke("search", principal=ALICE)
    response = await pipeline.invoke("search", principal=ALICE)
    error = response.error
    assert isinstance(error, RateLimitedError)
    assert error.category is ErrorCategory.RATE_LIMITED
    assert error.retryable is True
    assert error.target == "search"
    assert error.message == (
        "'search' refused: the rate limit of 0.5 calls/s (burst 1) per principal is reached; "
        "a permit is free in 2.000s"
    )
    assert error.hint == "wait retry_after seconds before calling again"
    assert "alice" not in error.message


async def test_a_key_idle_long_enough_gets_its_whole_burst_back() -> None:
    """After burst / rate seconds idle, burst calls pass back to back again, not more."""
    clock = FakeClock()
    pipeline = limited(clock, rate=4, burst=2)
    assert [(await pipeline.invoke("t")).ok for _ in range(3)] == [True, True, False]
    await clock.advance(0.5)
    assert [(await pipeline.invoke("t")).ok for _ in range(3)] == [True, True, False]


# --- keys ----------------------------------------------------------------------------------


async def test_key_principal_separates_principals_and_shares_anonymous() -> None:
    """Per principal: alice and bob each have a burst; calls without a principal share one."""
    clock = FakeClock()
    pipeline = limited(clock, rate=1)
    assert (await pipeline.invoke("a", principal=ALICE)).ok
    assert (await pipeline.invoke("b", principal=BOB)).ok
    assert not (await pipeline.invoke("c", principal=ALICE)).ok
    assert (await pipeline.invoke("a")).ok
    assert not (await pipeline.invoke("b")).ok
    assert (await pipeline.invoke("b", principal=Principal(id="anonymous"))).error is not None


async def test_key_target_separates_targets_and_actions() -> None:
    """Per target: each qualified name has its own bucket, whoever calls."""
    clock = FakeClock()
    pipeline = limited(clock, rate=1, key="target")
    assert (await pipeline.invoke("a", principal=ALICE)).ok
    assert not (await pipeline.invoke("a", principal=BOB)).ok
    assert (await pipeline.invoke("b", principal=ALICE)).ok
    assert (await pipeline.invoke("a", action="x")).ok
    assert not (await pipeline.invoke("a", action="x")).ok
    assert (await pipeline.invoke("a", action="y")).ok


async def test_key_principal_and_target_needs_both_to_match() -> None:
    """Per principal and target: a bucket for each pair."""
    clock = FakeClock()
    state = MemoryState()
    pipeline = limited(clock, rate=1, key="principal_and_target", state=state)
    assert (await pipeline.invoke("a", principal=ALICE)).ok
    assert (await pipeline.invoke("b", principal=ALICE)).ok
    assert (await pipeline.invoke("a", principal=BOB)).ok
    assert (await pipeline.invoke("a")).ok
    assert not (await pipeline.invoke("a", principal=ALICE)).ok
    assert not (await pipeline.invoke("a")).ok
    prefix = "rl:principal_and_target:1.0x1:"
    assert set(state.rates._tats) == {
        prefix + "alice\x1fa",
        prefix + "alice\x1fb",
        prefix + "bob\x1fa",
        prefix + "anonymous\x1fa",
    }


async def test_key_function_picks_the_bucket() -> None:
    """A key function: calls with the same key share a bucket, others do not."""
    clock = FakeClock()

    def tenant(request: RequestContext) -> str:
        return str(request.arguments["tenant"])

    state = MemoryState()
    pipeline = limited(clock, rate=1, key=tenant, state=state)
    assert (await pipeline.invoke("a", {"tenant": "x"})).ok
    assert (await pipeline.invoke("b", {"tenant": "y"})).ok
    response = await pipeline.invoke("b", {"tenant": "x"})
    assert retry_after(response) == 1.0
    assert "per function test_key_function_picks_the_bucket.<locals>.tenant" in str(response.error)
    scope = "function test_key_function_picks_the_bucket.<locals>.tenant:1.0x1"
    assert set(state.rates._tats) == {f"rl:{scope}:x", f"rl:{scope}:y"}


async def test_a_key_function_that_raises_answers_internal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The key function's exception becomes an internal error naming the interceptor."""
    clock = FakeClock()
    handler = FakeHandler()
    boom = KeyError("tenant")

    def broken(request: RequestContext) -> str:
        raise boom

    with caplog.at_level(logging.ERROR, logger="toolware.interceptors.rate_limit"):
        response = await limited(clock, handler, rate=1, key=broken).invoke("t")
    error = response.error
    assert isinstance(error, InternalError)
    assert error.interceptor == "rate_limit"
    assert error.__cause__ is boom
    assert error.message.startswith("rate limit key function ")
    assert error.message.endswith("broken raised KeyError for 't'")
    assert handler.call_count == 0
    [record] = caplog.records
    assert record.getMessage().startswith("rate_limit.key_failed target=t key=function ")
    assert record.exc_info is not None
    assert record.exc_info[1] is boom


async def test_a_key_function_returning_a_non_string_answers_internal() -> None:
    """A key that is not a str is refused as internal, without calling the handler."""
    clock = FakeClock()
    handler = FakeHandler()
    response = await limited(clock, handler, rate=1, key=lambda request: 42).invoke("t")
    error = response.error
    assert isinstance(error, InternalError)
    assert error.interceptor == "rate_limit"
    assert "returned int, not a str for 't'" in error.message
    assert error.__cause__ is None
    assert handler.call_count == 0


async def test_a_str_subclass_key_is_accepted() -> None:
    """A str subclass is a string."""

    class Key(str):
        pass

    clock = FakeClock()
    assert (await limited(clock, rate=1, key=lambda request: Key("k")).invoke("t")).ok


async def test_long_keys_are_bounded_and_stay_distinct() -> None:
    """A key over 256 characters is stored cut, with a digest: bounded, and still its own."""
    clock = FakeClock()
    state = MemoryState()
    pipeline = limited(clock, rate=1, key=lambda request: request.arguments["k"], state=state)
    exact = "x" * 256
    assert (await pipeline.invoke("t", {"k": exact})).ok
    assert (await pipeline.invoke("t", {"k": "z" * 257})).ok
    assert (await pipeline.invoke("t", {"k": "y" * 300 + "1"})).ok
    assert (await pipeline.invoke("t", {"k": "y" * 300 + "2"})).ok
    assert not (await pipeline.invoke("t", {"k": "y" * 300 + "1"})).ok
    stored = [key.split(":", 3)[-1] for key in state.rates._tats]
    assert stored[0] == exact
    assert [len(key) for key in stored[1:]] == [128 + 1 + 32] * 3
    assert stored[1] == "z" * 128 + "#" + stored[1][-32:]
    assert stored[2] != stored[3]


# --- scopes --------------------------------------------------------------------------------


async def test_limiters_alike_share_buckets_on_one_store_and_others_do_not() -> None:
    """Same rate, burst and key on one store: one bucket; a different rate: its own."""
    clock = FakeClock()
    state = MemoryState()
    first = limited(clock, rate=1, state=state)
    twin = limited(clock, rate=1, state=state)
    other = limited(clock, rate=2, state=state)
    assert (await first.invoke("t")).ok
    assert not (await twin.invoke("t")).ok
    assert (await other.invoke("t")).ok
    assert list(state.rates._tats) == [
        "rl:principal:1.0x1:anonymous",
        "rl:principal:2.0x1:anonymous",
    ]


async def test_an_explicit_scope_joins_or_separates_buckets() -> None:
    """Limiters given one scope share buckets whatever their rate; different scopes do not."""
    clock = FakeClock()
    state = MemoryState()
    one = limited(clock, rate=1, state=state, scope="shared")
    two = limited(clock, rate=1, burst=1, state=state, scope="shared")
    three = limited(clock, rate=1, state=state, scope="mine")
    assert (await one.invoke("t")).ok
    assert not (await two.invoke("t")).ok
    assert (await three.invoke("t")).ok
    assert list(state.rates._tats) == ["rl:shared:anonymous", "rl:mine:anonymous"]


# --- throttling ----------------------------------------------------------------------------


async def test_throttle_waits_exactly_the_delay_then_calls() -> None:
    """With max_wait, a call without a free permit sleeps exactly until its permit."""
    clock = FakeClock()
    seen: list[float] = []

    async def handler(request: RequestContext) -> ResponseContext:
        seen.append(clock.monotonic())
        return ResponseContext.success("ok")

    pipeline = limited(clock, handler, rate=2, max_wait=1.0)
    assert (await pipeline.invoke("t")).get(WAITED) == 0.0
    second = asyncio.create_task(pipeline.invoke("t"))
    third = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(0.499)
    assert not second.done()
    await clock.advance(0.001)
    assert second.done()
    assert second.result().get(WAITED) == 0.5
    await clock.advance(0.5)
    assert third.result().get(WAITED) == 1.0
    assert seen == [1000.0, 1000.5, 1001.0]


async def test_throttle_refuses_a_wait_longer_than_max_wait() -> None:
    """A permit further off than max_wait is refused with its exact delay, and none is taken."""
    clock = FakeClock()
    pipeline = limited(clock, rate=1, max_wait=1.0)
    await pipeline.invoke("t")
    waiting = asyncio.create_task(pipeline.invoke("t"))  # takes the permit at 1001
    await clock.advance(0)
    response = await pipeline.invoke("t")
    assert retry_after(response) == 2.0
    error = response.error
    assert error is not None
    assert error.message.endswith(
        "a permit is free in 2.000s, later than this call may wait (1.000s)"
    )
    assert error.hint is not None
    assert error.hint.startswith("wait retry_after seconds; to wait")
    await clock.advance(1.0)
    assert waiting.result().get(WAITED) == 1.0


async def test_throttle_admits_a_wait_of_exactly_max_wait() -> None:
    """A permit exactly max_wait away is waited for."""
    clock = FakeClock()
    pipeline = limited(clock, rate=1, max_wait=1.0)
    await pipeline.invoke("t")
    task = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(1.0)
    assert task.result().get(WAITED) == 1.0


async def test_throttle_never_waits_past_the_deadline() -> None:
    """The wait allowed is the shorter of max_wait and the time left to the deadline."""
    clock = FakeClock()
    handler = FakeHandler(["ok"])
    pipeline = limited(clock, handler, rate=1, max_wait=5.0)
    await pipeline.invoke("t")
    response = await pipeline.invoke("t", timeout=0.999)
    assert retry_after(response) == 1.0
    assert response.error is not None
    assert "later than this call may wait (0.999s)" in response.error.message
    task = asyncio.create_task(pipeline.invoke("t", timeout=1.0))
    await clock.advance(1.0)
    assert task.result().get(WAITED) == 1.0
    assert handler.call_count == 2


async def test_throttle_with_the_deadline_passed_takes_only_a_free_permit() -> None:
    """A call whose deadline has passed waits for nothing: admitted when a permit is free,
    refused with the exact (positive) delay otherwise."""
    clock = FakeClock()
    handler = FakeHandler(["ok"])
    pipeline = limited(clock, handler, rate=1, max_wait=5.0)
    assert (await pipeline.invoke("t", deadline=999.0)).ok
    assert retry_after(await pipeline.invoke("t", deadline=999.0)) == 1.0
    assert handler.call_count == 1


async def test_a_cancelled_waiter_spends_its_permit() -> None:
    """GCRA cannot return a reservation: the caller after a cancelled waiter waits past it."""
    clock = FakeClock()
    handler = FakeHandler(["ok"])
    pipeline = limited(clock, handler, rate=1, max_wait=5.0)
    await pipeline.invoke("t")
    waiter = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(0.5)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    later = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(1.499)
    assert not later.done()
    await clock.advance(0.001)
    assert later.result().get(WAITED) == 1.5
    assert handler.call_count == 2
    assert clock.pending == 0


async def test_waited_adds_to_an_inner_wait() -> None:
    """WAITED is the sum of this wait and what an inner stage already reported."""
    clock = FakeClock()

    async def inner(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return (await call_next(request)).with_extra(WAITED, 0.25)

    limiter = RateLimitInterceptor(rate=1, max_wait=1.0)
    pipeline = PipelineBuilder(clock=clock).use(limiter).use(inner).route(FakeHandler()).build()
    await pipeline.invoke("t")
    task = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(1.0)
    assert task.result().get(WAITED) == 1.25


async def test_events_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """rate_limit.throttled and rate_limit.refused, with the target, store key and seconds."""
    clock = FakeClock()
    pipeline = limited(clock, rate=1, max_wait=1.0)
    with caplog.at_level(logging.DEBUG, logger="toolware.interceptors.rate_limit"):
        await pipeline.invoke("t", principal=ALICE)
        task = asyncio.create_task(pipeline.invoke("t", principal=ALICE))
        await clock.advance(0)
        await pipeline.invoke("t", principal=ALICE)
        await clock.advance(1.0)
        assert task.result().ok
    throttled, refused = caplog.records
    assert throttled.getMessage() == (
        "rate_limit.throttled target=t key=rl:principal:1.0x1:alice delay=1.0"
    )
    assert (throttled.target, throttled.delay) == ("t", 1.0)  # type: ignore[attr-defined]
    assert refused.getMessage() == (
        "rate_limit.refused target=t key=rl:principal:1.0x1:alice retry_after=2.0"
    )
    assert refused.retry_after == 2.0  # type: ignore[attr-defined]
    assert refused.levelno == throttled.levelno == logging.DEBUG


async def test_nothing_is_logged_above_debug(caplog: pytest.LogCaptureFixture) -> None:
    """Refusals are a high-volume event: silent unless debug is on."""
    clock = FakeClock()
    pipeline = limited(clock, rate=1)
    with caplog.at_level(logging.INFO, logger="toolware.interceptors.rate_limit"):
        await pipeline.invoke("t")
        assert not (await pipeline.invoke("t")).ok
    assert caplog.records == []


# --- stores and clocks ---------------------------------------------------------------------


class RecordingStore(MemoryState):
    """A memory store that is not a plain MemoryState (so the interceptor awaits it) and can
    answer with a decision of its own."""

    def __init__(self, answer: RateDecision | None = None) -> None:
        super().__init__()
        self.asked: list[tuple[str, RateLimit, float, float]] = []
        self.answer = answer

    async def acquire(
        self, key: str, limit: RateLimit, now: float, max_wait: float = 0.0
    ) -> RateDecision:
        self.asked.append((key, limit, now, max_wait))
        if self.answer is not None:
            return self.answer
        return await super().acquire(key, limit, now, max_wait)


async def test_another_store_is_asked_through_the_protocol() -> None:
    """Any StateStore is awaited with the prefixed key, the limit, the time and the wait."""
    clock = FakeClock()
    store = RecordingStore()
    pipeline = limited(clock, rate=1, burst=2, max_wait=0.5, state=store)
    assert [(await pipeline.invoke("t")).ok for _ in range(2)] == [True, True]
    assert retry_after(await pipeline.invoke("t")) == 1.0
    key = "rl:principal:1.0x2:anonymous"
    assert store.asked == [(key, RateLimit(1.0, 2), 1000.0, 0.5)] * 3


async def test_another_store_throttles_too() -> None:
    """A delay from an awaited store is slept on the clock, and reported."""
    clock = FakeClock()
    pipeline = limited(clock, rate=1, max_wait=2.0, state=RecordingStore(RateDecision(True, 1.5)))
    task = asyncio.create_task(pipeline.invoke("t"))
    await clock.advance(1.499)
    assert not task.done()
    await clock.advance(0.001)
    assert task.result().get(WAITED) == 1.5


async def test_an_admission_without_delay_from_another_store_goes_straight_on() -> None:
    """RateDecision(True, 0.0) that is not the shared ADMITTED still calls at once."""
    clock = FakeClock()
    answer = ResponseContext.success("ok")
    calls: list[str] = []

    async def handler(request: RequestContext) -> ResponseContext:
        calls.append(request.target)
        return answer

    store = RecordingStore(RateDecision(True, 0.0))
    response = await limited(clock, handler, rate=1, state=store).invoke("t")
    assert response is answer  # untouched: no WAITED added
    assert calls == ["t"]


async def test_used_without_a_pipeline_it_reads_the_system_clock() -> None:
    """Unbound, the interceptor times permits on system_clock."""
    store = RecordingStore()
    limiter = RateLimitInterceptor(rate=1, state=store)
    request = RequestContext.create("t")

    async def handler(request: RequestContext) -> ResponseContext:
        return ResponseContext.success(1)

    before = system_clock.monotonic()
    assert (await limiter(request, handler)).ok
    assert before <= store.asked[0][2] <= system_clock.monotonic()


async def test_it_adopts_the_pipeline_clock() -> None:
    """Without a clock of its own, build() hands it the pipeline's (the fake clock's time)."""
    clock = FakeClock(start=5.0)
    store = RecordingStore()
    await limited(clock, rate=1, state=store).invoke("t")
    assert store.asked[0][2] == 5.0


async def test_remembered_store_keys_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table of ready-made store keys starts again when full; buckets are unaffected."""
    monkeypatch.setattr("toolware.interceptors.rate_limit._REMEMBERED_KEYS", 2)
    clock = FakeClock()
    limiter = RateLimitInterceptor(rate=1)
    pipeline = PipelineBuilder(clock=clock).use(limiter).route(FakeHandler()).build()
    for name in ("a", "b", "c"):
        assert (await pipeline.invoke("t", principal=Principal(id=name))).ok
    assert limiter._stored == {"c": "rl:principal:1.0x1:c"}
    assert not (await pipeline.invoke("t", principal=Principal(id="a"))).ok
    assert len(limiter.state.rates) == 3  # type: ignore[attr-defined]


async def test_a_throttled_call_cut_by_an_outer_timeout_never_started() -> None:
    """Cancelled by the timeout while it waited for its permit: timeout, started=False."""
    clock = FakeClock()
    handler = FakeHandler(["ok"])
    pipeline = (
        PipelineBuilder(clock=clock)
        .use(TimeoutInterceptor(timeout=1.0))
        .use(RateLimitInterceptor(rate=1, max_wait=5.0))
        .route(handler)
        .build()
    )
    await pipeline.invoke("t")
    task = asyncio.create_task(pipeline.invoke("t"))  # its permit is exactly 1 s away
    await clock.advance(1.0)
    error = task.result().error
    assert isinstance(error, CallTimeoutError)
    assert error.started is False
    assert "(waiting 1.000s for a rate-limit permit)" in error.message
    assert handler.call_count == 1


async def test_an_admitted_call_goes_on_as_call_nexts_own_awaitable() -> None:
    """With the memory store, admission adds no frame: the interceptor hands back exactly what
    call_next returned."""
    limiter = RateLimitInterceptor(rate=1)
    limiter.bind_clock(FakeClock())
    answer = ResponseContext.success(1)

    async def next_stage(request: RequestContext) -> ResponseContext:
        return answer

    awaitable = next_stage(RequestContext.create("t"))
    returned = limiter(RequestContext.create("t"), lambda request: awaitable)
    assert returned is awaitable
    assert await returned is answer
