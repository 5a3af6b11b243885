"""A remote MCP server's tools behind a local pipeline, offline.

A FastMCP server (in this process, over the MCP SDK's in-memory transport) has three tools.
McpRegistry lists them, the local pipeline validates and times each call, a retry stage
repeats the idempotent one, and health() says what state the connection is in.

Run: python examples/mcp_client.py
"""

from __future__ import annotations

import asyncio
import logging

from fastmcp import FastMCP

from toolware import PipelineBuilder, StatsInterceptor, TimeoutInterceptor, ValidationInterceptor
from toolware.integrations.mcp.client import McpRegistry
from toolware.interceptors.retry import RetryInterceptor

server: FastMCP[None] = FastMCP("inventory")
stock = {"apple": 12, "pear": 0}
cancelled: list[str] = []


@server.tool(annotations={"readOnlyHint": True})
def count(item: str) -> int:
    """How many of an item are in stock."""
    if item not in stock:
        raise ValueError(f"unknown item {item!r}; known: {', '.join(stock)}")
    return stock[item]


@server.tool
def restock(item: str, quantity: int) -> dict[str, int]:
    """Adds quantity to an item's stock; returns the new count."""
    stock[item] = stock.get(item, 0) + quantity
    return {item: stock[item]}


@server.tool
async def audit(item: str) -> str:
    """A slow audit that never finishes in time."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        cancelled.append(item)
        raise
    return "audited"


async def main() -> None:
    logging.getLogger("fastmcp").setLevel(logging.CRITICAL)  # the tool errors are shown below
    async with McpRegistry(server, name="inventory") as registry:
        print("remote tools:")
        for entry in registry.list():
            print(f"  {entry.name:8} idempotent={entry.idempotent!s:5} {entry.description}")

        pipeline = (
            PipelineBuilder()
            .use(StatsInterceptor())
            .use(TimeoutInterceptor(timeout=0.5))
            .use(RetryInterceptor(attempts=2))
            .use(ValidationInterceptor())
            .route(registry)
            .build()
        )
        async with pipeline:
            apples = await pipeline.invoke("count", {"item": "apple"})
            print("count(apple) ->", apples.value)
            assert apples.value == 12

            restocked = await pipeline.invoke("restock", {"item": "pear", "quantity": 5})
            print("restock(pear, 5) ->", restocked.value)
            assert restocked.value == {"pear": 5}

            bad = await pipeline.invoke("restock", {"item": "pear", "quantity": "five"})
            print("restock(pear, 'five') ->", bad.error.category, "-", bad.error.message)
            assert bad.error.category == "invalid_request"
            assert [field.field for field in bad.error.fields] == ["quantity"]

            unknown = await pipeline.invoke("count", {"item": "plum"})
            print("count(plum) ->", unknown.error.category, "-", unknown.error.message)
            assert unknown.error.category == "tool_failed"

            slow = await pipeline.invoke("audit", {"item": "pear"})
            print("audit(pear) ->", slow.error.category, "-", slow.error.message)
            assert slow.error.category == "timeout"
            for _ in range(200):
                if cancelled:
                    break
                await asyncio.sleep(0.01)
            print("the server saw the cancellation of:", cancelled)
            assert cancelled == ["pear"]

        health = await registry.health()
        print("health:", health.status.value, f"({health.entries} tools)")
        assert health.status.value == "ok"


if __name__ == "__main__":
    asyncio.run(main())
