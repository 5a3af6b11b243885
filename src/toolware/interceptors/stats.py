"""Per-target statistics: calls, errors by category, latency histogram.

Measures the time spent inside it (everything after it in the pipeline, including the handler),
on the injected clock. A cancelled call is counted under ``cancelled`` before the cancellation
propagates. Read the numbers with ``interceptor.snapshot()``.

Calls to entries the registry does not have (``UnknownEntryError``) are counted under one
target, ``UNKNOWN_TARGET``: an agent that
invents tool names must not grow the statistics (or the metric label sets fed from them)
without bound.

Events: none (this is the data source for metrics and the dashboard).
"""

from __future__ import annotations

import asyncio

from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import ErrorCategory, ToolwareError, UnknownEntryError
from toolware.stats import StatsRecorder, StatsSnapshot
from toolware.types import CallNext

__all__ = ["UNKNOWN_TARGET", "StatsInterceptor"]

UNKNOWN_TARGET = "(unknown)"


class StatsInterceptor:
    """Records every call that passes through it into a :class:`StatsRecorder`."""

    __slots__ = ("_clock", "_given", "name", "recorder")

    def __init__(
        self, *, recorder: StatsRecorder | None = None, clock: Clock | None = None
    ) -> None:
        self.recorder = recorder if recorder is not None else StatsRecorder()
        self.name = "stats"
        self._given = clock
        self._clock = system_clock if clock is None else clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's clock; refuse one that differs from a clock given explicitly."""
        if self._given is not None and self._given is not clock:
            raise ValueError(
                f"StatsInterceptor was given clock {self._given!r}, but its pipeline uses "
                f"{clock!r}; pass the same clock to PipelineBuilder(clock=...) or leave the "
                "interceptor's clock unset"
            )
        self._given = self._clock = clock

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        clock = self._clock
        started = clock.monotonic()
        try:
            response = await call_next(request)
        except asyncio.CancelledError:
            self._record(request, clock.monotonic() - started, ErrorCategory.CANCELLED)
            raise
        except ToolwareError as raised:
            # Raised on purpose below us; the pipeline answers with this very category.
            self._record(request, clock.monotonic() - started, raised.category)
            raise
        except Exception:
            # Crashed below us; the pipeline turns it into an internal error, count it as one.
            self._record(request, clock.monotonic() - started, ErrorCategory.INTERNAL)
            raise
        error = response.error
        if error is None:
            self.recorder.record(
                request.kind, request.target, request.action, clock.monotonic() - started, None
            )
        elif type(error) is UnknownEntryError:
            self.recorder.record(
                request.kind, UNKNOWN_TARGET, None, clock.monotonic() - started, error.category
            )
        else:
            self._record(request, clock.monotonic() - started, error.category)
        return response

    def _record(self, request: RequestContext, seconds: float, category: ErrorCategory) -> None:
        self.recorder.record(request.kind, request.target, request.action, seconds, category)

    def snapshot(self) -> StatsSnapshot:
        return self.recorder.snapshot()

    def reset(self) -> None:
        self.recorder.reset()
