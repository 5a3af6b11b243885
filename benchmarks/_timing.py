"""Timing helpers shared by the resilience benchmarks (same method as overhead.py).

Each call is bracketed by a ``perf_counter_ns`` pair; a round runs ``calls`` calls of a row,
rounds interleave the rows so that machine noise hits every row alike, ``gc.collect()`` runs
before each row's round, and the loop yields to the event loop every 100 calls outside the
timed region (none of the happy-path calls suspends, so without it cancelled timers would pile
up in the loop's heap, which a real server's loop purges between calls).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

YIELD_EVERY = 100

Row = tuple[str, Callable[[], Awaitable[Any]]]


async def measure(make: Callable[[], Awaitable[Any]], calls: int) -> list[int]:
    samples = [0] * calls
    clock = time.perf_counter_ns
    for index in range(calls):
        started = clock()
        await make()
        samples[index] = clock() - started
        if index % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    return samples


async def run_rows(
    rows: list[Row], calls: int, rounds: int, warmup: int = 2_000
) -> dict[str, list[list[int]]]:
    """Samples per row, one list per round (so ratios can be taken round by round)."""
    results: dict[str, list[list[int]]] = {name: [] for name, _ in rows}
    for _, make in rows:  # warm-up: caches, specialised bytecode, lazy state
        await measure(make, warmup)
    for _ in range(rounds):
        for name, make in rows:
            gc.collect()
            results[name].append(await measure(make, calls))
    return results


class Summary:
    """mean, p50 and p99 in µs over all rounds; ``round_means`` for per-round ratios."""

    __slots__ = ("mean", "p50", "p99", "round_means")

    def __init__(self, rounds: list[list[int]]) -> None:
        ordered = sorted(sample for samples in rounds for sample in samples)
        self.mean = statistics.fmean(ordered) / 1000
        self.p50 = ordered[len(ordered) // 2] / 1000
        self.p99 = ordered[int(len(ordered) * 0.99)] / 1000
        self.round_means = [statistics.fmean(samples) / 1000 for samples in rounds]


def ratio(numerator: Summary, denominator: Summary) -> float:
    """The median over rounds of the per-round ratio of means."""
    return statistics.median(
        n / d for n, d in zip(numerator.round_means, denominator.round_means, strict=True)
    )


def difference(minuend: Summary, subtrahend: Summary) -> float:
    """The median over rounds of the per-round difference of means, in µs."""
    return statistics.median(
        a - b for a, b in zip(minuend.round_means, subtrahend.round_means, strict=True)
    )


def print_table(stats: dict[str, Summary], width: int = 44) -> None:
    print(f"{'row':{width}} {'mean us':>9} {'p50 us':>9} {'p99 us':>9}")
    for name, summary in stats.items():
        print(f"{name:{width}} {summary.mean:9.3f} {summary.p50:9.3f} {summary.p99:9.3f}")
