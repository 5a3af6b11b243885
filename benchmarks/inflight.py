"""Many calls in flight at once: CPU per call, latency and memory, against a bare call.

Each call is an async tool parked on one shared ``asyncio.Event``: N calls are started
together (one task each), all park, then the event releases them in one batch. So the N calls
really are in flight together, as on a busy server, and everything they allocate is alive at
once (which is what makes the cyclic garbage collector expensive: its full collections walk
every tracked object that is alive).

Rows, at N = 1, 100, 1,000 and 10,000 in flight:

  bare      a task awaiting ``tool(x=1)`` directly                                  (the floor)
  default   a task awaiting ``default_pipeline(registry).invoke("tool", {"x": 1})``

CPU us per call is process CPU time (``time.process_time``) for the whole batch (start, park,
release, finish) over N; p99 is the latency of one call from its task's first step to its
response. Both again with the collector off (``gc.disable()``) to show its share. Rounds
interleave the rows; each row runs batches until it has done about ``--calls`` calls.

Memory: bytes per in-flight call (``tracemalloc``, traced bytes while 10,000 calls are parked,
over 10,000) and objects the collector tracks per in-flight call (``gc.get_objects()``), for
both rows. ``--detail`` lists, for the default pipeline, the top allocation sites per in-flight
call and the tracked object types.

Target: CPU per call at 10,000 in flight within 1.3x of the figure at 1,000.
Run: make bench   (or .venv/bin/python benchmarks/inflight.py --calls 20000 --rounds 5)
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import platform
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from toolware import LocalRegistry, default_pipeline

SIZES = (1, 100, 1_000, 10_000)
MEMORY_N = 10_000


class Gate:
    """The one event every parked call waits on; replaced for each batch."""

    event = asyncio.Event()


async def tool(x: int) -> int:
    await Gate.event.wait()
    return x


def rows() -> dict[str, Callable[[], Awaitable[Any]]]:
    registry = LocalRegistry()
    registry.tool(tool)
    pipeline = default_pipeline(registry)
    args = {"x": 1}
    invoke = pipeline.invoke
    return {"bare": lambda: tool(x=1), "default": lambda: invoke("tool", args)}


async def batch(make: Callable[[], Awaitable[Any]], n: int) -> tuple[float, list[float]]:
    """Run ``n`` calls in flight together; CPU seconds for the batch and each call's latency."""
    Gate.event = asyncio.Event()
    clock = time.perf_counter
    latencies = [0.0] * n

    async def call(index: int) -> None:
        started = clock()
        await make()
        latencies[index] = clock() - started

    cpu = time.process_time()
    tasks = [asyncio.create_task(call(i)) for i in range(n)]
    await asyncio.sleep(0)  # every task takes its first step and parks on the gate
    Gate.event.set()
    await asyncio.gather(*tasks)
    return time.process_time() - cpu, latencies


async def measure(calls: int, rounds: int) -> None:
    makes = rows()
    for make in makes.values():  # warm-up, and check that the pipeline really answers
        await batch(make, 1_000)
    Gate.event.set()
    value = await makes["default"]()
    assert value.unwrap() == 1, value
    cpu: dict[tuple[str, int, bool], list[float]] = collections.defaultdict(list)
    lat: dict[tuple[str, int, bool], list[float]] = collections.defaultdict(list)
    for _ in range(rounds):
        for n in SIZES:
            for collector in (True, False):
                for name, make in makes.items():
                    gc.collect()
                    if not collector:
                        gc.disable()
                    try:
                        for _ in range(max(1, calls // n)):
                            seconds, latencies = await batch(make, n)
                            cpu[(name, n, collector)].append(seconds / n)
                            lat[(name, n, collector)].extend(latencies)
                    finally:
                        gc.enable()
    print(
        f"{'in flight':>9} {'gc':>4} {'bare us':>8} {'default us':>11} {'default/bare':>13} "
        f"{'bare p99 ms':>12} {'default p99 ms':>15}"
    )
    per_call: dict[tuple[int, bool], float] = {}
    for n in SIZES:
        for collector in (True, False):
            b = statistics.median(cpu[("bare", n, collector)]) * 1e6
            d = statistics.median(cpu[("default", n, collector)]) * 1e6
            per_call[(n, collector)] = d
            bp99, dp99 = (
                sorted(lat[(name, n, collector)])[int(len(lat[(name, n, collector)]) * 0.99)] * 1e3
                for name in ("bare", "default")
            )
            print(
                f"{n:9,d} {'on' if collector else 'off':>4} {b:8.1f} {d:11.1f} {d / b:13.2f} "
                f"{bp99:12.2f} {dp99:15.2f}"
            )
    ratio = per_call[(10_000, True)] / per_call[(1_000, True)]
    print(
        f"\ndefault, gc on: CPU per call at 10,000 / at 1,000 in flight = {ratio:.2f} "
        f"(target <= 1.3: {'met' if ratio <= 1.3 else 'missed'})"
    )


async def parked(make: Callable[[], Awaitable[Any]], n: int) -> list[asyncio.Task[Any]]:
    Gate.event = asyncio.Event()
    tasks = [asyncio.create_task(make()) for _ in range(n)]
    await asyncio.sleep(0)
    return tasks


async def memory(detail: bool) -> None:
    makes = rows()
    tracked_types: dict[str, collections.Counter[str]] = {}
    for name, make in makes.items():
        await batch(make, 100)  # warm-up: caches, interned strings, lazily built state
        gc.collect()
        objects = len(gc.get_objects())
        types: collections.Counter[str] = collections.Counter()
        if detail:
            types.subtract(type(o).__qualname__ for o in gc.get_objects())
        tracemalloc.start(1)
        before = tracemalloc.take_snapshot() if detail and name == "default" else None
        base = tracemalloc.get_traced_memory()[0]
        tasks = await parked(make, MEMORY_N)
        gc.collect()  # only what the parked calls keep alive
        used = tracemalloc.get_traced_memory()[0] - base
        tracked = len(gc.get_objects()) - objects
        after = tracemalloc.take_snapshot() if before is not None else None
        if detail:
            types.update(type(o).__qualname__ for o in gc.get_objects())
            tracked_types[name] = types
        tracemalloc.stop()
        print(
            f"{name:8} {used / MEMORY_N:10,.0f} bytes per in-flight call, "
            f"{tracked / MEMORY_N:5.1f} tracked objects per in-flight call"
        )
        if before is not None and after is not None:
            print("  top allocation sites (bytes and blocks per in-flight call):")
            for stat in after.compare_to(before, "lineno")[:16]:
                frame = stat.traceback[0]
                print(
                    f"    {stat.size_diff / MEMORY_N:7.0f} B {stat.count_diff / MEMORY_N:5.2f} "
                    f"{frame.filename.rsplit('/src/', 1)[-1].rsplit('/lib/', 1)[-1]}:"
                    f"{frame.lineno}"
                )
        Gate.event.set()
        await asyncio.gather(*tasks)
        del tasks
    if detail:
        for name, make in makes.items():
            print(f"  {name}: collections during one batch of {MEMORY_N:,} in flight: ", end="")
            print(await collections_during(make, MEMORY_N))
        print("  tracked objects per in-flight call, default minus bare, by type:")
        extra = tracked_types["default"]
        extra.subtract(tracked_types["bare"])
        for kind, count in extra.most_common():
            if abs(count) >= MEMORY_N // 10:
                print(f"    {count / MEMORY_N:+5.2f} {kind}")


async def collections_during(make: Callable[[], Awaitable[Any]], n: int) -> str:
    """How often each generation was collected during one batch, and the time it took."""
    counts = [0, 0, 0]
    spent = [0.0, 0.0, 0.0]
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            counts[info["generation"]] += 1
            spent[info["generation"]] += time.perf_counter() - started[0]

    gc.collect()
    gc.callbacks.append(callback)
    try:
        await batch(make, n)
    finally:
        gc.callbacks.remove(callback)
    return ", ".join(f"gen{g} x{counts[g]} {spent[g] * 1e3:.1f} ms" for g in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--detail", action="store_true", help="allocation sites, object types")
    options = parser.parse_args()
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{options.rounds} rounds x ~{options.calls} calls per row"
    )
    asyncio.run(measure(options.calls, options.rounds))
    print()
    asyncio.run(memory(options.detail))


if __name__ == "__main__":
    main()
