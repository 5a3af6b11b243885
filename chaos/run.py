"""The chaos suite: real processes, a real redis-server, faults on purpose, invariants checked.

Run: make chaos   (or .venv/bin/python chaos/run.py [scenario ...]; --list names them)

Scenarios are in chaos/scenarios.py, one function each. The summary table has one row per
scenario: calls made, admitted (answered ok), refused by error category, duplicates (a call
the handler ran more often than allowed), lost (no typed answer: an exception escaped, a worker
died or hung). Exit status: 0 when every scenario passed, 1 when an invariant failed, 2 when
the suite cannot run: a chosen scenario needs redis-server and none is installed (one line says
to run ``make redis-server``; nothing is run). Each scenario is bounded in time; the whole suite
takes well under 90 s.
"""

# ruff: noqa: T201 (a command-line script: its output is the summary table)
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Result
from scenarios import NEEDS_REDIS, SCENARIOS

from _redis_server import require_redis_server


def run(names: list[str]) -> list[tuple[Result, float]]:
    results = []
    for name in names:
        started = time.monotonic()
        try:
            result = SCENARIOS[name]()
        except Exception as exc:  # a harness failure is a failed scenario, not a crash
            result = Result(name, failures=[f"harness error: {type(exc).__name__}: {exc}"])
        results.append((result, time.monotonic() - started))
        print(f"{name}: {verdict(result)} in {results[-1][1]:.1f} s", flush=True)
    return results


def verdict(result: Result) -> str:
    return "passed" if result.passed else "FAILED"


def print_summary(results: list[tuple[Result, float]]) -> None:
    print()
    header = f"{'scenario':22} {'calls':>7} {'admitted':>9} {'dup':>4} {'lost':>5} {'secs':>5}"
    print(f"{header}  {'verdict':8} failed by category")
    for result, seconds in results:
        refused = ", ".join(f"{k} {v}" for k, v in sorted(result.refused.items())) or "-"
        print(
            f"{result.scenario:22} {result.calls:7} {result.admitted:9} {result.duplicates:4} "
            f"{result.lost:5} {seconds:5.1f}  {verdict(result):8} {refused}"
        )
    for result, _ in results:
        for line in result.notes:
            print(f"  {result.scenario}: {line}")
        for failure in result.failures:
            print(f"  {result.scenario}: FAILED: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    options = parser.parse_args()
    if options.list:
        print("\n".join(SCENARIOS))
        return
    unknown = [name for name in options.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}")
    names = options.scenarios or list(SCENARIOS)
    if NEEDS_REDIS.intersection(names):
        require_redis_server()
    results = run(names)
    print_summary(results)
    if any(result.failures for result, _ in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
