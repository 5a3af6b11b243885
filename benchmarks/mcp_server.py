"""An MCP tool call through toolware's server against the same tool served by FastMCP, in one run.

Every row calls ``add(a: int, b: int) -> int`` with ``{"a": 1, "b": 2}`` through a real MCP
client connected in-process, and checks the answer (``structuredContent == {"result": 3}``)
before timing. Rows:

  toolware, SDK in-memory client      ``McpServer(default_pipeline(registry))`` (stats, timeout,
                                      validation) with ``mcp.Client(server, mode="legacy")``:
                                      the SDK's in-memory JSON-RPC streams
                                      (``mcp/client/_memory.py``), handshake era 2025-11-25
  FastMCP, its in-memory client       ``fastmcp.FastMCP`` with the same function as a tool and
                                      ``fastmcp.Client(server)`` (in-memory streams, 2025-11-25)
  SDK low-level Server, no pipeline   the floor: the SDK's ``Server`` with a hand-written
                                      ``tools/call`` handler returning the same dict, same client
  toolware, SDK direct (2026-07-28)   ``mcp.Client(server)`` (mode "auto"): no JSON-RPC framing
  toolware pipeline alone             ``pipeline.invoke("add", ...)``: toolware's own share

Target: toolware <= 0.5x FastMCP's time per call (same client transport: in-memory streams).
Method of ``_timing.py``: interleaved rounds, ``gc.collect()`` before each, ratios per round.
Run: .venv/bin/python benchmarks/mcp_server.py  (--quick for a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import warnings
from contextlib import AsyncExitStack
from typing import Any

import fastmcp
import mcp_types as types
from mcp import Client
from mcp.server.lowlevel.server import Server

from _timing import Row, Summary, print_table, ratio, run_rows
from toolware import LocalRegistry, default_pipeline
from toolware.integrations.mcp.server import McpServer

ARGS = {"a": 1, "b": 2}
TARGET = 0.5  # toolware's time per call over FastMCP's


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def add_async(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def sdk_floor() -> Server[Any]:
    """The SDK's low-level server with the least a tools/call handler can do."""
    tool = {
        "name": "add",
        "description": "Add two integers.",
        "inputSchema": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
        "outputSchema": {
            "type": "object",
            "properties": {"result": {"type": "integer"}},
            "required": ["result"],
        },
    }

    async def list_tools(ctx: Any, params: Any) -> dict[str, Any]:
        return {"tools": [tool]}

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> dict[str, Any]:
        arguments = params.arguments or {}
        value = arguments["a"] + arguments["b"]
        return {
            "content": [{"type": "text", "text": str(value)}],
            "structuredContent": {"result": value},
            "isError": False,
        }

    server: Server[Any] = Server("floor")
    server.add_request_handler("tools/list", types.PaginatedRequestParams, list_tools)
    server.add_request_handler("tools/call", types.CallToolRequestParams, call_tool)
    return server


async def build_rows(stack: AsyncExitStack) -> list[Row]:
    registry = LocalRegistry()
    registry.tool(add_async, name="add")
    pipeline = default_pipeline(registry)
    stack.push_async_callback(pipeline.aclose)
    server = McpServer(pipeline)

    peer = fastmcp.FastMCP("peer")
    peer.tool(add)

    toolware_legacy = await stack.enter_async_context(Client(server.server, mode="legacy"))
    toolware_direct = await stack.enter_async_context(Client(server.server))
    floor = await stack.enter_async_context(Client(sdk_floor(), mode="legacy"))
    peer_client = await stack.enter_async_context(fastmcp.Client(peer))
    return [
        ("toolware, SDK in-memory client", lambda: toolware_legacy.call_tool("add", ARGS)),
        ("FastMCP, its in-memory client", lambda: peer_client.call_tool("add", ARGS)),
        ("SDK low-level Server, no pipeline", lambda: floor.call_tool("add", ARGS)),
        ("toolware, SDK direct (2026-07-28)", lambda: toolware_direct.call_tool("add", ARGS)),
        ("toolware pipeline alone", lambda: pipeline.invoke("add", ARGS)),
    ]


def answer_of(result: Any) -> Any:
    if hasattr(result, "structured_content"):
        return result.structured_content
    return {"result": result.value}  # the pipeline's response


async def measure_all(calls: int, rounds: int) -> dict[str, list[list[int]]]:
    async with AsyncExitStack() as stack:
        rows = await build_rows(stack)
        for name, call in rows:  # sanity: every row answers 3
            answer = answer_of(await call())
            if answer != {"result": 3}:
                raise SystemExit(f"{name} answered {answer!r}, not {{'result': 3}}")
        return await run_rows(rows, calls, rounds, warmup=min(500, calls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1_000, help="calls per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 calls, 2 rounds")
    options = parser.parse_args()
    calls, rounds = (200, 2) if options.quick else (options.calls, options.rounds)
    logging.disable(logging.INFO)  # FastMCP logs each call at INFO on some setups
    warnings.simplefilter("ignore", DeprecationWarning)
    results = asyncio.run(measure_all(calls, rounds))
    stats = {name: Summary(samples) for name, samples in results.items()}
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{rounds} rounds x {calls} calls per row; mcp, fastmcp "
        f"{fastmcp.__version__}"
    )
    print_table(stats, width=40)
    print()
    ours = stats["toolware, SDK in-memory client"]
    peer = stats["FastMCP, its in-memory client"]
    floor = stats["SDK low-level Server, no pipeline"]
    print(f"toolware / FastMCP (same transport)      {ratio(ours, peer):6.3f}x")
    print(f"toolware / SDK floor                     {ratio(ours, floor):6.3f}x")
    print(f"SDK floor / FastMCP                      {ratio(floor, peer):6.3f}x")
    direct = stats["toolware, SDK direct (2026-07-28)"]
    print(f"toolware direct / FastMCP                {ratio(direct, peer):6.3f}x")
    verdict = "met" if ratio(ours, peer) <= TARGET else "missed"
    print(f"toolware <= {TARGET}x FastMCP per call: {verdict}")


if __name__ == "__main__":
    main()
