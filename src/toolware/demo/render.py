"""``toolware demo``: run the scripted session through the demo pipeline and show it.

The pipeline is :func:`toolware.demo.pipeline.demo_pipeline` (the default stages plus cache,
retry, circuit breaker and a rate limit). Each answer line shows what resilience did to the
call (``attempts=3``, ``cache hit``), the statistics table has a ``resilience`` column (retries,
cache hits, fallbacks, hedges, where non-zero), and the summary explains the rescued retry,
the open breaker, the rate-limited text and the cache hit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from toolware.cli.render import category_style, heading, new_table, schema_lines
from toolware.demo.functions import function_tools, routes
from toolware.demo.pipeline import demo_pipeline
from toolware.demo.registry import build_registry
from toolware.demo.session import SCRIPT, CallOutcome, run_session
from toolware.demo.summary import render_summary
from toolware.encoding import to_json
from toolware.registry.local import LocalRegistry
from toolware.state.base import BreakerChange
from toolware.state.memory import MemoryState
from toolware.stats import StatsRecorder, StatsSnapshot, TargetStats

__all__ = ["CONTENT_PREVIEW", "run_demo"]

CONTENT_PREVIEW = 240  # characters of each tool message's content shown


def run_demo(console: Console, *, registry: LocalRegistry | None = None) -> list[CallOutcome]:
    """Run the scripted agent session against ``registry`` (a fresh demo registry by
    default), printing each call, each
    chunk of a streamed answer as it arrives, each breaker change, the tool message each call
    produced and, at the end, per-target statistics."""
    registry = registry if registry is not None else build_registry()
    recorder = StatsRecorder()
    state = MemoryState()  # the cache, breaker and rate limit share it; closed below

    def breaker(change: BreakerChange) -> None:
        line = Text("  !! ", style="yellow")
        line.append(
            f"circuit_breaker {change.key}: {change.previous} -> {change.current} ({change.reason})"
        )
        console.print(line, soft_wrap=True)

    pipeline = demo_pipeline(registry, state=state, recorder=recorder, on_breaker_change=breaker)
    heading(console, "toolware demo: a scripted agent session")
    console.print(Text("pipeline: " + " -> ".join(pipeline.describe())))
    _render_tools(console, function_tools(registry))
    heading(console, "Session")

    def start(number: int, turn: Mapping[str, Any]) -> None:
        line = Text(f"turn {number}  ", style="bold")
        line.append(f"assistant: {turn['content']}", style="cyan")
        console.print(line, soft_wrap=True)
        for call in turn.get("tool_calls") or ():
            _render_request(console, call)

    def chunk(call_id: str, number: int, value: Any) -> None:
        line = Text("  ~  ")
        line.append(f"{call_id} chunk {number}  ", style="dim")
        line.append(to_json(value))
        console.print(line, soft_wrap=True)

    def finish(number: int, turn: Mapping[str, Any], outcomes: Sequence[CallOutcome]) -> None:
        for outcome in outcomes:
            _render_answer(console, outcome)

    async def session() -> list[CallOutcome]:
        try:
            with _no_last_resort():
                async with pipeline:
                    return await run_session(
                        pipeline,
                        routes(registry),
                        SCRIPT,
                        on_turn_start=start,
                        on_chunk=chunk,
                        on_turn=finish,
                    )
        finally:
            await state.aclose()  # the application owns the store, not the interceptors

    outcomes = asyncio.run(session())
    heading(console, "Statistics from the stats interceptor")
    _render_stats(console, recorder.snapshot())
    render_summary(console, outcomes)
    return outcomes


@contextlib.contextmanager
def _no_last_resort() -> Iterator[None]:
    """The demo prints breaker changes itself; with logging not configured, Python's
    last-resort handler would also print the breaker's warning to stderr in the middle of the
    session. A NullHandler on ``toolware`` stops only that fallback: handlers the application
    configured still get every event (propagation is untouched)."""
    logger = logging.getLogger("toolware")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _render_tools(console: Console, tools: Sequence[Mapping[str, Any]]) -> None:
    heading(console, f"Function-calling tools offered to the model ({len(tools)})")
    table = new_table(console, "function", "description", "parameters")
    for tool in tools:
        function = tool["function"]
        parameters = ", ".join(
            line.partition(":")[0] for line in schema_lines(function["parameters"])
        )
        table.add_row(
            Text(function["name"], style="bold"),
            Text(function["description"]),
            Text(parameters or "-"),
        )
    console.print(table)
    console.print(Text("first entry of tools=[...]:", style="dim"))
    console.print(Text(to_json(tools[0])), soft_wrap=True)


def _render_request(console: Console, call: Mapping[str, Any]) -> None:
    function = call["function"]
    line = Text("  -> ")
    line.append(f"{call['id']} ", style="dim")
    line.append(function["name"], style="bold")
    line.append(f" {function['arguments']}")
    console.print(line, soft_wrap=True)


def _render_answer(console: Console, outcome: CallOutcome) -> None:
    label = outcome.category or "ok"
    answer = Text("  <- ")
    answer.append(f"{label:<15}", style=category_style(outcome.category))
    answer.append(f"{outcome.seconds * 1000:7.1f} ms  ", style="dim")
    if outcome.chunks is not None:
        answer.append(f"{outcome.chunks} chunk(s)  ", style="dim")
    if outcome.attempts != 1:
        answer.append(f"attempts={outcome.attempts}  ", style="yellow")
    if outcome.cache_hit:
        answer.append("cache hit  ", style="green")
    message = dict(outcome.message)
    content = message["content"]
    if len(content) > CONTENT_PREVIEW:
        message["content"] = f"{content[:CONTENT_PREVIEW]}... ({len(content)} chars)"
    answer.append(to_json(message))
    console.print(answer, soft_wrap=True)


def _render_stats(console: Console, snapshot: StatsSnapshot) -> None:
    table = new_table(
        console,
        "target",
        "kind",
        "calls",
        "errors",
        "resilience",
        "mean ms",
        "p50 ms",
        "p99 ms",
        "max ms",
    )
    for stats in snapshot.targets:
        errors = ", ".join(f"{c.value}={n}" for c, n in sorted(stats.errors.items())) or "-"
        resilience = _resilience(stats)
        table.add_row(
            Text(stats.key.qualified_name, style="bold"),
            Text(stats.key.kind.value),
            Text(str(stats.calls)),
            Text(errors, style="red" if stats.errors else ""),
            Text(resilience or "-", style="yellow" if resilience else ""),
            Text(f"{stats.mean_seconds * 1000:.1f}"),
            Text(f"{stats.percentile(0.5) * 1000:.1f}"),
            Text(f"{stats.percentile(0.99) * 1000:.1f}"),
            Text(f"{stats.max_seconds * 1000:.1f}"),
        )
    for index in (2, 5, 6, 7, 8):
        table.columns[index].justify = "right"
    console.print(table)
    for stats in snapshot.targets:
        if stats.streams:  # recorded when each stream ended
            console.print(
                Text(
                    f"{stats.key.qualified_name} streamed {stats.streams} time(s): "
                    f"{stats.streams_completed} completed, {stats.streams_failed} failed, "
                    f"{stats.streams_abandoned} abandoned; {stats.chunks} chunk(s), first chunk "
                    f"after {stats.mean_first_chunk_seconds * 1000:.1f} ms on average"
                )
            )


def _resilience(stats: TargetStats) -> str:
    """What the resilience stages did for a target, the non-zero counts only."""
    counts = (
        ("retries", stats.retries),
        ("cache_hits", stats.cache_hits),
        ("fallbacks", stats.fallbacks),
        ("hedges", stats.hedges),
    )
    return ", ".join(f"{name}={count}" for name, count in counts if count)
