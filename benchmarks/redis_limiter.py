"""The shared (Redis) rate limiter with leased permits against one round trip per call.

A real ``redis-server`` is started on a free local port for the run (no persistence). Every row
takes one permit of one key at steady state: the limit (1,000,000 per second, burst 1,000) is
far above the call rate, so every call is admitted and what is measured is the cost of asking.

  PING round trip        ``await client.ping()``: the floor of anything that asks Redis per call
  Lua GCRA per call      ``EVALSHA`` of a GCRA script on Redis's clock: the usual shared limiter,
                         one round trip per permit
  RedisState, leased     ``await state.acquire(key, limit, now)``: permits are leased from Redis
                         in batches and spent locally, so most calls never leave the process
  RedisState, no lease   the same store with leases of one permit (a round trip per call), when
                         its constructor takes ``lease_size``
  MemoryState            ``await state.acquire(...)`` in process memory, for reference

Figures are amortised: the mean over every call of a round, round trips included.
Target: RedisState leased <= 15 us amortised per call.
Run: make bench  (or .venv/bin/python benchmarks/redis_limiter.py --calls 20000 --rounds 5;
--quick for a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
from typing import Any

import redis.asyncio as aioredis

from _redis_server import RedisServer, redis_state
from _timing import Row, Summary, difference, print_table, ratio, run_rows
from toolware.state.base import RateLimit
from toolware.state.memory import MemoryState

LIMIT = RateLimit(rate=1_000_000.0, burst=1_000)
KEY = "rl:bench"
NOT_AVAILABLE = "toolware RedisState (toolware.state.redis) not available yet"

# GCRA on Redis's clock (TIME), one key holding the theoretical arrival time. Returns "0" when
# admitted, else the seconds to wait, as a string (Lua numbers would be truncated to integers).
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local allowance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - allowance - now
if wait > 0 then return tostring(wait) end
local ttl = math.ceil((tat + interval - now) * 1000) + 1
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', ttl)
return '0'
"""


async def build_rows(url: str) -> tuple[list[Row], list[str], list[Any]]:
    """The rows, notes about skipped ones, and what to close afterwards."""
    client = aioredis.Redis.from_url(url)
    sha = await client.script_load(GCRA)
    interval, burst = str(LIMIT.interval), str(LIMIT.burst)
    assert await client.evalsha(sha, 1, "gcra:bench", interval, burst) == b"0"
    now = time.monotonic
    memory = MemoryState()
    rows: list[Row] = [
        ("PING round trip", client.ping),
        (
            "Lua GCRA EVALSHA per call",
            lambda: client.evalsha(sha, 1, "gcra:bench", interval, burst),
        ),
        ("MemoryState.acquire", lambda: memory.acquire(KEY, LIMIT, now())),
    ]
    notes: list[str] = []
    closing: list[Any] = [client]
    try:
        leased = redis_state(url)
    except ImportError:
        notes.append(NOT_AVAILABLE)
        return rows, notes, closing
    closing.append(leased)
    decision = await leased.acquire(KEY, LIMIT, now())
    assert decision.admitted, decision
    rows.append(("RedisState.acquire, leased", lambda: leased.acquire(KEY, LIMIT, now())))
    try:
        single = redis_state(url, lease_size=1)
    except TypeError as exc:
        notes.append(f"RedisState without leases skipped: {exc}")
    else:
        closing.append(single)
        assert (await single.acquire("rl:single", LIMIT, now())).admitted
        rows.append(
            ("RedisState.acquire, lease_size=1", lambda: single.acquire("rl:single", LIMIT, now()))
        )
    return rows, notes, closing


async def measure_all(url: str, calls: int, rounds: int) -> tuple[dict[str, Summary], list[str]]:
    rows, notes, closing = await build_rows(url)
    try:
        results = await run_rows(rows, calls, rounds, warmup=min(2_000, calls))
    finally:
        statuses = [f"{type(c).__name__}: {c.status()}" for c in closing if hasattr(c, "status")]
        for resource in closing:
            await resource.aclose()
    return {name: Summary(samples) for name, samples in results.items()}, notes + statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 calls, 2 rounds")
    options = parser.parse_args()
    calls, rounds = (2_000, 2) if options.quick else (options.calls, options.rounds)
    with RedisServer() as server:
        stats, notes = asyncio.run(measure_all(server.url, calls, rounds))
    print(
        f"python {platform.python_version()} on {platform.machine()}, redis-server on loopback, "
        f"{rounds} rounds x {calls} calls per row"
    )
    for note in notes:
        print(f"  {note}")
    print_table(stats)
    leased = stats.get("RedisState.acquire, leased")
    if leased is None:
        print(f"target not checked: {NOT_AVAILABLE}")
        return
    lua = stats["Lua GCRA EVALSHA per call"]
    print()
    print(f"Lua GCRA per call / leased: {ratio(lua, leased):.1f}x")
    print(f"leased - MemoryState: {difference(leased, stats['MemoryState.acquire']):.3f} us")
    met = leased.mean <= 15.0
    print(f"target leased <= 15 us amortised (saw {leased.mean:.3f}): {'met' if met else 'missed'}")


if __name__ == "__main__":
    main()
