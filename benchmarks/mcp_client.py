"""An MCP call through McpRegistry (stdio server) in calls/s, against the bare SDK, in one run.

Both rows call ``add(a=1, b=2)`` on the same server program (benchmarks/_mcp_server.py, a
FastMCP stdio server), each over its own subprocess, one call at a time:

  bare SDK      ``mcp.Client(StdioServerParameters(...)).session.call_tool("add", ...)``:
                the SDK's ClientSession, nothing else (the floor)
  McpRegistry   ``default_pipeline(McpRegistry(...)).invoke("add", ...)``: stats, timeout,
                JSON Schema validation of the arguments, the router, the deadline as the MCP
                request timeout, trace context in ``_meta``, result mapping

A call is a round trip to another process, so figures are in calls/s and far noisier than
the in-process benchmarks: rounds interleave the rows (method of ``_timing.py``) and the
ratio is the median of the per-round ratios of mean latency.
Run: .venv/bin/python benchmarks/mcp_client.py  (--quick for a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
from pathlib import Path

from mcp import Client, StdioServerParameters

from _timing import Summary, ratio, run_rows
from toolware import RequestContext, default_pipeline
from toolware.integrations.mcp.client import McpRegistry

SERVER = StdioServerParameters(
    command=sys.executable,
    args=[str(Path(__file__).with_name("_mcp_server.py"))],
    env={"FASTMCP_SHOW_SERVER_BANNER": "false", "FASTMCP_CHECK_FOR_UPDATES": "off"},
)
ARGS = {"a": 1, "b": 2}


async def measure_all(calls: int, rounds: int) -> dict[str, Summary]:
    async with (
        Client(SERVER, cache=None) as client,
        McpRegistry(SERVER, name="bench", start_timeout=60.0) as registry,
        default_pipeline(registry) as pipeline,
    ):
        session = client.session
        await session.list_tools()  # the SDK checks results against the listed output schema
        request = RequestContext.create("add", ARGS)

        async def bare() -> object:
            return await session.call_tool("add", ARGS)

        async def through_registry() -> object:
            return await pipeline(request)

        first = await bare()
        answer = await through_registry()
        if getattr(first, "structured_content", None) != {"result": 3} or answer.value != 3:
            raise SystemExit(f"unexpected answers: {first!r} / {answer!r}")
        rows = [
            ("bare SDK ClientSession.call_tool", bare),
            ("McpRegistry + default_pipeline", through_registry),
        ]
        results = await run_rows(rows, calls, rounds, warmup=min(200, calls))
    return {name: Summary(samples) for name, samples in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 calls, 2 rounds")
    options = parser.parse_args()
    calls, rounds = (100, 2) if options.quick else (options.calls, options.rounds)
    stats = asyncio.run(measure_all(calls, rounds))
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{rounds} rounds x {calls} calls per row, stdio FastMCP server"
    )
    print(f"{'row':36} {'calls/s':>9} {'mean us':>9} {'p50 us':>9} {'p99 us':>9}")
    for name, summary in stats.items():
        per_second = 1_000_000 / summary.mean
        print(
            f"{name:36} {per_second:9.0f} {summary.mean:9.1f} {summary.p50:9.1f} {summary.p99:9.1f}"
        )
    bare, registry = stats.values()
    slowdown = ratio(registry, bare)
    print(
        f"McpRegistry / bare SDK: {slowdown:.2f}x the latency, "
        f"{1 / slowdown:.2f}x the calls/s (median of per-round ratios)"
    )


if __name__ == "__main__":
    main()
