"""Tests for toolware.interceptors.rate_limit that pin what mutation testing found loose: the
exact texts of errors and hints, the fields of the debug events, an explicit clock used
without a pipeline, and a refusal bound to its request."""

from __future__ import annotations

import asyncio
import logging

import pytest

from toolware import InternalError, PipelineBuilder, RateLimitedError, RequestContext
from toolware.context import ResponseContext
from toolware.interceptors.rate_limit import RateLimitInterceptor
from toolware.state import MemoryState, RateDecision, RateLimit
from toolware.testing import FakeClock, FakeHandler

LOGGER = "toolware.interceptors.rate_limit"


class AwaitedStore(MemoryState):
    """Not a plain MemoryState, so the interceptor awaits it; records the times it is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    async def acquire(
        self, key: str, limit: RateLimit, now: float, max_wait: float = 0.0
    ) -> RateDecision:
        self.times.append(now)
        return await super().acquire(key, limit, now, max_wait)


async def ok(request: RequestContext) -> ResponseContext:
    return ResponseContext.success("ok")


def test_max_wait_error_says_zero_refuses_at_once() -> None:
    """The max_wait refusal names the bound, the hint about 0 and the value, exactly."""
    with pytest.raises(ValueError, match=r" must be a finite number of seconds ") as raised:
        RateLimitInterceptor(rate=1, max_wait=-1)
    assert str(raised.value) == (
        "max_wait must be a finite number of seconds >= 0 (0 refuses at once), got -1"
    )


def test_a_different_pipeline_clock_is_refused_naming_permits() -> None:
    """An explicit clock refuses the pipeline's other clock: permits are timed on one clock."""
    limiter = RateLimitInterceptor(rate=1, clock=FakeClock())
    with pytest.raises(ValueError, match=r"; permits are timed on one clock: pass the same"):
        PipelineBuilder(clock=FakeClock()).use(limiter).route(FakeHandler()).build()


async def test_an_explicit_clock_is_read_without_a_pipeline() -> None:
    """Called directly (never bound), the interceptor reads the clock it was given."""
    store = AwaitedStore()
    limiter = RateLimitInterceptor(rate=1, state=store, clock=FakeClock(start=7.0))
    assert (await limiter(RequestContext.create("t"), ok)).ok
    assert store.times == [7.0]


async def test_a_non_string_key_names_the_key_function() -> None:
    """The internal error for a non-string key names the key kind (the function)."""

    def tenant(request: RequestContext) -> str:
        return 42  # type: ignore[return-value]

    clock = FakeClock()
    limiter = RateLimitInterceptor(rate=1, key=tenant)
    pipeline = PipelineBuilder(clock=clock).use(limiter).route(FakeHandler()).build()
    error = (await pipeline.invoke("t")).error
    assert isinstance(error, InternalError)
    assert error.message == (
        "rate limit key function test_a_non_string_key_names_the_key_function.<locals>.tenant "
        "returned int, not a str for 't'"
    )


async def test_a_refusal_is_bound_to_its_request() -> None:
    """The rate_limited error carries the refused request's id."""
    limiter = RateLimitInterceptor(rate=1, clock=FakeClock())
    assert (await limiter(RequestContext.create("t"), ok)).ok
    request = RequestContext.create("t")
    error = (await limiter(request, ok)).error
    assert isinstance(error, RateLimitedError)
    assert error.request_id == request.id


async def test_a_refusal_past_max_wait_hints_at_max_wait_and_the_deadline() -> None:
    """With max_wait, a refusal's hint says to wait, raise max_wait or give a later deadline."""
    limiter = RateLimitInterceptor(rate=1, max_wait=0.5, clock=FakeClock())
    await limiter(RequestContext.create("t"), ok)
    error = (await limiter(RequestContext.create("t"), ok)).error
    assert isinstance(error, RateLimitedError)
    assert error.hint == (
        "wait retry_after seconds; to wait inside the call instead, raise max_wait= "
        "or give the call a later deadline"
    )


@pytest.mark.parametrize("store", [MemoryState, AwaitedStore], ids=["memory", "awaited"])
async def test_debug_events_carry_target_and_store_key(
    caplog: pytest.LogCaptureFixture, store: type[MemoryState]
) -> None:
    """throttled and refused events have target and store key in their extra fields, whether
    the store answered at once or was awaited."""
    clock = FakeClock()
    limiter = RateLimitInterceptor(rate=1, max_wait=1.0, state=store())
    pipeline = PipelineBuilder(clock=clock).use(limiter).route(FakeHandler()).build()
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        await pipeline.invoke("t")
        waiter = asyncio.create_task(pipeline.invoke("t"))
        await clock.advance(0)
        await pipeline.invoke("t")
        await clock.advance(1.0)
        assert waiter.result().ok
    throttled, refused = (r for r in caplog.records if r.name == LOGGER)
    key = "rl:principal:1.0x1:anonymous"
    assert (throttled.target, throttled.key) == ("t", key)  # type: ignore[attr-defined]
    assert (refused.target, refused.key) == ("t", key)  # type: ignore[attr-defined]
