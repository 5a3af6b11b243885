"""McpRegistry over stdio: real FastMCP server subprocesses, one of which dies mid-call.

Startup of a FastMCP process takes a few seconds on a loaded machine: waits are bounded and
generous, and assertions are about order and state, not timing."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from mcp import StdioServerParameters

from toolware import PipelineBuilder
from toolware.integrations.mcp.client import Backoff, McpRegistry, ReplicaState
from toolware.registry.base import HealthStatus

SERVER = Path(__file__).with_name("fastmcp_server.py")
ENV = {"FASTMCP_SHOW_SERVER_BANNER": "false", "FASTMCP_CHECK_FOR_UPDATES": "off"}


def stdio(name: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=[str(SERVER), name], env=ENV)


async def wait_for(predicate: Any, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_a_replica_that_dies_mid_call_fails_over_and_reconnects() -> None:
    registry = McpRegistry(
        stdio("one"),
        stdio("two"),
        name="files",
        backoff=Backoff(initial=0.05, maximum=0.5),
        start_timeout=40.0,
    )
    async with registry, PipelineBuilder().route(registry).build() as pipeline:
        assert [r.state for r in registry.replicas()] == [ReplicaState.UP, ReplicaState.UP]
        assert (await registry.health()).status is HealthStatus.OK
        first_pid = (await pipeline.invoke("pid")).unwrap()

        died = await pipeline.invoke("die")  # replica 0's process exits during the call
        error = died.error
        assert error is not None
        assert error.category == "unavailable"
        assert error.retryable is True
        assert error.message.startswith("MCP server 'files' (replica 0: stdio: ")
        assert error.message.endswith("closed the connection during the call to 'die'")

        # The next call goes to the other replica at once.
        other_pid = (await pipeline.invoke("pid")).unwrap()
        assert other_pid != first_pid
        assert registry.replicas()[0].state is not ReplicaState.UP

        # Replica 0 reconnects to a fresh process; calls prefer it again.
        await wait_for(lambda: registry.replicas()[0].state is ReplicaState.UP)
        assert registry.replicas()[0].connections == 2
        new_pid = (await pipeline.invoke("pid")).unwrap()
        assert new_pid not in (first_pid, other_pid)
        assert (await pipeline.invoke("add", {"a": 1, "b": 2})).unwrap() == 3
        assert (await registry.health()).status is HealthStatus.OK
    assert [r.state for r in registry.replicas()] == [ReplicaState.STOPPED] * 2
