"""toolware's demo registry served as an MCP server, called by the official MCP SDK client.

The server and the client run in this one process (the SDK's in-memory transport), so it runs
offline; `toolware mcp serve --app toolware.demo:demo_registry` serves the same registry to a
real host over stdio (or `--transport http` for streamable HTTP).

Run: python examples/mcp_server.py
"""

from __future__ import annotations

import asyncio
import json

from mcp import Client
from mcp.shared.exceptions import MCPError

from toolware import default_pipeline
from toolware.demo import demo_registry
from toolware.integrations.mcp.server import McpServer


async def main() -> None:
    pipeline = default_pipeline(demo_registry())
    server = McpServer(pipeline, name="toolware-demo")
    async with pipeline, Client(server.server, mode="legacy") as client:
        tools = (await client.list_tools()).tools
        print(f"{len(tools)} tools:", ", ".join(tool.name for tool in tools))
        assert "notes.add" in [tool.name for tool in tools]  # a plugin action

        answer = await client.call_tool("calculator", {"expression": "2 * (3 + 4)"})
        print("calculator ->", answer.content[0].text, answer.structured_content)
        assert answer.structured_content == {"result": 14}

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            print(f"  progress {done:.0f}: {message}")

        print("write_report streams one progress notification per section:")
        report = await client.call_tool(
            "write_report", {"quarter": "Q3"}, progress_callback=on_progress
        )
        sections = report.structured_content["result"]
        assert len(report.content) == len(sections) == 3

        failed = await client.call_tool("calculator", {"expression": "1 / 0"})
        error = json.loads(failed.content[-1].text)
        print("a failed call is a result with isError:", error["category"], "-", error["message"])
        assert failed.is_error
        assert error["category"] == "tool_failed"

        unknown = None
        try:
            await client.call_tool("calculater", {"expression": "1"})
        except MCPError as exc:
            unknown = exc
        assert unknown is not None
        print(f"an unknown tool is a protocol error {unknown.code}: {unknown.data['hint']}")
        assert (unknown.code, unknown.data["candidates"]) == (-32602, ["calculator"])


if __name__ == "__main__":
    asyncio.run(main())
