"""Reconnect timing: Backoff's delays, and a replica that reconnects on the injected clock."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from mcp.client import Transport

from tests.integrations.mcp.fastmcp_server import build_server
from toolware.integrations.mcp.client import Backoff, McpRegistry, ReplicaState
from toolware.registry.base import HealthStatus
from toolware.testing import FakeClock


def test_steps_grow_by_the_multiplier_up_to_the_maximum() -> None:
    backoff = Backoff(initial=0.5, maximum=5.0, multiplier=3.0)
    assert [backoff.step(n) for n in range(1, 6)] == [0.5, 1.5, 4.5, 5.0, 5.0]
    assert backoff.step(10_000) == 5.0


def test_jitter_keeps_at_least_half_the_step() -> None:
    backoff = Backoff(initial=2.0, maximum=8.0)
    assert backoff.delay(1, lambda: 0.0) == 1.0
    assert backoff.delay(2, lambda: 0.5) == 3.0
    assert backoff.delay(3, lambda: 1.0) == 8.0


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"initial": 0}, ValueError, "Backoff initial must be a finite number > 0, got 0"),
        ({"maximum": float("inf")}, ValueError, "Backoff maximum must be a finite number > 0"),
        ({"multiplier": 0.5}, ValueError, "Backoff multiplier must be >= 1 (delays never shrink)"),
        ({"initial": "1"}, TypeError, "Backoff initial must be a number of seconds, got str"),
        ({"initial": True}, TypeError, "Backoff initial must be a number of seconds, got bool"),
        (
            {"initial": 5.0, "maximum": 1.0},
            ValueError,
            "Backoff maximum (1.0) must be >= initial (5.0)",
        ),
    ],
)
def test_options_are_checked(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        Backoff(**options)


def test_failures_start_at_one() -> None:
    with pytest.raises(ValueError, match="failures must be >= 1, got 0"):
        Backoff().step(0)


async def wait_for(predicate: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_a_replica_reconnects_after_the_backoff_on_the_injected_clock() -> None:
    """Two refused connections, then one that works: the waits are the jittered steps."""
    server, _ = build_server("demo")
    attempts: list[float] = []
    clock = FakeClock()

    def connect() -> Transport:
        attempts.append(clock.monotonic())
        if len(attempts) < 3:
            raise ConnectionRefusedError("nobody listens")
        from mcp.client._memory import InMemoryTransport

        return InMemoryTransport(server._mcp_server)

    registry = McpRegistry(
        connect,
        name="demo",
        backoff=Backoff(initial=1.0, multiplier=2.0),
        clock=clock,
        random=lambda: 0.0,  # the shortest jitter: half the step
    )
    async with registry:
        [status] = registry.replicas()
        assert (status.state, status.failures) == (ReplicaState.DOWN, 1)
        assert status.reason == "ConnectionRefusedError: nobody listens"
        health = await registry.health()
        assert health.status is HealthStatus.DOWN
        assert dict(health.problems) == {
            "replica 0: transport: connect": "down: ConnectionRefusedError: nobody listens"
        }
        await clock.advance(0.49)
        assert attempts == [1000.0]
        await clock.advance(0.01)  # 0.5 s: the second attempt, refused too
        await wait_for(lambda: registry.replicas()[0].failures == 2)
        await clock.advance(0.99)
        assert len(attempts) == 2
        await clock.advance(0.01)  # 1.0 s more: the third attempt connects
        await wait_for(lambda: registry.replicas()[0].state is ReplicaState.UP)
        assert attempts == [1000.0, 1000.5, 1001.5]
        [status] = registry.replicas()
        assert (status.failures, status.connections, status.reason) == (0, 1, "")
        assert len(registry.list()) == 8


def test_a_multiplier_of_one_keeps_the_delay_flat() -> None:
    flat = Backoff(initial=2.0, multiplier=1)
    assert [flat.step(n) for n in (1, 2, 3)] == [2.0, 2.0, 2.0]
    assert Backoff(multiplier=1.5).step(2) == pytest.approx(0.15)
    with pytest.raises(
        TypeError, match=r"^Backoff multiplier must be a number of seconds, got str$"
    ):
        Backoff(multiplier="2")  # type: ignore[arg-type]
