"""The shared (Redis) rate limiter with leased permits against one round trip per call.

A real ``redis-server`` is started on a free local port for the run (no persistence). Every row
takes one permit of one key at steady state: the limit (1,000,000 per second, burst 1,000) is
far above the call rate, so every call is admitted and what is measured is the cost of asking.

  PING round trip        ``await client.ping()``: the floor of anything that asks Redis per call
  Lua GCRA per call      ``EVALSHA`` of a GCRA script on Redis's clock: the usual shared limiter,
                         one round trip per permit
  RedisState, leased     ``await state.acquire(key, limit, now)``: permits are leased from Redis
                         in batches and spent locally, so most calls never leave the process
  RedisState, no lease   the same store with leases of one permit (``lease_size=1``): a round
                         trip per call
  MemoryState            ``await state.acquire(...)`` in process memory, for reference

Figures are amortised: the mean over every call of a round, round trips included. Without an
installed redis-server the script says to run ``make redis-server`` and exits with status 2.
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

from _redis_server import require_redis_server
from _timing import Row, Summary, difference, print_table, ratio, run_rows
from tests.redis_support import RedisServer
from toolware.state.base import RateLimit
from toolware.state.memory import MemoryState
from toolware.state.redis import RedisState

LIMIT = RateLimit(rate=1_000_000.0, burst=1_000)
KEY = "rl:bench"

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


async def build_rows(url: str) -> tuple[list[Row], list[Any]]:
    """The rows, and what to close afterwards."""
    client = aioredis.Redis.from_url(url)
    sha = await client.script_load(GCRA)
    interval, burst = str(LIMIT.interval), str(LIMIT.burst)
    assert await client.evalsha(sha, 1, "gcra:bench", interval, burst) == b"0"
    now = time.monotonic
    memory = MemoryState()
    leased = RedisState(url)
    single = RedisState(url, lease_size=1)
    assert (await leased.acquire(KEY, LIMIT, now())).admitted
    assert (await single.acquire("rl:single", LIMIT, now())).admitted
    rows: list[Row] = [
        ("PING round trip", client.ping),
        (
            "Lua GCRA EVALSHA per call",
            lambda: client.evalsha(sha, 1, "gcra:bench", interval, burst),
        ),
        ("MemoryState.acquire", lambda: memory.acquire(KEY, LIMIT, now())),
        ("RedisState.acquire, leased", lambda: leased.acquire(KEY, LIMIT, now())),
        ("RedisState.acquire, lease_size=1", lambda: single.acquire("rl:single", LIMIT, now())),
    ]
    return rows, [client, leased, single]


async def measure_all(url: str, calls: int, rounds: int) -> tuple[dict[str, Summary], list[str]]:
    rows, closing = await build_rows(url)
    try:
        results = await run_rows(rows, calls, rounds, warmup=min(2_000, calls))
    finally:
        statuses = [f"{type(c).__name__}: {c.status()}" for c in closing if hasattr(c, "status")]
        for resource in closing:
            await resource.aclose()
    return {name: Summary(samples) for name, samples in results.items()}, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per row per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 calls, 2 rounds")
    options = parser.parse_args()
    calls, rounds = (2_000, 2) if options.quick else (options.calls, options.rounds)
    require_redis_server()
    with RedisServer() as server:
        stats, statuses = asyncio.run(measure_all(server.url, calls, rounds))
    print(
        f"python {platform.python_version()} on {platform.machine()}, redis-server on loopback, "
        f"{rounds} rounds x {calls} calls per row"
    )
    for status in statuses:
        print(f"  {status}")
    print_table(stats)
    leased = stats["RedisState.acquire, leased"]
    lua = stats["Lua GCRA EVALSHA per call"]
    print()
    print(f"Lua GCRA per call / leased: {ratio(lua, leased):.1f}x")
    print(f"leased - MemoryState: {difference(leased, stats['MemoryState.acquire']):.3f} us")
    met = leased.mean <= 15.0
    print(f"target leased <= 15 us amortised (saw {leased.mean:.3f}): {'met' if met else 'missed'}")


if __name__ == "__main__":
    main()
