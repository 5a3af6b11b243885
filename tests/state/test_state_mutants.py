"""Tests for the state protocol's types, the memory store and the limits' shared options that
pin what mutation testing found loose: exact option errors, GCRA's tolerance boundaries, a
released probe slot, and the details of a key function's failure."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

import pytest

from toolware import InternalError, PipelineBuilder, RequestContext, ResponseContext
from toolware.interceptors.concurrency_limit import ConcurrencyLimitInterceptor
from toolware.interceptors.rate_limit import RateLimitInterceptor
from toolware.state import MemoryState
from toolware.state._memory_rates import MemoryRates
from toolware.state.base import ADMITTED, BreakerPolicy, BreakerState, RateDecision, RateLimit
from toolware.testing import FakeClock, FakeHandler, settle

# --- the policy types ----------------------------------------------------------------------


@pytest.mark.parametrize("rate", [True, "1", math.nan, math.inf, 0, -1.0])
def test_rate_limit_refuses_a_bad_rate_with_one_message(rate: object) -> None:
    """Bools, strings, NaN, inf and rates <= 0 are all a ValueError naming the value."""
    with pytest.raises(ValueError, match=r"^RateLimit rate ") as raised:
        RateLimit(rate)  # type: ignore[arg-type]
    assert str(raised.value) == (
        f"RateLimit rate must be a finite number of permits per second > 0, got {rate!r}"
    )


@pytest.mark.parametrize("burst", [0, True])
def test_rate_limit_refuses_a_bad_burst_naming_it(burst: object) -> None:
    """A burst below 1 (or a bool) is a ValueError naming the type, the option and the value."""
    with pytest.raises(ValueError, match=r"^RateLimit burst ") as raised:
        RateLimit(1.0, burst)  # type: ignore[arg-type]
    assert str(raised.value) == f"RateLimit burst must be a whole number >= 1, got {burst!r}"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"minimum_calls": 0}, "BreakerPolicy minimum_calls must be a whole number >= 1, got 0"),
        (
            {"window": True},
            "BreakerPolicy window must be a finite number of seconds > 0, got True",
        ),
        ({"window": "1"}, "BreakerPolicy window must be a finite number of seconds > 0, got '1'"),
        (
            {"consecutive_failures": 0},
            "BreakerPolicy consecutive_failures must be a whole number >= 1, got 0",
        ),
        (
            {"failure_ratio": None},
            "BreakerPolicy needs failure_ratio or consecutive_failures (or both); with "
            "neither it could never open",
        ),
        (
            {"break_duration": 0},
            "BreakerPolicy break_duration must be a finite number of seconds > 0, got 0",
        ),
        (
            {"half_open_probes": 0},
            "BreakerPolicy half_open_probes must be a whole number >= 1, got 0",
        ),
    ],
)
def test_breaker_policy_errors_name_the_type_the_option_and_the_value(
    options: dict[str, Any], message: str
) -> None:
    """Each refused option's message, exactly."""
    with pytest.raises(ValueError, match=r"^BreakerPolicy ") as raised:
        BreakerPolicy(**options)
    assert str(raised.value) == message


# --- the memory store ----------------------------------------------------------------------


async def test_a_released_probe_slot_lets_the_next_call_probe() -> None:
    """breaker_release gives back a half-open probe slot whose call ended without an outcome."""
    state = MemoryState()
    policy = BreakerPolicy(failure_ratio=None, consecutive_failures=1, break_duration=10.0)
    assert (await state.breaker_admit("k", policy, 0.0)).allowed
    await state.breaker_record("k", policy, 0.0, failed=True, probe=False)
    probe = await state.breaker_admit("k", policy, 10.0)
    assert (probe.allowed, probe.probe) == (True, True)
    assert not (await state.breaker_admit("k", policy, 10.0)).allowed
    await state.breaker_release("k", 10.0)
    again = await state.breaker_admit("k", policy, 10.0)
    assert (again.allowed, again.probe, again.state) == (True, True, BreakerState.HALF_OPEN)


def test_a_wait_of_exactly_max_wait_plus_the_tolerance_is_admitted() -> None:
    """The refusal test is strict: a permit max_wait + TOLERANCE away is still reserved."""
    rates = MemoryRates(10)
    limit = RateLimit(1.0)
    assert rates.acquire("k", limit, 0.0, 0.0) is ADMITTED
    max_wait = 1.0 - 1e-9  # plus the tolerance: exactly 1.0, the wait for the next permit
    assert rates.acquire("k", limit, 0.0, max_wait) == RateDecision(True, 1.0)


def test_a_wait_of_exactly_the_tolerance_counts_as_none() -> None:
    """A permit TOLERANCE away is a free one: the shared ADMITTED, with no delay."""
    rates = MemoryRates(10)
    limit = RateLimit(1e9)  # an interval of exactly 1e-9 s, the tolerance
    assert rates.acquire("k", limit, 0.0, 0.0) is ADMITTED
    assert rates.acquire("k", limit, 0.0, 1.0) is ADMITTED


# --- the limits' shared options ------------------------------------------------------------


async def test_key_principal_counts_calls_without_a_principal_as_anonymous() -> None:
    """The concurrency limit's "principal" key puts calls with no principal under
    "anonymous"."""
    clock = FakeClock()
    gate = asyncio.Event()

    async def held(request: RequestContext) -> ResponseContext:
        await gate.wait()
        return ResponseContext.success("ok")

    limiter = ConcurrencyLimitInterceptor(limit=1, key="principal")
    pipeline = PipelineBuilder(clock=clock).use(limiter).route(held).build()
    running = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    assert limiter.in_flight("anonymous") == 1
    gate.set()
    assert (await running).ok


async def test_a_long_key_with_a_lone_surrogate_is_bounded() -> None:
    """A long key holding a lone surrogate (from decoded bytes, say) is still digested."""
    clock = FakeClock()
    state = MemoryState()
    key = "\ud800" + "x" * 300
    limiter = RateLimitInterceptor(rate=1, key=lambda request: key, state=state)
    pipeline = PipelineBuilder(clock=clock).use(limiter).route(FakeHandler(["ok"])).build()
    assert (await pipeline.invoke("t")).ok
    [stored] = state.rates._tats
    assert stored.startswith("rl:")
    assert stored.endswith(key[:128] + "#" + stored.rpartition("#")[2])
    assert len(stored.rpartition("#")[2]) == 32


async def test_a_failing_key_function_answer_is_complete(caplog: pytest.LogCaptureFixture) -> None:
    """The internal error has the hint, the request id and the target; the log has the target
    and the key kind as fields."""

    def tenant(request: RequestContext) -> str:
        raise LookupError("no tenant")

    limiter = RateLimitInterceptor(rate=1, key=tenant, clock=FakeClock())
    request = RequestContext.create("files", action="read")

    async def handler(request: RequestContext) -> ResponseContext:
        return ResponseContext.success("ok")

    with caplog.at_level(logging.ERROR, logger="toolware.interceptors.rate_limit"):
        error = (await limiter(request, handler)).error
    assert isinstance(error, InternalError)
    assert error.hint == "make the key function return a str for every request"
    assert (error.request_id, error.target) == (request.id, "files.read")
    [record] = caplog.records
    kind = "function test_a_failing_key_function_answer_is_complete.<locals>.tenant"
    assert (record.target, record.key) == ("files.read", kind)  # type: ignore[attr-defined]


def test_a_clock_mismatch_says_how_to_fix_it() -> None:
    """The refusal of a second clock names both clocks and both ways out, exactly."""
    mine, other = FakeClock(), FakeClock()
    limiter = RateLimitInterceptor(rate=1, clock=mine)
    with pytest.raises(ValueError, match=r"^RateLimitInterceptor uses clock ") as raised:
        limiter.bind_clock(other)
    assert str(raised.value) == (
        f"RateLimitInterceptor uses clock {mine!r}, but its pipeline uses {other!r}; permits "
        "are timed on one clock: pass the same clock to PipelineBuilder(clock=...), or leave "
        "the interceptor's clock unset"
    )
