"""Per-stage self time of a pipeline: which interceptor costs what.

A stage's *self time* is the time spent in it minus the time spent in what it called
(``call_next``): the stages inside it and the terminal. Overlapping ``call_next`` calls (a
hedge) count once, as the wall time during which at least one was running.

    report = await profile(pipeline, "search", {"query": "x"}, calls=1000)
    table = report.table()    # rows: stage, calls, self time, mean, share

:func:`profile` runs ``calls`` calls through a profiled *copy* of the pipeline. For live
traffic, ``with profiler.attach(pipeline) as profiled:`` gives the copy to serve calls with;
``profiler.report()`` reads the figures at any moment, and the copy stops recording when the
block ends. The original pipeline is never changed: profiling costs nothing unless the copy is
used. The copy shares the original's stages and terminal (and does not own the terminal: close
the original as usual).

Rows: one per stage, outermost first, then the terminal (its whole time, as seen from the
innermost stage). A stage skipped by its ``when=`` condition is not counted for that call. The
time of a streamed response is counted until the stream is handed back, not while it is read.
Times are read from the pipeline's clock. No log events.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

from toolware._attribution import display_name
from toolware.builder import Stage
from toolware.clock import Clock
from toolware.context import Kind, RequestContext, ResponseContext
from toolware.errors import ToolwareError
from toolware.pipeline import Pipeline
from toolware.types import CallNext, Interceptor

__all__ = ["ProfileReport", "ProfileRow", "Profiler", "Span", "profile"]


class Span:
    """The time one stage invocation spends inside ``call_next``; ``call_next`` is the proxy to
    hand to the stage. Per call, so concurrent calls never share one."""

    __slots__ = ("_clock", "_depth", "_next", "_since", "inside")

    def __init__(self, clock: Clock, call_next: CallNext) -> None:
        self._clock = clock
        self._next = call_next
        self._depth = 0
        self._since = 0.0
        self.inside = 0.0

    async def call_next(self, request: RequestContext) -> ResponseContext:
        if self._depth == 0:
            self._since = self._clock.monotonic()
        self._depth += 1
        try:
            return await self._next(request)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.inside += self._clock.monotonic() - self._since


class _Tally:
    __slots__ = ("calls", "seconds")

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0


class _TimedStage:
    """A stage's interceptor, timed: adds its self time to a tally while recording."""

    __slots__ = ("_clock", "_interceptor", "_profiler", "_tally", "name")

    def __init__(self, stage: Stage, clock: Clock, profiler: Profiler, tally: _Tally) -> None:
        self.name = stage.name
        self._interceptor: Interceptor = stage.interceptor
        self._clock = clock
        self._profiler = profiler
        self._tally = tally

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        clock = self._clock
        span = Span(clock, call_next)
        start = clock.monotonic()
        try:
            return await self._interceptor(request, span.call_next)
        finally:
            if self._profiler.recording:
                self._tally.calls += 1
                self._tally.seconds += clock.monotonic() - start - span.inside


class _Wall:
    """Times everything inside it: outermost for the whole call, innermost for the terminal."""

    __slots__ = ("_clock", "_profiler", "_tally", "name")

    def __init__(self, name: str, clock: Clock, profiler: Profiler, tally: _Tally) -> None:
        self.name = name
        self._clock = clock
        self._profiler = profiler
        self._tally = tally

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        start = self._clock.monotonic()
        try:
            return await call_next(request)
        finally:
            if self._profiler.recording:
                self._tally.calls += 1
                self._tally.seconds += self._clock.monotonic() - start


class ProfileRow(msgspec.Struct, frozen=True):
    """One stage (or the terminal): calls, total and mean self time in µs, share of the sum."""

    stage: str
    calls: int
    total_self_us: float
    mean_self_us: float
    share_pct: float


class ProfileReport(msgspec.Struct, frozen=True):
    """``rows`` outermost first, the terminal last; ``calls`` that entered the pipeline's
    stages and their wall time ``total_us``; ``failures`` among them (from :func:`profile`)."""

    rows: tuple[ProfileRow, ...]
    calls: int
    total_us: float
    failures: int = 0

    def table(self) -> str:
        """The rows as an aligned plain-text table."""
        width = max([len("stage"), *(len(row.stage) for row in self.rows)])
        lines = [
            f"{'stage':<{width}}  {'calls':>8}  {'self µs':>12}  {'mean µs':>10}  {'share':>6}"
        ]
        lines.extend(
            f"{row.stage:<{width}}  {row.calls:>8}  {row.total_self_us:>12.1f}  "
            f"{row.mean_self_us:>10.2f}  {row.share_pct:>5.1f}%"
            for row in self.rows
        )
        lines.append(f"{self.calls} calls, {self.total_us:.1f} µs in the stages and terminal")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)  # type: ignore[no-any-return]


class Profiler:
    """Accumulates per-stage self time over the calls made through its profiled copies."""

    __slots__ = ("_names", "_tallies", "_total", "recording")

    def __init__(self) -> None:
        self.recording = True
        self._names: list[str] = []
        self._tallies: list[_Tally] = []
        self._total = _Tally()

    def instrument(self, pipeline: Pipeline) -> Pipeline:
        """A profiled copy of ``pipeline`` that records into this profiler."""
        if not isinstance(pipeline, Pipeline):
            raise TypeError(
                f"Profiler needs a built toolware Pipeline, got {type(pipeline).__name__}; "
                "build one with PipelineBuilder(...).build()"
            )
        if self._names:
            raise ValueError(
                "this Profiler already profiles a pipeline; use one Profiler per pipeline"
            )
        clock = pipeline.clock
        self._names = [stage.name for stage in pipeline.stages]
        self._names.append(display_name(pipeline.terminal))
        self._tallies = [_Tally() for _ in self._names]
        stages = [Stage("(profiler)", _Wall("(profiler)", clock, self, self._total))]
        stages.extend(
            Stage(stage.name, _TimedStage(stage, clock, self, tally), stage.condition)
            for stage, tally in zip(pipeline.stages, self._tallies, strict=False)
        )
        terminal = _Wall(self._names[-1], clock, self, self._tallies[-1])
        stages.append(Stage("(terminal)", terminal))
        return Pipeline(
            stages=tuple(stages),
            terminal=pipeline.terminal,
            clock=clock,
            name=pipeline.name,
            owns_terminal=False,
        )

    @contextlib.contextmanager
    def attach(self, pipeline: Pipeline) -> Iterator[Pipeline]:
        """Live mode: the profiled copy, recording until the block ends."""
        profiled = self.instrument(pipeline)
        self.recording = True
        try:
            yield profiled
        finally:
            self.recording = False

    def report(self, *, failures: int = 0) -> ProfileReport:
        """The figures so far."""
        spent = sum(tally.seconds for tally in self._tallies)
        rows = tuple(
            ProfileRow(
                stage=name,
                calls=tally.calls,
                total_self_us=tally.seconds * 1e6,
                mean_self_us=tally.seconds * 1e6 / tally.calls if tally.calls else 0.0,
                share_pct=100.0 * tally.seconds / spent if spent > 0 else 0.0,
            )
            for name, tally in zip(self._names, self._tallies, strict=True)
        )
        return ProfileReport(
            rows=rows,
            calls=self._total.calls,
            total_us=self._total.seconds * 1e6,
            failures=failures,
        )


async def profile(
    pipeline: Pipeline,
    target: str,
    arguments: Mapping[str, Any] | None = None,
    *,
    calls: int = 100,
    kind: Kind = Kind.TOOL,
    action: str | None = None,
) -> ProfileReport:
    """Call ``target`` ``calls`` times, one after another, through a profiled copy of
    ``pipeline``; a streamed response is read to its end (untimed) so its handler finishes."""
    if isinstance(calls, bool) or not isinstance(calls, int):
        raise TypeError(f"calls= takes an int >= 1, got {calls!r}")
    if calls < 1:
        raise ValueError(f"calls= must be >= 1, got {calls!r}; profile at least one call")
    profiler = Profiler()
    failures = 0
    with profiler.attach(pipeline) as profiled:
        for _ in range(calls):
            response = await profiled.invoke(target, arguments, kind=kind, action=action)
            if response.stream is not None:
                try:
                    async with response.stream as stream:
                        async for _chunk in stream:
                            pass
                except ToolwareError:
                    failures += 1
            failures += response.error is not None
    return profiler.report(failures=failures)
