"""The resilient pipeline against hand-built stacks of the usual libraries, in one process.

Every row awaits the same async tool, ``search(query) -> query``, on the happy path (nothing
fails, nothing is limited), so what is measured is what resilience costs a call that needs none.

  floor             await search(**args)
  tenacity stack    asyncio.timeout(30) -> tenacity @retry (stop_after_attempt(3),
                    wait_exponential_jitter(multiplier=0.1, max=10), retry on the tool's error)
                    -> pybreaker
                    ``with breaker.calling():`` -> aiolimiter ``async with limiter:`` -> tool.
                    pybreaker's own ``call_async`` needs tornado (``gen.coroutine``), which is not
                    installed and does not drive asyncio coroutines, so the breaker is used through
                    its documented ``calling()`` context manager around the await (its state
                    machine still counts every outcome).
  stamina stack     asyncio.timeout(30) -> @stamina.retry(on=the tool's error, attempts=3) ->
                    aiolimiter -> tool (stamina has no breaker)
  toolware default  stats -> timeout -> validation -> router (exists today)
  toolware resilient ``resilient_pipeline(registry, rate=..., concurrency=100)``: stats ->
                    timeout -> cache -> retry -> circuit_breaker -> rate_limit ->
                    concurrency_limit -> validation -> router, state in one MemoryState; does more
                    than the stacks (statistics, validation, a cache, a bulkhead, typed failures)

Then each interceptor's happy-path cost: a pipeline with only that interceptor in front of the
router, minus the same pipeline without it (median over rounds of the per-round difference).

Targets: resilient pipeline <= 10 us mean per call, and >= 4x faster than the tenacity stack.
Run: make bench  (or .venv/bin/python benchmarks/resilience.py --calls 20000 --rounds 5;
--quick for a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import platform
from collections.abc import Awaitable, Callable
from typing import Any

import aiolimiter
import pybreaker
import stamina
import tenacity

from _timing import Row, Summary, difference, print_table, ratio, run_rows
from toolware import (
    CacheInterceptor,
    CircuitBreakerInterceptor,
    ConcurrencyLimitInterceptor,
    FallbackInterceptor,
    FaultInjectionInterceptor,
    HedgingInterceptor,
    LocalRegistry,
    PipelineBuilder,
    RateLimit,
    RateLimitInterceptor,
    RequestContext,
    RetryInterceptor,
    StatsInterceptor,
    TimeoutInterceptor,
    ValidationInterceptor,
    default_pipeline,
    resilient_pipeline,
)
from toolware.interceptors.fault_injection import Failure

TIMEOUT = 30.0
OPEN_RATE = 1e9  # permits per second: far above any call rate, so nothing is ever limited
ARGS = {"query": "toolware"}


class ToolError(Exception):
    """What the baseline stacks retry on (the tool never raises it here)."""


async def search(query: str) -> str:
    return query


# -- the baseline stacks -----------------------------------------------------------------------


def tenacity_stack() -> Callable[[dict[str, Any]], Awaitable[str]]:
    breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=30)
    limiter = aiolimiter.AsyncLimiter(OPEN_RATE, 1.0)

    @tenacity.retry(
        stop=tenacity.stop_after_attempt(3),
        wait=tenacity.wait_exponential_jitter(multiplier=0.1, max=10.0),
        retry=tenacity.retry_if_exception_type(ToolError),
        reraise=True,
    )
    async def attempt(args: dict[str, Any]) -> str:
        with breaker.calling():
            async with limiter:
                return await search(**args)

    async def call(args: dict[str, Any]) -> str:
        async with asyncio.timeout(TIMEOUT):
            return await attempt(args)

    return call


def stamina_stack() -> Callable[[dict[str, Any]], Awaitable[str]]:
    limiter = aiolimiter.AsyncLimiter(OPEN_RATE, 1.0)

    @stamina.retry(on=ToolError, attempts=3, wait_initial=0.1, wait_max=10.0)
    async def attempt(args: dict[str, Any]) -> str:
        async with limiter:
            return await search(**args)

    async def call(args: dict[str, Any]) -> str:
        async with asyncio.timeout(TIMEOUT):
            return await attempt(args)

    return call


# -- toolware ----------------------------------------------------------------------------------

# Each interceptor with happy-path options, for its own "only <name>" row.
STAGES: dict[str, Callable[[], Any]] = {
    "stats": StatsInterceptor,
    "timeout": lambda: TimeoutInterceptor(timeout=TIMEOUT),
    "validation": ValidationInterceptor,
    "retry": lambda: RetryInterceptor(attempts=3),
    "circuit_breaker": CircuitBreakerInterceptor,
    "rate_limit": lambda: RateLimitInterceptor(rate=OPEN_RATE, burst=1_000),
    "concurrency_limit": lambda: ConcurrencyLimitInterceptor(limit=100),
    "cache": lambda: CacheInterceptor(ttl=60.0),
    # The delay is far beyond the call: the hedge timer is armed and cancelled, never fires.
    "hedging": lambda: HedgingInterceptor(delay=10.0),
    "fallback": lambda: FallbackInterceptor(on=("unavailable",), value="fallback"),
    "fault_injection": lambda: FaultInjectionInterceptor(Failure("tool_failed", rate=0.0), seed=1),
}


def registry_for_bench() -> LocalRegistry:
    registry = LocalRegistry()
    registry.tool(search, idempotent=True)
    registry.tool(search, name="cached_search", idempotent=True, cache=True)
    return registry


def pipeline_of(registry: LocalRegistry, stages: list[tuple[str, Any]]) -> Any:
    builder = PipelineBuilder(name="bench")
    for name, interceptor in stages:
        builder.use(interceptor, name=name)
    return builder.route(registry).build()


async def _answers(pipeline: Any, request: RequestContext) -> bool:
    response = await pipeline(request)
    return bool(response.ok and response.value == "toolware")


async def build_rows() -> tuple[list[Row], list[str]]:
    """All rows, and the names of the per-interceptor rows."""
    registry = registry_for_bench()
    request = RequestContext.create("search", ARGS)
    cached = RequestContext.create("cached_search", ARGS)
    tenacity_call = tenacity_stack()
    stamina_call = stamina_stack()
    bare = pipeline_of(registry, [])
    default = default_pipeline(registry, timeout=TIMEOUT)
    resilient = resilient_pipeline(
        registry, timeout=TIMEOUT, rate=RateLimit(OPEN_RATE, burst=1_000), concurrency=100
    )
    rows: list[Row] = [
        ("floor: await search(**args)", lambda: search(**ARGS)),
        ("tenacity+pybreaker+aiolimiter+timeout", lambda: tenacity_call(ARGS)),
        ("stamina+aiolimiter+timeout", lambda: stamina_call(ARGS)),
        ("toolware, no interceptor", lambda: bare(request)),
        ("toolware default (stats+timeout+valid.)", lambda: default(request)),
        ("toolware resilient pipeline", lambda: resilient(request)),
    ]
    checks: list[tuple[str, Any, RequestContext]] = [
        ("bare", bare, request),
        ("default", default, request),
        ("resilient", resilient, request),
    ]
    single: list[str] = []
    for name, factory in STAGES.items():
        pipeline = pipeline_of(registry, [(name, factory())])
        label = f"only {name}"
        rows.append((label, lambda p=pipeline: p(request)))
        checks.append((label, pipeline, request))
        single.append(label)
        if name == "cache":  # the hit path: the entry opts in, the first call fills the cache
            rows.append(("only cache (hit)", lambda p=pipeline: p(cached)))
            checks.append(("only cache (hit)", pipeline, cached))
            single.append("only cache (hit)")

    # Sanity: every row really calls the tool and gets its answer (this also fills the cache).
    assert await tenacity_call(ARGS) == "toolware"
    assert await stamina_call(ARGS) == "toolware"
    failed = [label for label, p, r in checks if not await _answers(p, r)]
    if failed:
        raise SystemExit(f"did not answer 'toolware' on the happy path: {', '.join(failed)}")
    return rows, single


async def measure_all(calls: int, rounds: int) -> tuple[dict[str, list[list[int]]], list[str]]:
    # One event loop for building and measuring: aiolimiter and asyncio.timeout bind to it.
    rows, single = await build_rows()
    return await run_rows(rows, calls, rounds, warmup=min(2_000, calls)), single


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 calls, 2 rounds")
    options = parser.parse_args()
    calls, rounds = (2_000, 2) if options.quick else (options.calls, options.rounds)
    results, single = asyncio.run(measure_all(calls, rounds))
    stats = {name: Summary(samples) for name, samples in results.items()}
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{rounds} rounds x {calls} calls per row"
    )
    print_table(stats)
    bare = stats["toolware, no interceptor"]
    tenacity_row = stats["tenacity+pybreaker+aiolimiter+timeout"]
    print()
    print(f"{'happy-path cost of one interceptor':44} {'us/call':>9} {'ratio':>9}")
    for label in single:
        cost = difference(stats[label], bare)
        print(f"{label:44} {cost:9.3f} {ratio(stats[label], bare):9.2f}")
    print()
    floor = stats["floor: await search(**args)"]
    for label in ("tenacity+pybreaker+aiolimiter+timeout", "stamina+aiolimiter+timeout"):
        print(f"{label} - floor: {difference(stats[label], floor):.3f} us")
    resilient = stats["toolware resilient pipeline"]
    speedup = ratio(tenacity_row, resilient)
    print(f"resilient - floor: {difference(resilient, floor):.3f} us")
    # The targets are on means; p50s are printed beside them because a shared machine's noise
    # lands in the tail, and p50 ratios show what the code costs when nothing interferes.
    p50_speedup = tenacity_row.p50 / resilient.p50
    print(
        f"resilient p50 {resilient.p50:.3f} us; tenacity stack / resilient p50: {p50_speedup:.2f}x"
    )
    print(f"tenacity stack / resilient: {speedup:.2f}x")
    print(
        f"stamina stack / resilient: {ratio(stats['stamina+aiolimiter+timeout'], resilient):.2f}x"
    )
    print()
    for label, met in (
        (f"resilient pipeline <= 10 us mean (saw {resilient.mean:.3f})", resilient.mean <= 10.0),
        (f">= 4x faster than the tenacity stack (saw {speedup:.2f}x)", speedup >= 4.0),
    ):
        print(f"target {label}: {'met' if met else 'missed'}")


if __name__ == "__main__":
    main()
