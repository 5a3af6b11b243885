"""One chaos scenario, small and in-process: the flaky tool behind retry + circuit breaker.

The full suite (real processes, a real redis-server) runs with ``make chaos``; this runs the
same worker code on a FakeClock, so it takes milliseconds.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from toolware.testing import FakeClock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "chaos"))
import _workers  # from the chaos directory, put on the path just above


async def test_flaky_tool_never_runs_a_non_idempotent_call_twice() -> None:
    """Every call answers typed; the non-idempotent tool runs at most once per call id."""
    clock = FakeClock()
    run = asyncio.create_task(
        _workers._flaky(0, seed=7, calls=200, concurrency=8, failure_rate=0.3, clock=clock)
    )
    for _ in range(100_000):  # the retry back-off sleeps on the fake clock: move it along
        if run.done():
            break
        await clock.advance(0.001)
        await asyncio.sleep(0)
    report = run.result()
    once, idempotent = report["once"], report["idempotent"]
    for part in (once, idempotent):
        assert part["calls"] == 200
        assert part["escaped"] == part["untyped"] == 0
        assert part["admitted"] + sum(part["refused"].values()) == 200
    assert once["executions"] == 200
    assert once["most_runs"] == 1
    assert once["duplicates"] == 0
    assert 200 < idempotent["executions"] <= 600
    assert idempotent["most_runs"] <= 3
    assert idempotent["admitted"] > once["admitted"]
