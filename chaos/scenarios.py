"""The chaos scenarios, one function each: ``scenario() -> Result``.

  shared_rate_limit      4 processes share one rate limit through Redis; the total admitted
                         stays within burst + rate * d + P * lease_size (the lease bound)
  redis_killed           redis-server is killed (SIGKILL) mid-run and restarted: no call fails,
                         nothing escapes, the stores report the fallback and recover
  flaky_tool             a tool failing 30 % of the time (seeded) behind retry + breaker: every
                         call succeeds or fails typed; a non-idempotent call never runs twice
  breaker_propagation    a breaker opened in one process is seen open by another within the
                         documented delay

Each starts what it needs (a throwaway redis-server, worker processes) and stops it, within
a bounded time. ``NEEDS_REDIS`` names those that need an installed redis-server.
"""

from __future__ import annotations

import multiprocessing
import time

from _common import Result, run_workers

import _redis_server  # noqa: F401 (puts the repository root on sys.path for tests.redis_support)
from tests.redis_support import RedisServer

# How stale another process's view of a breaker may be: RedisState's ``breaker_sync`` (its
# default, 1 s, is what these workers use); changes also arrive sooner by pub/sub.
BREAKER_PROPAGATION = 1.0


def shared_rate_limit(
    *,
    processes: int = 4,
    rate: float = 200.0,
    burst: int = 20,
    lease_size: int = 10,
    duration: float = 3.0,
) -> Result:
    result = Result("shared_rate_limit")
    with RedisServer() as server:
        start_at = time.time() + 3.0  # room for the spawned interpreters to import everything
        options = [
            {
                "run": "shared_rate",
                "worker": n,
                "url": server.url,
                "rate": rate,
                "burst": burst,
                "lease_size": lease_size,
                "start_at": start_at,
                "duration": duration,
                "concurrency": 4,
            }
            for n in range(processes)
        ]
        reports = run_workers(options, timeout=duration + 20.0)
    for report in reports:
        result.add(report)
        result.duplicates += max(0, report.get("executions", 0) - report.get("admitted", 0))
        result.lost += max(0, report.get("admitted", 0) - report.get("executions", 0))
    if result.failures:
        return result
    window = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
    bound = burst + rate * window + processes * lease_size
    result.notes.append(
        f"admitted {result.admitted} in {window:.2f} s; bound {burst} + {rate:g} * "
        f"{window:.2f} + {processes} * {lease_size} = {bound:.0f}"
    )
    result.check(result.admitted <= bound, f"admitted {result.admitted} > bound {bound:.0f}")
    # Not an invariant of the bound, but a limiter that admits far less is broken too.
    floor = 0.5 * rate * window
    result.check(result.admitted >= floor, f"admitted {result.admitted} < half the rate")
    result.check(result.duplicates == 0 and result.lost == 0, "handler runs != admitted calls")
    return result


def redis_killed(*, processes: int = 2, before: float = 1.0, outage: float = 1.5) -> Result:
    result = Result("redis_killed")
    context = multiprocessing.get_context("spawn")
    ready, killed, restarted = context.Semaphore(0), context.Event(), context.Event()
    with RedisServer() as server:

        def chaos() -> None:
            for _ in range(processes):
                if not ready.acquire(timeout=20.0):
                    break
            time.sleep(before)
            server.kill()
            killed.set()
            time.sleep(outage)
            server.start()
            restarted.set()

        options = [
            {
                "run": "crash_survivor",
                "worker": n,
                "url": server.url,
                "ready": ready,
                "killed": killed,
                "restarted": restarted,
                "concurrency": 4,
            }
            for n in range(processes)
        ]
        reports = run_workers(options, timeout=30.0, between=chaos, context=context)
    for report in reports:
        result.add(report)
        if "status" not in report:
            continue
        status = report["status"]
        worker = report["worker"]
        result.notes.append(f"worker {worker}: final status {status}, breaker {report['breaker']}")
        result.check(
            report["degraded_in_outage"] or status["fallbacks"] >= 1,
            f"worker {worker} never reported the outage (status().degraded / fallbacks)",
        )
        result.check(
            status["shared"] and not status["degraded"],
            f"worker {worker} did not recover after the restart: {status}",
        )
    failed = sum(result.refused.values())
    result.check(failed == 0, f"{failed} calls failed while Redis was down: {dict(result.refused)}")
    return result


def flaky_tool(
    *, processes: int = 2, calls: int = 500, failure_rate: float = 0.3, seed: int = 7
) -> Result:
    result = Result("flaky_tool")
    options = [
        {
            "run": "flaky",
            "worker": n,
            "seed": seed,
            "calls": calls,
            "concurrency": 16,
            "failure_rate": failure_rate,
        }
        for n in range(processes)
    ]
    reports = run_workers(options, timeout=30.0)
    idempotent_calls = idempotent_runs = 0
    for report in reports:
        if "crashed" in report:
            result.add(report)
            continue
        for kind in ("idempotent", "once"):
            part = report[kind]
            result.add(part)
            result.check(part["calls"] == calls, f"{kind}: {part['calls']} answers for {calls}")
            result.lost += calls - part["calls"]
        once, idempotent = report["once"], report["idempotent"]
        result.duplicates += once["duplicates"]
        result.check(once["most_runs"] <= 1, f"a non-idempotent call ran {once['most_runs']}x")
        result.check(idempotent["most_runs"] <= 3, "an idempotent call ran more than attempts=3")
        idempotent_calls += idempotent["calls"]
        idempotent_runs += idempotent["executions"]
    result.check(idempotent_runs > idempotent_calls, "no idempotent call was ever retried")
    result.notes.append(f"idempotent: {idempotent_runs} runs for {idempotent_calls} calls")
    return result


def breaker_propagation(*, limit: float = BREAKER_PROPAGATION) -> Result:
    result = Result("breaker_propagation")
    context = multiprocessing.get_context("spawn")
    watching, opened = context.Event(), context.Event()
    with RedisServer() as server:
        options = [
            {
                "run": "breaker_peer",
                "worker": n,
                "role": role,
                "url": server.url,
                "watching": watching,
                "opened": opened,
                "limit": limit,
            }
            for n, role in enumerate(("watcher", "opener"))
        ]
        reports = run_workers(options, timeout=30.0, context=context)
    for report in reports:
        result.add(report)
    if result.failures:
        return result
    by_role = {r["role"]: r for r in reports}
    opener, watcher = by_role["opener"], by_role["watcher"]
    result.check(opener["state"] != "closed", f"the opener's breaker never opened: {opener}")
    if watcher["seen_at"] is None:
        result.failures.append("the watcher never saw the breaker open")
        return result
    delay = watcher["seen_at"] - opener["opened_at"]
    result.notes.append(f"seen by the watcher {delay * 1000:.0f} ms later, by {watcher['seen_by']}")
    result.check(delay <= limit, f"seen after {delay:.3f} s > documented {limit} s")
    return result


NEEDS_REDIS = frozenset({"shared_rate_limit", "redis_killed", "breaker_propagation"})

SCENARIOS = {
    "shared_rate_limit": shared_rate_limit,
    "redis_killed": redis_killed,
    "flaky_tool": flaky_tool,
    "breaker_propagation": breaker_propagation,
}
