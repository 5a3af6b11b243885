"""What every chaos scenario shares: its result row, worker processes, and call counting.

Workers are real processes (``multiprocessing``, spawn start method: a fresh interpreter, no
inherited event loop or sockets). A worker function takes its options and a queue, runs its
own event loop, and puts exactly one dict on the queue, even when it fails (then with
``crashed`` set), so the parent never waits on a worker that died quietly: it waits at most
``timeout`` seconds and kills what is left (its own children only, by handle).
"""

from __future__ import annotations

import multiprocessing
import queue as queues
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCHMARKS) not in sys.path:  # _redis_server.py there puts the repository root on the path
    sys.path.insert(0, str(BENCHMARKS))

__all__ = ["BENCHMARKS", "Result", "Tally", "entry", "run_workers"]


@dataclass
class Tally:
    """What one worker saw: calls made, answers by outcome, and what must never happen."""

    calls: int = 0
    admitted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    escaped: int = 0  # exceptions out of ``await pipeline(...)``: must stay 0
    untyped: int = 0  # failures whose error is not a ToolwareError: must stay 0
    escapes: list[str] = field(default_factory=list)

    def record(self, response: Any) -> None:
        from toolware.errors import ToolwareError

        self.calls += 1
        if response.ok:
            self.admitted += 1
        elif isinstance(response.error, ToolwareError):
            self.refused[str(response.error.category)] += 1
        else:
            self.untyped += 1

    def escape(self, exc: BaseException) -> None:
        self.calls += 1
        self.escaped += 1
        if len(self.escapes) < 3:
            self.escapes.append(f"{type(exc).__name__}: {exc}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "admitted": self.admitted,
            "refused": dict(self.refused),
            "escaped": self.escaped,
            "untyped": self.untyped,
            "escapes": self.escapes,
        }


@dataclass
class Result:
    """One scenario's row in the summary table; ``failures`` lists the broken invariants."""

    scenario: str
    calls: int = 0
    admitted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    lost: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def add(self, report: dict[str, Any]) -> None:
        """Fold one worker's report in; a crashed worker's calls count as lost."""
        if report.get("crashed"):
            self.failures.append(f"worker crashed: {report['crashed']}")
        self.calls += report.get("calls", 0)
        self.admitted += report.get("admitted", 0)
        self.refused.update(report.get("refused", {}))
        self.lost += report.get("escaped", 0) + report.get("untyped", 0)
        for text in report.get("escapes", []):
            self.failures.append(f"exception escaped the pipeline: {text}")
        if report.get("untyped"):
            self.failures.append(f"{report['untyped']} failures without a typed error")

    def check(self, condition: bool, failure: str) -> None:
        if not condition:
            self.failures.append(failure)


def entry(options: dict[str, Any], results: Any) -> None:
    """A worker process's target: run ``_workers.<options["run"]>(**options)`` and put its
    report (or why it died) on ``results``. Top level, so the spawn start method can pickle it.
    """
    import _workers

    try:
        report = getattr(_workers, options["run"])(**options)
    except BaseException as exc:  # the parent must hear of every death, whatever it was
        report = {"crashed": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
    report["worker"] = options.get("worker", 0)
    results.put(report)


def run_workers(
    options: list[dict[str, Any]],
    *,
    timeout: float,
    between: Callable[[], None] | None = None,
    context: Any = None,
) -> list[dict[str, Any]]:
    """Start one worker process per options dict (``run`` names the function in _workers),
    run ``between()`` in the parent meanwhile (kill a server, say), and collect one report per
    worker within ``timeout`` seconds."""
    context = context or multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=entry, args=(o, results), daemon=True) for o in options]
    for process in processes:
        process.start()
    if between is not None:
        between()
    reports: list[dict[str, Any]] = []
    for _ in processes:
        try:
            reports.append(results.get(timeout=timeout))
        except queues.Empty:
            reports.append({"crashed": f"no report within {timeout} s (worker hung)"})
    for process in processes:
        process.join(timeout=2)
        if process.is_alive():
            process.kill()
            process.join()
    return reports
