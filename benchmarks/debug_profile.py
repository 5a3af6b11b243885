"""What debug mode and the profiler cost per call on the default pipeline.

Rows (stats + timeout + validation around a registry, one async tool; method of _timing.py):

  off (built)        default_builder(registry).route(registry).build(debug=False): today's code path
  off (by hand)      Pipeline(...) made directly from the same stages and router, without
                     the build() hook: what build() produced before debug mode existed
  debug, not logged  debug=True, logger toolware.debug above DEBUG (wrapped, no lines)
  debug, logged      debug=True, lines handed to a NullHandler (dumps built, not written)
  profiled copy      Profiler().instrument(pipeline)

Target: "off (built)" / "off (by hand)" within noise (no measurable change).
Run: .venv/bin/python benchmarks/debug_profile.py [--calls 20000 --rounds 5 | --quick]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform

from _timing import Row, Summary, difference, print_table, ratio, run_rows
from toolware import LocalRegistry, RequestContext
from toolware.defaults import default_builder
from toolware.pipeline import Pipeline
from toolware.profiler import Profiler

ARGS = {"query": "toolware", "limit": 3}


async def search(query: str, limit: int = 10) -> str:
    return query


async def build_rows() -> list[Row]:
    registry = LocalRegistry()
    registry.tool(search)
    request = RequestContext.create("search", ARGS)
    built = default_builder(registry).route(registry).build(debug=False)
    by_hand = Pipeline(
        stages=built.stages, terminal=built.terminal, clock=built.clock, name="by-hand"
    )
    debug = default_builder(registry).route(registry).build(debug=True)
    profiled = Profiler().instrument(built)
    logger = logging.getLogger("toolware.debug")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())

    async def quiet() -> object:
        logger.setLevel(logging.INFO)
        return await debug(request)

    async def logged() -> object:
        logger.setLevel(logging.DEBUG)
        return await debug(request)

    rows: list[Row] = [
        ("off (built)", lambda: built(request)),
        ("off (by hand)", lambda: by_hand(request)),
        ("debug, not logged", quiet),
        ("debug, logged (NullHandler)", logged),
        ("profiled copy", lambda: profiled(request)),
    ]
    for pipeline in (built, by_hand, debug, profiled):
        response = await pipeline(request)
        assert response.value == "toolware", response
    return rows


async def measure_all(calls: int, rounds: int) -> dict[str, list[list[int]]]:
    return await run_rows(await build_rows(), calls, rounds, warmup=min(2_000, calls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 calls, 2 rounds")
    options = parser.parse_args()
    calls, rounds = (2_000, 2) if options.quick else (options.calls, options.rounds)
    results = asyncio.run(measure_all(calls, rounds))
    stats = {name: Summary(samples) for name, samples in results.items()}
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{rounds} rounds x {calls} calls per row"
    )
    print_table(stats)
    base = stats["off (by hand)"]
    print()
    print(f"{'against off (by hand)':44} {'us/call':>9} {'ratio':>9}")
    for name, summary in stats.items():
        print(f"{name:44} {difference(summary, base):9.3f} {ratio(summary, base):9.2f}")


if __name__ == "__main__":
    main()
