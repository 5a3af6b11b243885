"""Tests for toolware.interceptors.concurrency_limit that pin what mutation testing found loose:
a key function's non-string or str-subclass key, the exact counts and fields of refusals after
a wait or with the deadline gone, and a refusal bound to its request."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from toolware import InternalError, Pipeline, PipelineBuilder, RequestContext, ResponseContext
from toolware.errors import ConcurrencyLimitedError
from toolware.interceptors.concurrency_limit import ConcurrencyLimitInterceptor
from toolware.streams import ResponseStream
from toolware.testing import FakeClock, FakeHandler, settle

LOGGER = "toolware.interceptors.concurrency_limit"


class Tenant(str):
    """A str subclass, as some frameworks hand out for ids."""


def build(clock: FakeClock, limiter: ConcurrencyLimitInterceptor, handler: Any = None) -> Pipeline:
    """A pipeline with only ``limiter`` in front of ``handler``."""
    return (
        PipelineBuilder(clock=clock)
        .use(limiter)
        .route(FakeHandler(["ok"]) if handler is None else handler)
        .build()
    )


async def test_a_non_string_key_answers_internal_naming_the_key_function(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A key function returning an int: internal error naming the interceptor and the key kind,
    logged as concurrency_limit.key_failed; the handler never runs."""

    def tenant(request: RequestContext) -> str:
        return 7  # type: ignore[return-value]

    clock = FakeClock()
    handler = FakeHandler(["ok"])
    pipeline = build(clock, ConcurrencyLimitInterceptor(limit=1, key=tenant), handler)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        error = (await pipeline.invoke("t")).error
    assert isinstance(error, InternalError)
    assert error.interceptor == "concurrency_limit"
    kind = "function test_a_non_string_key_answers_internal_naming_the_key_function.<locals>.tenant"
    assert error.message == f"concurrency limit key {kind} returned int, not a str for 't'"
    assert error.__cause__ is None
    assert handler.call_count == 0
    [record] = caplog.records
    assert record.getMessage() == (
        f"concurrency_limit.key_failed target=t key={kind}: the key function returned int, "
        "not a str"
    )


async def test_a_str_subclass_key_counts_like_its_text() -> None:
    """A key that is a str subclass is a key: the call runs and is counted under it."""
    clock = FakeClock()
    gate = asyncio.Event()

    async def held(request: RequestContext) -> ResponseContext:
        await gate.wait()
        return ResponseContext.success("ok")

    limiter = ConcurrencyLimitInterceptor(limit=1, key=lambda request: Tenant("acme"))
    pipeline = build(clock, limiter, held)
    running = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    assert limiter.in_flight("acme") == 1
    gate.set()
    assert (await running).ok
    assert limiter.keys == 0


async def test_a_full_key_with_its_deadline_gone_is_refused_with_exact_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With no time left to wait: the counts in the error and its message, the key logged."""
    clock = FakeClock()
    limiter = ConcurrencyLimitInterceptor(limit=1, max_waiting=1)
    pipeline = build(clock, limiter, FakeHandler(["ok"], delay=1.0, clock=clock))
    holder = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        error = (await pipeline.invoke("t", deadline=1000.0)).error
    assert isinstance(error, ConcurrencyLimitedError)
    assert (error.in_flight, error.waiting, error.limit, error.max_waiting) == (1, 0, 1, 1)
    assert error.message == (
        "'t' refused: 1 of 1 calls in flight per target, 0 of 1 waiting; "
        "no slot freed within the 0.000s this call could wait"
    )
    [record] = caplog.records
    assert (record.target, record.key) == ("t", "t")  # type: ignore[attr-defined]
    await clock.advance(1.0)
    assert holder.result().ok


async def test_a_waiter_timed_out_is_logged_with_its_key(caplog: pytest.LogCaptureFixture) -> None:
    """The refusal after wait_timeout is logged with the target and the key counted."""
    clock = FakeClock()
    limiter = ConcurrencyLimitInterceptor(
        limit=1, max_waiting=1, wait_timeout=0.5, key=lambda request: "k"
    )
    pipeline = build(clock, limiter, FakeHandler(["ok"], delay=1.0, clock=clock))
    holder = asyncio.create_task(pipeline.invoke("t"))
    await settle()
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        waiter = asyncio.create_task(pipeline.invoke("t"))
        await clock.advance(0.5)
        assert isinstance(waiter.result().error, ConcurrencyLimitedError)
    [record] = caplog.records
    assert (record.target, record.key) == ("t", "k")  # type: ignore[attr-defined]
    await clock.advance(1.0)
    assert holder.result().ok


async def test_a_refusal_is_bound_to_its_request() -> None:
    """The concurrency_limited error carries the refused request's id."""
    limiter = ConcurrencyLimitInterceptor(limit=1, clock=FakeClock())
    gate = asyncio.Event()

    async def held(request: RequestContext) -> ResponseContext:
        await gate.wait()
        return ResponseContext.success("ok")

    running = asyncio.create_task(limiter(RequestContext.create("t"), held))
    await settle()
    request = RequestContext.create("t")
    error = (await limiter(request, held)).error
    assert isinstance(error, ConcurrencyLimitedError)
    assert error.request_id == request.id
    gate.set()
    assert (await running).ok


def test_wait_timeout_error_says_none_waits_until_the_deadline() -> None:
    """The wait_timeout refusal names the bound, the None alternative and the value, exactly."""
    with pytest.raises(ValueError, match=r" must be a finite number of seconds ") as raised:
        ConcurrencyLimitInterceptor(limit=1, wait_timeout=0)
    assert str(raised.value) == (
        "wait_timeout must be a finite number of seconds > 0, or None to wait until the "
        "request's deadline, got 0"
    )


def test_a_different_pipeline_clock_is_refused_naming_waits() -> None:
    """An explicit clock refuses the pipeline's other clock: waits are timed on one clock."""
    limiter = ConcurrencyLimitInterceptor(limit=1, clock=FakeClock())
    with pytest.raises(ValueError, match=r"; waits are timed on one clock: pass the same"):
        PipelineBuilder(clock=FakeClock()).use(limiter).route(FakeHandler()).build()


async def test_an_explicit_clock_times_waits_without_a_pipeline() -> None:
    """Called directly (never bound), wait_timeout runs on the clock it was given."""
    clock = FakeClock()
    limiter = ConcurrencyLimitInterceptor(limit=1, max_waiting=1, wait_timeout=0.5, clock=clock)
    gate = asyncio.Event()

    async def held(request: RequestContext) -> ResponseContext:
        await gate.wait()
        return ResponseContext.success("ok")

    running = asyncio.create_task(limiter(RequestContext.create("t"), held))
    await settle()
    waiter = asyncio.create_task(limiter(RequestContext.create("t"), held))
    await settle()
    await clock.advance(0.5)
    assert isinstance(waiter.result().error, ConcurrencyLimitedError)
    gate.set()
    assert (await running).ok


async def test_a_stream_end_observer_is_named_after_the_interceptor(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slot's release hears the stream's end as observer ``concurrency_limit`` (the name
    a failure at the end is logged under)."""
    clock = FakeClock()

    async def streamed(request: RequestContext) -> ResponseContext:
        return ResponseContext(stream=ResponseStream.of([1, 2]))

    pipeline = build(clock, ConcurrencyLimitInterceptor(limit=1), streamed)
    response = await pipeline.invoke("t")
    assert response.stream is not None

    def broken(self: ConcurrencyLimitInterceptor, key: str) -> None:
        raise RuntimeError("release failed")

    monkeypatch.setattr(ConcurrencyLimitInterceptor, "_release", broken)
    with caplog.at_level(logging.ERROR, logger="toolware.streams"):
        assert (await response.collect()).value == [1, 2]
    [record] = [r for r in caplog.records if r.getMessage().startswith("stream.observer_failed")]
    assert record.observer == "concurrency_limit"  # type: ignore[attr-defined]
