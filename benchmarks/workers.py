"""Synchronous tools: the worker pool against asyncio.to_thread and a bare executor.

Rows, each at concurrency 1, 8 and 64 (that many tasks calling in a loop, and that many
threads in every pool, so each row gets the same parallelism):

  bare executor   await loop.run_in_executor(ThreadPoolExecutor(n), work, 1)    (the floor)
  to_thread       await asyncio.to_thread(work, x=1), default executor of n threads
  WorkerPool      await WorkerPool(n).run(work, {"x": 1})
  pipeline        await default_pipeline(registry, workers=n)(request), a sync tool

Prints calls/s per row, the median over rounds of its ratio to the bare executor measured in
the same round, process CPU microseconds per call (all threads), then
the median and p99 microseconds of one call at concurrency 1 (timed one by one).
Targets: WorkerPool no slower than to_thread; >= 0.9 of the bare executor at concurrency 64.
Rounds interleave the rows so that machine noise hits them alike.
Run: make bench   (or .venv/bin/python benchmarks/workers.py --calls 8000 --rounds 12)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from toolware import LocalRegistry, RequestContext, default_pipeline
from toolware._workers import WorkerPool

CONCURRENCY = (1, 8, 64)
ROWS = ("bare executor", "to_thread", "WorkerPool", "pipeline")


def work(x: int) -> int:
    return x


Make = Callable[[], Awaitable[Any]]


def makers(n: int, loop: asyncio.AbstractEventLoop) -> tuple[dict[str, Make], Callable[[], None]]:
    executor = ThreadPoolExecutor(n)
    loop.set_default_executor(ThreadPoolExecutor(n))
    pool = WorkerPool(n)
    registry = LocalRegistry()
    registry.tool(work)
    pipeline = default_pipeline(registry, workers=n)
    request = RequestContext.create("work", {"x": 1})
    args = {"x": 1}
    run_in_executor = loop.run_in_executor

    def close() -> None:
        executor.shutdown(wait=True)
        pool.shutdown(wait=True)
        pipeline.close()

    return {
        "bare executor": lambda: run_in_executor(executor, work, 1),
        "to_thread": lambda: asyncio.to_thread(work, x=1),
        "WorkerPool": lambda: pool.run(work, args),
        "pipeline": lambda: pipeline(request),
    }, close


async def throughput(make: Make, concurrency: int, calls: int) -> tuple[float, float]:
    """Calls per second with ``concurrency`` tasks each calling in a loop, and CPU us per call."""
    per_task = max(1, calls // concurrency)

    async def caller() -> None:
        for _ in range(per_task):
            await make()

    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    total = per_task * concurrency
    return total / (time.perf_counter() - started), (time.process_time() - cpu) * 1e6 / total


async def latencies(make: Make, calls: int) -> list[int]:
    samples = [0] * calls
    clock = time.perf_counter_ns
    for index in range(calls):
        started = clock()
        await make()
        samples[index] = clock() - started
    return samples


async def run(calls: int, rounds: int) -> None:
    loop = asyncio.get_running_loop()
    rates: dict[tuple[int, str], list[float]] = {}
    ratios: dict[tuple[int, str], list[float]] = {}
    cpus: dict[tuple[int, str], list[float]] = {}
    single: dict[str, list[int]] = {row: [] for row in ROWS}
    for n in CONCURRENCY:
        rows, close = makers(n, loop)
        assert (await rows["pipeline"]()).unwrap() == 1
        for make in rows.values():  # warm-up: start every thread
            await throughput(make, n, max(2_000, 20 * n))
        for _ in range(rounds):
            floor = 0.0
            for name, make in rows.items():
                gc.collect()
                rate, cpu = await throughput(make, n, calls)
                floor = rate if name == "bare executor" else floor
                rates.setdefault((n, name), []).append(rate)
                cpus.setdefault((n, name), []).append(cpu)
                ratios.setdefault((n, name), []).append(rate / floor)
                if n == 1:
                    single[name].extend(await latencies(make, calls // 4))
        close()
    print(f"{'row':14} {'conc':>5} {'calls/s':>10} {'x bare':>7} {'CPU us/call':>12}")
    for n in CONCURRENCY:
        for name in ROWS:
            rate = statistics.median(rates[(n, name)])
            ratio = statistics.median(ratios[(n, name)])
            cpu = statistics.median(cpus[(n, name)])
            print(f"{name:14} {n:5d} {rate:10,.0f} {ratio:7.2f} {cpu:12.1f}")
    print()
    print(f"{'one call, concurrency 1':24} {'p50 us':>8} {'p99 us':>8} {'p50 - bare':>11}")
    floor_p50 = statistics.median(single["bare executor"]) / 1000
    for name in ROWS:
        ordered = sorted(single[name])
        p50 = ordered[len(ordered) // 2] / 1000
        p99 = ordered[int(len(ordered) * 0.99)] / 1000
        print(f"{name:24} {p50:8.1f} {p99:8.1f} {p50 - floor_p50:+11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # Many short rounds: thread scheduling on a shared machine comes in bursts, and the median
    # of per-round ratios over many rounds is what stays put.
    parser.add_argument("--calls", type=int, default=8_000, help="calls per row per round")
    parser.add_argument("--rounds", type=int, default=12, help="interleaved rounds")
    options = parser.parse_args()
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{options.rounds} rounds x {options.calls} calls per row"
    )
    asyncio.run(run(options.calls, options.rounds))


if __name__ == "__main__":
    main()
