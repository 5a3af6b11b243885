"""The code each chaos worker process runs: one function per scenario role.

Each function takes its options as keywords (``worker``, ``url``, events...), runs its own
event loop, and returns a report dict (``_common.entry`` puts it on the parent's queue).
Tools count their own executions (handler-side), so a duplicate run cannot hide behind a
pipeline that reports one answer. Waits and timestamps here are the harness's (real time,
``time.time()`` so that processes can compare instants), never the library's logic.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

from _common import Tally

from toolware import (
    CircuitBreakerInterceptor,
    LocalRegistry,
    PipelineBuilder,
    RateLimitInterceptor,
    RequestContext,
    RetryInterceptor,
    TimeoutInterceptor,
)
from toolware.state.redis import RedisState


def status_of(state: RedisState) -> dict[str, Any]:
    status = state.status()
    return {
        "shared": status.shared,
        "degraded": status.degraded,
        "fallbacks": status.fallbacks,
        "errors": status.errors,
        "last_error": status.last_error,
    }


async def _call(pipeline: Any, request: RequestContext, tally: Tally) -> Any:
    try:
        response = await pipeline(request)
    except Exception as exc:  # what the scenario exists to catch: it must never happen
        tally.escape(exc)
        return None
    tally.record(response)
    return response


# -- (a) one rate limit shared by processes through Redis ---------------------------------------


def shared_rate(
    *,
    url: str,
    rate: float,
    burst: int,
    lease_size: int,
    start_at: float,
    duration: float,
    concurrency: int,
    **_: Any,
) -> dict[str, Any]:
    return asyncio.run(_shared_rate(url, rate, burst, lease_size, start_at, duration, concurrency))


async def _shared_rate(
    url: str,
    rate: float,
    burst: int,
    lease_size: int,
    start_at: float,
    duration: float,
    concurrency: int,
) -> dict[str, Any]:
    state = RedisState(url, lease_size=lease_size)
    executions = 0

    async def ping() -> str:
        nonlocal executions
        executions += 1
        return "pong"

    registry = LocalRegistry()
    registry.tool(ping)
    limiter = RateLimitInterceptor(rate=rate, burst=burst, key="target", state=state)
    pipeline = PipelineBuilder().use(limiter).route(registry).build()
    request = RequestContext.create("ping")
    tally = Tally()
    await asyncio.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    until = started + duration

    async def caller() -> None:
        while time.time() < until:
            response = await _call(pipeline, request, tally)
            if response is None or not response.ok:
                await asyncio.sleep(0.002)  # a refused client backs off a little

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    finished = time.time()
    report = tally.as_dict() | {
        "executions": executions,
        "started": started,
        "finished": finished,
        "status": status_of(state),
    }
    await state.aclose()
    return report


# -- (b) redis-server killed mid-run ------------------------------------------------------------


def crash_survivor(
    *, url: str, ready: Any, killed: Any, restarted: Any, concurrency: int, **_: Any
) -> dict[str, Any]:
    return asyncio.run(_crash_survivor(url, ready, killed, restarted, concurrency))


async def _crash_survivor(
    url: str, ready: Any, killed: Any, restarted: Any, concurrency: int
) -> dict[str, Any]:
    state = RedisState(url)

    async def echo(text: str) -> str:
        return text

    registry = LocalRegistry()
    registry.tool(echo, idempotent=True)
    breaker = CircuitBreakerInterceptor(state=state, break_duration=1.0)
    pipeline = (
        PipelineBuilder()
        .use(TimeoutInterceptor(timeout=5.0))
        .use(breaker)
        .use(RateLimitInterceptor(rate=1_000_000.0, burst=1_000, key="target", state=state))
        .route(registry)
        .build()
    )
    request = RequestContext.create("echo", {"text": "still here"})
    tally = Tally()
    timeline: list[tuple[str, bool, bool]] = []
    done = asyncio.Event()

    def phase() -> str:
        return "after" if restarted.is_set() else "outage" if killed.is_set() else "before"

    async def caller() -> None:
        while not done.is_set():
            await _call(pipeline, request, tally)
            await asyncio.sleep(0.001)

    async def watcher() -> None:
        recovered_at: float | None = None
        give_up: float | None = None
        while True:
            status = state.status()
            now, current = time.time(), phase()
            timeline.append((current, status.degraded, status.shared))
            if current == "after":
                give_up = give_up or now + 10.0
                healthy = status.shared and not status.degraded
                recovered_at = (recovered_at or now) if healthy else None
                # Recovered and stayed so for half a second of calls, or give up.
                if (recovered_at and now - recovered_at >= 0.5) or now >= give_up:
                    done.set()
                    return
            await asyncio.sleep(0.05)

    ready.release()
    await asyncio.gather(watcher(), *(caller() for _ in range(concurrency)))
    report = tally.as_dict() | {
        "degraded_in_outage": any(p == "outage" and d for p, d, _ in timeline),
        "status": status_of(state),
        "breaker": str(breaker.state(_breaker_key(request))),
    }
    await state.aclose()
    return report


def _breaker_key(request: RequestContext) -> str:
    return request.target


# -- (c) a flaky tool behind retry + breaker ----------------------------------------------------


class FlakyError(Exception):
    """The tool's transient failure (listed in ``retryable_on``)."""


def flaky(
    *, worker: int, seed: int, calls: int, concurrency: int, failure_rate: float, **_: Any
) -> dict[str, Any]:
    return asyncio.run(_flaky(worker, seed, calls, concurrency, failure_rate))


async def _flaky(
    worker: int,
    seed: int,
    calls: int,
    concurrency: int,
    failure_rate: float,
    clock: Any = None,
) -> dict[str, Any]:
    """Also run in-process by tests/test_chaos_smoke.py, on a FakeClock (``clock``)."""
    dice = random.Random(f"{seed}-{worker}")
    executions: dict[str, Counter[str]] = {"idempotent": Counter(), "once": Counter()}

    def make(kind: str) -> Any:
        async def tool(call_id: str) -> str:
            executions[kind][call_id] += 1
            await asyncio.sleep(0)  # let the other calls interleave
            if dice.random() < failure_rate:
                raise FlakyError(f"{kind} {call_id} failed")
            return call_id

        tool.__name__ = kind
        return tool

    registry = LocalRegistry()
    registry.tool(make("idempotent"), idempotent=True, retryable_on=(FlakyError,))
    # Not idempotent, although its error is retryable: retry must still never run it twice.
    registry.tool(make("once"), idempotent=False, retryable_on=(FlakyError,))
    pipeline = (
        (PipelineBuilder() if clock is None else PipelineBuilder(clock=clock))
        .use(RetryInterceptor(attempts=3, base_delay=0.001, max_delay=0.005))
        .use(CircuitBreakerInterceptor(minimum_calls=20, window=1.0, break_duration=0.05))
        .route(registry)
        .build()
    )
    tallies = {"idempotent": Tally(), "once": Tally()}
    queue = [(kind, f"{worker}-{n}") for n in range(calls) for kind in tallies]

    async def caller() -> None:
        while queue:
            kind, call_id = queue.pop()
            request = RequestContext.create(kind, {"call_id": call_id})
            await _call(pipeline, request, tallies[kind])

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return {
        kind: tallies[kind].as_dict()
        | {
            "executions": sum(executions[kind].values()),
            "most_runs": max(executions[kind].values(), default=0),
            "duplicates": sum(1 for n in executions[kind].values() if n > 1),
        }
        for kind in tallies
    }


# -- (d) a breaker opened in one process, seen by another ---------------------------------------

SHARED_KEY = "chaos-fragile"


def _shared_key(request: RequestContext) -> str:
    return SHARED_KEY


def breaker_peer(
    *, role: str, url: str, watching: Any, opened: Any, limit: float, **_: Any
) -> dict[str, Any]:
    return asyncio.run(_breaker_peer(role, url, watching, opened, limit))


async def _breaker_peer(
    role: str, url: str, watching: Any, opened: Any, limit: float
) -> dict[str, Any]:
    state = RedisState(url)

    async def fragile() -> str:
        if role == "opener":
            raise FlakyError("down")
        return "fine"

    registry = LocalRegistry()
    registry.tool(fragile)
    breaker = CircuitBreakerInterceptor(
        failure_ratio=None,
        consecutive_failures=3,
        break_duration=30.0,
        key=_shared_key,
        state=state,
    )
    pipeline = PipelineBuilder().use(breaker).route(registry).build()
    request = RequestContext.create("fragile")
    tally = Tally()
    report: dict[str, Any] = {"role": role}
    closed = str(breaker.state(SHARED_KEY))
    if role == "watcher":
        await _call(pipeline, request, tally)  # a first call, so it knows the breaker closed
        watching.set()
        give_up = time.time() + limit + 5.0
        seen_by = None
        while seen_by is None and time.time() < give_up:
            if str(breaker.state(SHARED_KEY)) != closed:
                seen_by = "state()"
                break
            response = await _call(pipeline, request, tally)
            if response is not None and not response.ok:
                seen_by = f"a call refused ({response.error.category})"
                break
            await asyncio.sleep(0.005)
        report["seen_at"] = time.time() if seen_by else None
        report["seen_by"] = seen_by
    else:
        await asyncio.to_thread(watching.wait, 10.0)
        while str(breaker.state(SHARED_KEY)) == closed and tally.calls < 20:
            await _call(pipeline, request, tally)
        report["opened_at"] = time.time()
        report["state"] = str(breaker.state(SHARED_KEY))
        opened.set()
    await state.aclose()
    return report | tally.as_dict()
