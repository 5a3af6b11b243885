"""What the V1 compatibility adapter costs a call, against the same handler called natively.

One V1 handler, ``Calculator.run({"method": "add", "params": {"a": 1, "b": 2}}) -> 3``, three
ways in one run:

  direct      ``handler.run(payload)``: the floor, no pipeline at all
  native      ``await pipeline.invoke("calculator", params, action="add")`` through
              ``default_pipeline(V1Source(registry, Kind.TOOL))`` (stats -> timeout ->
              validation -> router; the sync handler runs on a worker thread), on a running
              event loop: what native code pays
  adapter     ``agent.to_middleware({"calculator": {"method": "add", "params": {...}}})`` on a
              V1 agent (the MiddlewareMixin, its default pipeline, the same handler), from a
              synchronous caller: lookup RAG -> tool -> plugin, the RequestContext, the same
              default pipeline on this thread's own loop, V1's body and log lines (the host's
              ``log_event`` is a no-op)

Method as in ``_timing.py``: each call bracketed by ``perf_counter_ns``, rounds interleaved,
``gc.collect()`` before each row's round; the adapter's cost is the median over rounds of the
per-round difference of means against ``native``. Memory per call (tracemalloc): the peak of
traced memory above the baseline during one call (what a call holds while it runs), and what
1,000 calls leave behind, per call (should be ~0: nothing accumulates).

Run: .venv/bin/python benchmarks/v1_compat.py  (--quick for a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from _timing import Summary, difference, print_table, ratio
from toolware import Kind, default_pipeline
from toolware.compat.v1 import MiddlewareMixin, ToolRegistry, V1Source

PARAMS = {"a": 1, "b": 2}
TARGET_ABOVE_NATIVE = 5.0  # us per call: "no more than a few us above the native path"


class Calculator:
    identifier = "calculator"
    description = "Adds two numbers"
    brief = "adds"
    instruction = "Call add with a and b"

    def run(self, payload: dict[str, Any]) -> Any:
        params = payload["params"]
        return params["a"] + params["b"]


class Agent(MiddlewareMixin):
    name = "bench"
    timeout = 60

    def log_event(self, message: str, level: str) -> None:
        pass


def measure_sync(call: Callable[[], Any], calls: int) -> list[int]:
    samples = [0] * calls
    clock = time.perf_counter_ns
    for index in range(calls):
        started = clock()
        call()
        samples[index] = clock() - started
    return samples


async def measure_async(call: Callable[[], Any], calls: int) -> list[int]:
    samples = [0] * calls
    clock = time.perf_counter_ns
    for index in range(calls):
        started = clock()
        await call()
        samples[index] = clock() - started
        if index % 100 == 0:
            await asyncio.sleep(0)
    return samples


def memory_per_call(call: Callable[[], Any], calls: int = 1_000) -> tuple[float, float]:
    """(peak bytes above the baseline during one call, bytes left behind per call)."""
    gc.collect()
    tracemalloc.start()
    try:
        call()  # warm: lazy state made once is not per-call memory
        gc.collect()
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        peaks = []
        for _ in range(20):
            tracemalloc.reset_peak()
            base, _ = tracemalloc.get_traced_memory()
            call()
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
        for _ in range(calls):
            call()
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return statistics.median(peaks), (after - before) / (calls + 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5_000, help="calls per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 500 calls, 2 rounds")
    options = parser.parse_args()
    calls, rounds = (500, 2) if options.quick else (options.calls, options.rounds)

    tools = ToolRegistry()
    handler = Calculator()
    tools.register_tool(handler)
    agent = Agent(tool_registry=tools)
    agent_input = {"calculator": {"method": "add", "params": PARAMS}}
    payload = {"method": "add", "params": PARAMS}
    pipeline = default_pipeline(V1Source(tools, Kind.TOOL), timeout=60)
    loop = asyncio.new_event_loop()

    def native() -> Any:
        return pipeline.invoke("calculator", PARAMS, action="add")

    # Sanity: every row answers 3.
    if handler.run(payload) != 3 or agent.to_middleware(agent_input) != (201, "3"):
        raise SystemExit("the direct or adapter row did not answer 3")
    if loop.run_until_complete(native()).value != 3:
        raise SystemExit("the native row did not answer 3")

    rows: dict[str, Callable[[], list[int]]] = {
        "direct handler.run(payload)": lambda: measure_sync(lambda: handler.run(payload), calls),
        "native pipeline.invoke (default pipeline)": lambda: loop.run_until_complete(
            measure_async(native, calls)
        ),
        "adapter to_middleware (V1 mixin)": lambda: measure_sync(
            lambda: agent.to_middleware(agent_input), calls
        ),
    }
    for run in rows.values():  # warm-up
        run()
    results: dict[str, list[list[int]]] = {name: [] for name in rows}
    for _ in range(rounds):
        for name, run in rows.items():
            gc.collect()
            results[name].append(run())
    stats = {name: Summary(samples) for name, samples in results.items()}
    direct, native_row, adapter = (stats[name] for name in rows)

    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{rounds} rounds x {calls} calls per row"
    )
    print_table(stats)
    print()
    above = difference(adapter, native_row)
    print(f"adapter above native     {above:9.3f} us/call  (x{ratio(adapter, native_row):.2f})")
    p50_above = adapter.p50 - native_row.p50
    print(f"adapter above native p50 {p50_above:9.3f} us/call  (steadier on a busy machine)")
    print(f"native above direct      {difference(native_row, direct):9.3f} us/call")
    verdict = "met" if above <= TARGET_ABOVE_NATIVE else "missed"
    print(f"adapter <= {TARGET_ABOVE_NATIVE} us above native: {verdict}")
    print()
    print(f"{'memory per call':44} {'peak B':>9} {'left B':>9}")
    memory_rows = {
        "direct handler.run(payload)": lambda: handler.run(payload),
        "native pipeline.invoke (default pipeline)": lambda: loop.run_until_complete(native()),
        "adapter to_middleware (V1 mixin)": lambda: agent.to_middleware(agent_input),
    }
    for name, call in memory_rows.items():
        peak, left = memory_per_call(call, 200 if options.quick else 1_000)
        print(f"{name:44} {peak:9.0f} {left:9.1f}")
    pipeline.close()
    loop.close()


if __name__ == "__main__":
    main()
