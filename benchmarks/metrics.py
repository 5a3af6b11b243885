"""What MetricsInterceptor adds to a call, and how many series a flood of invented names makes.

Rows (each awaited many thousands of times after warm-up, rounds interleaved, see _timing.py):

  router            await pipeline(request): router + registry lookup, no interceptors
  metrics           the same with MetricsInterceptor in front
  stats             the same with StatsInterceptor in front (what metrics builds on)

Added per call: metrics - router (median over rounds of the per-round difference of means).
Then the label bound: N calls, each to a new invented target name, through a pipeline with
MetricsInterceptor(max_targets=1000); the Prometheus exposition is rendered and its series
(sample lines) counted: they must not grow with N.

Targets: metrics <= 1 us added per call; 1,000,000 invented names keep the series at the cap.
Run: .venv/bin/python benchmarks/metrics.py (--quick: fewer calls and names)
"""

from __future__ import annotations

import argparse
import asyncio
import platform

from _timing import Row, Summary, difference, print_table, run_rows
from toolware import (
    LocalRegistry,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    StatsInterceptor,
)
from toolware.interceptors.metrics import MetricsInterceptor
from toolware.metrics.prometheus import prometheus_text


async def search(query: str) -> str:
    return query


def registry() -> LocalRegistry:
    built = LocalRegistry()
    built.tool(search)
    return built


async def overhead(calls: int, rounds: int) -> None:
    request = RequestContext.create("search", {"query": "toolware"})
    router = PipelineBuilder().route(registry()).build()
    metrics = PipelineBuilder().use(MetricsInterceptor()).route(registry()).build()
    stats = PipelineBuilder().use(StatsInterceptor()).route(registry()).build()
    rows: list[Row] = [
        ("router", lambda: router(request)),
        ("metrics", lambda: metrics(request)),
        ("stats", lambda: stats(request)),
    ]
    results = {
        name: Summary(samples) for name, samples in (await run_rows(rows, calls, rounds)).items()
    }
    print_table(results)
    added = difference(results["metrics"], results["router"])
    print(f"\nmetrics added per call: {added:.3f} us (target <= 1 us)")


async def series(names: int) -> None:
    interceptor = MetricsInterceptor(max_targets=1000)

    async def terminal(request: RequestContext) -> ResponseContext:
        return ResponseContext.success(None)

    pipeline = PipelineBuilder().use(interceptor).route(terminal).build()
    for n in range(names):
        await pipeline(RequestContext.create(f"invented-{n}"))
    text = prometheus_text(interceptor.metrics)
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    targets = len(interceptor.metrics.snapshot().stats.targets)
    print(f"\n{names:,} calls to invented names: {targets} targets, {len(lines):,} series")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--names", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer calls")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.rounds, args.names = 2_000, 2, 5_000
    print(f"python {platform.python_version()}, {args.calls} calls x {args.rounds} rounds")
    asyncio.run(overhead(args.calls, args.rounds))
    asyncio.run(series(args.names))


if __name__ == "__main__":
    main()
