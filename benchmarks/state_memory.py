"""Memory stays bounded under 1,000,000 distinct keys: the state store and the interceptors.

Each phase drives one consumer of state with N distinct keys (default 1,000,000), one call
per key, and samples memory every N/10 keys:

  MemoryState rates      ``acquire(f"rl:{i}", ...)``      bound max_rate_keys (100,000)
  MemoryState cache      ``cache_set(f"cache:{i}", ...)``  bound max_cache_entries (10,000)
  MemoryState breakers   ``breaker_record(f"cb:{i}", ...)`` bound max_breaker_keys (10,000)
  rate_limit interceptor a pipeline keyed by the call's argument (one key per call)
  circuit_breaker        the same, breaker keyed by the argument
  cache interceptor      a cached entry called with N distinct arguments, max_entries=10,000

Memory is what ``tracemalloc`` sees allocated (current, in MiB) at each checkpoint, beside the
number of keys the store holds and the process's resident set size (RSS, from /proc). A phase
is *bounded* when the keys held never exceed the bound and traced memory at the end is within
10 % of what it was at the first checkpoint past twice the bound (the plateau).
Run: make bench  (or .venv/bin/python benchmarks/state_memory.py --keys 1000000;
--quick for 200,000 keys)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from toolware import (
    CacheInterceptor,
    CircuitBreakerInterceptor,
    LocalRegistry,
    PipelineBuilder,
    RateLimitInterceptor,
    RequestContext,
)
from toolware.state.base import BreakerPolicy, RateLimit
from toolware.state.memory import MemoryState

MIB = 1024 * 1024
LIMIT = RateLimit(rate=1e9, burst=1)
POLICY = BreakerPolicy()
VALUE = b"x" * 64

Step = Callable[[int], Awaitable[Any]]
Phase = tuple[str, int, Step, Callable[[], int]]


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / MIB


def state_phases() -> list[Phase]:
    rates, cache, breakers = MemoryState(), MemoryState(), MemoryState()

    async def rate(i: int) -> Any:
        return await rates.acquire(f"rl:{i}", LIMIT, float(i))

    async def cached(i: int) -> Any:
        await cache.cache_set(f"cache:{i}", VALUE, 60.0, float(i))

    async def breaker(i: int) -> Any:
        return await breakers.breaker_record(f"cb:{i}", POLICY, float(i), failed=True, probe=False)

    return [
        ("MemoryState rates", 100_000, rate, lambda: len(rates.rates)),
        ("MemoryState cache", 10_000, cached, lambda: len(cache.cache)),
        ("MemoryState breakers", 10_000, breaker, lambda: len(breakers.breakers)),
    ]


async def echo(query: str) -> str:
    return query


def _by_query(request: RequestContext) -> str:
    return str(request.arguments["query"])


def interceptor_phases() -> list[Phase]:
    """Pipelines around one interceptor each, keyed per call, each with a store of its own."""
    registry = LocalRegistry()
    registry.tool(echo, idempotent=True, cache=True)
    rates, breakers, cache = MemoryState(), MemoryState(), MemoryState()
    interceptors: list[tuple[str, int, Any, MemoryState, str]] = [
        (
            "rate_limit interceptor",
            100_000,
            RateLimitInterceptor(rate=1e9, key=_by_query, state=rates),
            rates,
            "rates",
        ),
        (
            "circuit_breaker interceptor",
            10_000,
            CircuitBreakerInterceptor(key=_by_query, state=breakers),
            breakers,
            "breakers",
        ),
        (
            "cache interceptor",
            10_000,
            CacheInterceptor(max_entries=10_000, state=cache),
            cache,
            "cache",
        ),
    ]
    phases: list[Phase] = []
    for label, bound, interceptor, store, group in interceptors:
        pipeline = PipelineBuilder().use(interceptor).route(registry).build()

        async def step(i: int, pipeline: Any = pipeline) -> Any:
            return await pipeline.invoke("echo", {"query": str(i)})

        phases.append((label, bound, step, lambda s=store, g=group: len(getattr(s, g))))
    return phases


async def drive(phase: Phase, keys: int) -> list[tuple[int, int, float, float]]:
    """(keys driven, keys held, traced MiB, RSS MiB) at every tenth of the run."""
    _, _, step, held = phase
    every = max(1, keys // 10)
    gc.collect()
    tracemalloc.start()
    samples: list[tuple[int, int, float, float]] = []
    try:
        for i in range(keys):
            await step(i)
            if (i + 1) % every == 0:
                current, _ = tracemalloc.get_traced_memory()
                samples.append((i + 1, held(), current / MIB, rss_mib()))
    finally:
        tracemalloc.stop()
    return samples


def report(phase: Phase, samples: list[tuple[int, int, float, float]]) -> bool:
    label, bound, _, _ = phase
    print(f"\n{label} (bound {bound:,} keys)")
    print(f"{'keys driven':>12} {'keys held':>10} {'traced MiB':>11} {'RSS MiB':>9}")
    for driven, held, traced, rss in samples:
        print(f"{driven:12,} {held:10,} {traced:11.2f} {rss:9.1f}")
    plateau = next((s for s in samples if s[0] >= 2 * bound), None)
    held_ok = all(held <= bound for _, held, _, _ in samples)
    if plateau is None:
        print("  too few keys to see the plateau (need more than twice the bound)")
        return held_ok
    end = samples[-1][2]
    flat = end <= plateau[2] * 1.10 + 0.5  # 0.5 MiB slack for allocator noise on small stores
    print(
        f"  traced at {plateau[0]:,} keys {plateau[2]:.2f} MiB, at the end {end:.2f} MiB: "
        f"{'bounded' if held_ok and flat else 'NOT BOUNDED'}"
    )
    return held_ok and flat


async def main_async(keys: int) -> bool:
    ok = True
    for phase in [*state_phases(), *interceptor_phases()]:
        samples = await drive(phase, keys)
        ok = report(phase, samples) and ok
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000, help="distinct keys per phase")
    parser.add_argument("--quick", action="store_true", help="smoke run: 200,000 keys")
    options = parser.parse_args()
    keys = 200_000 if options.quick else options.keys
    ok = asyncio.run(main_async(keys))
    print(f"\nmemory bounded in every phase: {'yes' if ok else 'NO'}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
