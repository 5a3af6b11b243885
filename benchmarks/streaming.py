"""Streamed calls through the default pipeline against a hand-written chain, in one process.

The tool is an async generator yielding N small ints (N = 1,000 for the per-chunk cost, N = 10
so that the per-call setup shows). Every row consumes the whole stream and sums it. Rows:

  floor      the bare generator, consumed directly (``async with aclosing(gen) ...``)
  by hand    the same generator inside a hand-written chain of async-generator wrappers, each
             closed with ``contextlib.aclosing``, outermost first:
               statistics  counts chunks and reads the clock at the start, at the first chunk
                           and at the end; records them into a dict when the stream ends
               deadline    one absolute deadline for the whole stream (now + 30 s), enforced on
                           every pull: ``async with asyncio.timeout_at(deadline)`` around each
                           ``__anext__`` of the layer below (nothing armed between pulls, as
                           toolware's DeadlineStream; a single ``asyncio.timeout`` around a
                           generator's ``yield`` would cancel the consumer's own code between
                           pulls, which is not the same contract)
               boundary    try/except turning what the producer raises into ``ToolFailedError``
  by hand,   as "by hand", but the deadline layer arms one loop timer for the whole stream
  one timer  (``loop.call_at(deadline, ...)``) that cancels the consumer's task only while a
             pull is in progress (a flag set around each ``__anext__``), and refuses the next
             pull once it fired: the same contract, with no per-pull timer; more code than a
             careful engineer would usually write, shown as the lightest chain doing the same
  by hand,   as "by hand", but the deadline layer only compares the loop clock with the
  check only deadline before each pull (no timer: it cannot interrupt a stuck producer, so it
             does less than toolware); shown as the lightest conceivable hand-written chain
  toolware   ``await default(request)`` (stats -> timeout 30 s -> validation -> router: the
             router opens the generator and reads the first chunk) then
             ``async with response.stream as chunks: async for ...``

Each call (open + consume + close) is bracketed by a ``perf_counter_ns`` pair; a round runs
``--calls`` calls of a row, rounds interleave the rows, ``gc.collect()`` runs before each row's
round (as in overhead.py), and the loop yields to the event loop every 100 calls, outside the
timed region. Figures are the median over rounds of each round's mean; ratios are the median
over rounds of the per-round ratio, so a noisy round hits both sides of it.

Target: toolware / by hand (the asyncio.timeout_at chain) <= 1.5 per chunk (N = 1,000) and
per call (N = 10); the ratios to the two lighter chains are printed too.
Run: make bench   (or .venv/bin/python benchmarks/streaming.py --rounds 7)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import platform
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from toolware import LocalRegistry, RequestContext, ToolFailedError, default_pipeline

TIMEOUT = 30.0
YIELD_EVERY = 100
SIZES = (1_000, 10)


async def numbers(n: int) -> AsyncIterator[int]:
    for index in range(n):
        yield index


# -- the hand-written chain --------------------------------------------------------------------


async def boundary(inner: AsyncIterator[int], target: str) -> AsyncIterator[int]:
    async with contextlib.aclosing(inner) as chunks:  # type: ignore[type-var]
        try:
            async for chunk in chunks:
                yield chunk
        except Exception as exc:
            raise ToolFailedError(f"{target!r} raised {type(exc).__name__}") from exc


async def deadline_per_pull(inner: AsyncIterator[int], deadline: float) -> AsyncIterator[int]:
    async with contextlib.aclosing(inner) as chunks:  # type: ignore[type-var]
        pull = chunks.__anext__
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await pull()
            except StopAsyncIteration:
                return
            yield chunk


async def deadline_check_only(inner: AsyncIterator[int], deadline: float) -> AsyncIterator[int]:
    now = asyncio.get_running_loop().time
    async with contextlib.aclosing(inner) as chunks:  # type: ignore[type-var]
        pull = chunks.__anext__
        while True:
            if now() >= deadline:
                raise TimeoutError
            try:
                chunk = await pull()
            except StopAsyncIteration:
                return
            yield chunk


async def deadline_one_timer(inner: AsyncIterator[int], deadline: float) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    pulling = expired = False

    def fire() -> None:
        nonlocal expired
        expired = True
        if pulling:  # between pulls the consumer's own code runs: never cancel that
            task.cancel()

    timer = loop.call_at(deadline, fire)
    try:
        async with contextlib.aclosing(inner) as chunks:  # type: ignore[type-var]
            pull = chunks.__anext__
            while True:
                if expired:
                    raise TimeoutError
                pulling = True
                try:
                    chunk = await pull()
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if expired and task.uncancel() == 0:
                        raise TimeoutError from None
                    raise
                finally:
                    pulling = False
                yield chunk
    finally:
        timer.cancel()


STATS: dict[str, dict[str, Any]] = {}


async def statistics_layer(inner: AsyncIterator[int], target: str) -> AsyncIterator[int]:
    clock = time.monotonic
    started = clock()
    first = 0.0
    count = 0
    outcome = "abandoned"
    try:
        async with contextlib.aclosing(inner) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                if not count:
                    first = clock() - started
                count += 1
                yield chunk
        outcome = "completed"
    except Exception:
        outcome = "failed"
        raise
    finally:
        record = STATS.setdefault(target, {"streams": 0, "chunks": 0, "seconds": 0.0})
        record["streams"] += 1
        record["chunks"] += count
        record["seconds"] += clock() - started
        record["first_chunk"] = first
        record["outcome"] = outcome


Deadline = Callable[[AsyncIterator[int], float], AsyncIterator[int]]


def by_hand(n: int, deadline_layer: Deadline) -> Callable[[], Awaitable[int]]:
    async def call() -> int:
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        chain = statistics_layer(
            deadline_layer(boundary(numbers(n), "numbers"), deadline), "numbers"
        )
        total = 0
        async with contextlib.aclosing(chain) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                total += chunk
        return total

    return call


def floor(n: int) -> Callable[[], Awaitable[int]]:
    async def call() -> int:
        total = 0
        async with contextlib.aclosing(numbers(n)) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                total += chunk
        return total

    return call


def through_toolware(n: int) -> Callable[[], Awaitable[int]]:
    registry = LocalRegistry()
    registry.tool(numbers)
    pipeline = default_pipeline(registry, timeout=TIMEOUT)
    request = RequestContext.create("numbers", {"n": n})

    async def call() -> int:
        response = await pipeline(request)
        stream = response.stream
        assert stream is not None
        total = 0
        async with stream as chunks:
            async for chunk in chunks:
                total += chunk
        return total

    return call


BASELINES = ("by hand", "by hand, one timer", "by hand, check only")
Row = tuple[str, Callable[[], Awaitable[int]]]


def build_rows(n: int) -> list[Row]:
    return [
        ("floor", floor(n)),
        ("by hand", by_hand(n, deadline_per_pull)),
        ("by hand, one timer", by_hand(n, deadline_one_timer)),
        ("by hand, check only", by_hand(n, deadline_check_only)),
        ("toolware", through_toolware(n)),
    ]


async def check(rows: list[Row], n: int) -> None:
    """Every row really streams the N chunks (and the toolware stream is wrapped as claimed)."""
    expected = n * (n - 1) // 2
    for name, call in rows:
        got = await call()
        assert got == expected, (name, got, expected)


async def measure(call: Callable[[], Awaitable[int]], calls: int) -> int:
    """Total ns for ``calls`` calls, each timed on its own (so the yields are outside)."""
    clock = time.perf_counter_ns
    total = 0
    for index in range(calls):
        started = clock()
        await call()
        total += clock() - started
        if index % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    return total


async def run(rows: list[Row], calls: int, rounds: int) -> dict[str, list[float]]:
    """Per row, each round's mean ns per call."""
    results: dict[str, list[float]] = {name: [] for name, _ in rows}
    for _, call in rows:  # warm-up
        await measure(call, max(calls // 4, 10))
    for _ in range(rounds):
        for name, call in rows:
            gc.collect()
            results[name].append(await measure(call, calls) / calls)
    return results


def report(n: int, calls: int, results: dict[str, list[float]]) -> dict[str, float]:
    print(f"N = {n:,} chunks per call, {len(results['floor'])} rounds x {calls:,} calls per row")
    print(f"{'row':22} {'us/call':>10} {'us/chunk':>9} {'chunks/s':>12} {'x floor':>8}")
    floor_rounds = results["floor"]
    for name, per_round in results.items():
        ns = statistics.median(per_round)
        over_floor = statistics.median(r / f for r, f in zip(per_round, floor_rounds, strict=True))
        print(
            f"{name:22} {ns / 1000:10.2f} {ns / n / 1000:9.3f} {n * 1e9 / ns:12,.0f} "
            f"{over_floor:8.2f}"
        )
    tw = results["toolware"]
    ratios = {
        other: statistics.median(t / h for t, h in zip(tw, results[other], strict=True))
        for other in BASELINES
    }
    extra = {
        other: statistics.median(
            (t - f) / (h - f) for t, h, f in zip(tw, results[other], floor_rounds, strict=True)
        )
        for other in BASELINES
    }
    for other, ratio in ratios.items():
        print(
            f"toolware / {other:20} {ratio:5.2f}   "
            f"(over the floor: {extra[other]:5.2f})   target <= 1.5: "
            f"{'met' if ratio <= 1.5 else 'missed'}"
        )
    print()
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=200_000, help="chunks per row per round")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    options = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, timeout {TIMEOUT} s")
    print()
    for n in SIZES:
        rows = build_rows(n)
        asyncio.run(check(rows, n))
        calls = max(options.chunks // n, 20)
        results = asyncio.run(run(rows, calls, options.rounds))
        report(n, calls, results)


if __name__ == "__main__":
    main()
