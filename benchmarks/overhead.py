"""Pipeline overhead against hand-written floors, measured in one process.

Rows (each awaited many thousands of times after warm-up, rounds interleaved so that machine
noise hits every row alike):

  (a) direct        await handler(**args)
  (b) closures x10  a hand-written chain of 10 pass-through async closures around (a)
  (c) toolware x0   await pipeline(request): router + registry lookup, no interceptors
  (c') invoke x0    await pipeline.invoke(name, args): (c) plus building the request
  (d) toolware x10  (c) with 10 pass-through interceptors
  (e) default       stats + timeout + validation (the default pipeline)
  (f) by hand x10   what (d) does, written by hand: a try/except boundary, 10 closures, and a
                    router with a dict lookup, two clock reads and a ResponseContext

(d)/(f) is the cost of toolware's own machinery (build-time fold, links, crash attribution);
(d)/(b) adds the cost of what every call gets (error boundary, lookup, timings, a response).

Targets: (d)/(b) <= 1.3 and (c) - (a) <= 3 us.
Run: make bench   (or .venv/bin/python benchmarks/overhead.py --calls 20000 --rounds 5)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from toolware import (
    InternalError,
    Kind,
    LocalRegistry,
    NotFoundError,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    ToolFailedError,
    default_pipeline,
)
from toolware.types import CallNext


async def search(query: str) -> str:
    return query


ARGS = {"query": "toolware"}


def closure_chain(depth: int) -> Callable[[dict[str, Any]], Awaitable[str]]:
    async def innermost(args: dict[str, Any]) -> str:
        return await search(**args)

    chain = innermost
    for _ in range(depth - 1):

        def wrap(inner: Callable[[dict[str, Any]], Awaitable[str]]) -> Any:
            async def layer(args: dict[str, Any]) -> str:
                return await inner(args)

            return layer

        chain = wrap(chain)
    return chain


def hand_written_equivalent(depth: int) -> Callable[[RequestContext], Awaitable[Any]]:
    entries = {(Kind.TOOL, "search", None): search}
    lookup = entries.get
    now = time.monotonic

    async def route(request: RequestContext) -> ResponseContext:
        handler = lookup((request.kind, request.target, request.action))
        if handler is None:
            return ResponseContext.failure(NotFoundError(request.target))
        started = now()
        try:
            value = await handler(**request.arguments)
        except Exception as exc:
            return ResponseContext.failure(ToolFailedError(str(exc)))
        return ResponseContext(value=value, started_at=started, finished_at=now())

    chain: Callable[[RequestContext], Awaitable[ResponseContext]] = route
    for _ in range(depth):

        def wrap(inner: Callable[[RequestContext], Awaitable[ResponseContext]]) -> Any:
            async def layer(request: RequestContext) -> ResponseContext:
                return await inner(request)

            return layer

        chain = wrap(chain)

    async def boundary(request: RequestContext) -> ResponseContext:
        try:
            return await chain(request)
        except Exception as exc:
            return ResponseContext.failure(InternalError(str(exc)))

    return boundary


async def passthrough(request: RequestContext, call_next: CallNext) -> ResponseContext:
    return await call_next(request)


Row = tuple[str, Callable[[], Awaitable[Any]]]
YIELD_EVERY = 100


def build_rows() -> list[Row]:
    registry = LocalRegistry()
    registry.tool(search)
    bare = PipelineBuilder().route(registry).build()
    ten = PipelineBuilder()
    for index in range(10):
        ten.use(passthrough, name=f"pass{index}")
    ten_interceptors = ten.route(registry).build()
    default = default_pipeline(registry)
    request = RequestContext.create("search", ARGS)
    chain = closure_chain(10)
    by_hand = hand_written_equivalent(10)

    # Sanity: every row really calls the handler and gets the same answer.
    async def check() -> None:
        assert await search(**ARGS) == "toolware"
        assert await chain(ARGS) == "toolware"
        for pipeline in (bare, ten_interceptors, default, by_hand):
            assert (await pipeline(request)).unwrap() == "toolware"
        assert (await bare.invoke("search", ARGS)).unwrap() == "toolware"

    asyncio.run(check())
    return [
        ("(a) direct await handler(**args)", lambda: search(**ARGS)),
        ("(b) 10 hand-written closures", lambda: chain(ARGS)),
        ("(c) toolware, 0 interceptors", lambda: bare(request)),
        ("(c') invoke(), 0 interceptors", lambda: bare.invoke("search", ARGS)),
        ("(d) toolware, 10 pass-through", lambda: ten_interceptors(request)),
        ("(e) stats+timeout+validation", lambda: default(request)),
        ("(f) (d) written by hand", lambda: by_hand(request)),
    ]


async def measure(make: Callable[[], Awaitable[Any]], calls: int) -> list[int]:
    samples = [0] * calls
    clock = time.perf_counter_ns
    for index in range(calls):
        started = clock()
        await make()
        samples[index] = clock() - started
        if index % YIELD_EVERY == 0:
            # None of these calls suspends, so without this the event loop would never run and
            # the timeout row's cancelled timers would pile up in its heap (a real server's
            # loop runs between calls and purges them). Outside the timed region, every row.
            await asyncio.sleep(0)
    return samples


async def run(rows: list[Row], calls: int, rounds: int) -> dict[str, list[int]]:
    results: dict[str, list[int]] = {name: [] for name, _ in rows}
    for _, make in rows:  # warm-up: caches, lazy thread pools, specialised bytecode
        await measure(make, 2_000)
    for _ in range(rounds):
        for name, make in rows:
            gc.collect()
            results[name].extend(await measure(make, calls))
    return results


def summary(samples: list[int]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    mean = statistics.fmean(ordered) / 1000
    p50 = ordered[len(ordered) // 2] / 1000
    p99 = ordered[int(len(ordered) * 0.99)] / 1000
    return mean, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    options = parser.parse_args()
    rows = build_rows()
    results = asyncio.run(run(rows, options.calls, options.rounds))
    stats = {name: summary(samples) for name, samples in results.items()}
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{options.rounds} rounds x {options.calls} calls per row"
    )
    print(f"{'row':34} {'mean us':>9} {'p50 us':>9} {'p99 us':>9}")
    for name, (mean, p50, p99) in stats.items():
        print(f"{name:34} {mean:9.3f} {p50:9.3f} {p99:9.3f}")
    names = list(stats)
    a, b, c, c2, d, e, f = (stats[n] for n in names)
    print()
    print(f"(c)/(a)   mean {c[0] / a[0]:.2f}  p50 {c[1] / a[1]:.2f}")
    print(f"(c)-(a)   mean {c[0] - a[0]:.3f} us  p50 {c[1] - a[1]:.3f} us   target <= 3 us")
    print(f"(c')-(a)  mean {c2[0] - a[0]:.3f} us  p50 {c2[1] - a[1]:.3f} us")
    print(f"(d)/(b)   mean {d[0] / b[0]:.2f}  p50 {d[1] / b[1]:.2f}   target <= 1.3")
    print(f"(d)/(f)   mean {d[0] / f[0]:.2f}  p50 {d[1] / f[1]:.2f}   toolware's own machinery")
    print(f"(e)-(c)   mean {e[0] - c[0]:.3f} us  p50 {e[1] - c[1]:.3f} us   three interceptors")
    print()
    for label, met in (
        ("(c)-(a) <= 3 us", c[0] - a[0] <= 3.0),
        ("(d)/(b) <= 1.3", d[0] / b[0] <= 1.3),
    ):
        print(f"target {label}: {'met' if met else 'missed'}")


if __name__ == "__main__":
    main()
