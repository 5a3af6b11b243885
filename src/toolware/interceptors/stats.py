"""Per-target statistics: calls, errors by category, latency histogram.

Measures the time spent inside it (everything after it in the pipeline, including the handler),
on the pipeline's clock. A cancelled call is counted under ``cancelled`` before the cancellation
propagates. A ``timeout`` whose error says the call never started (``started=False``: it waited
for a worker thread until its deadline) is also counted in ``not_started``. Read the numbers with
``interceptor.snapshot()``.

Clock: one clock per pipeline. Leave ``clock`` unset and the builder hands the interceptor the
pipeline's clock at ``build()`` through :meth:`StatsInterceptor.bind_clock`; used on its own,
unbound, it reads ``system_clock``. An explicit ``clock`` must be the very object the pipeline
uses, or ``bind_clock`` refuses it (two clocks would time the same call differently).

A streamed call is recorded when its stream ends, not when the response is returned: its
duration runs to the end of the stream, and its time to first chunk, chunk count and outcome
(completed, failed, or abandoned by the consumer) are counted too (``TargetStats.streams_*``,
``chunks``, ``mean_first_chunk_seconds``). An abandoned stream is not an error.

Calls to entries the registry does not have (``UnknownEntryError``) are counted under one
target, ``UNKNOWN_TARGET``: an agent that
invents tool names must not grow the statistics (or the metric label sets fed from them)
without bound.

What the resilience interceptors inside it did is counted per target too: retries (from
``response.attempts``), cache hits, fallbacks and hedges (from :mod:`toolware.markers`). A call
with one attempt and no extras pays two comparisons for it.

Events: none (this is the data source for metrics and the dashboard).
"""

from __future__ import annotations

import asyncio

from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import ErrorCategory, ToolwareError, UnknownEntryError
from toolware.extras import EMPTY_EXTRAS
from toolware.markers import CACHE_HIT, FALLBACK, HEDGES
from toolware.stats import StatsRecorder, StatsSnapshot
from toolware.streams import ResponseStream, StreamEnd
from toolware.types import CallNext

__all__ = ["UNKNOWN_TARGET", "StatsInterceptor"]

UNKNOWN_TARGET = "(unknown)"


class StatsInterceptor:
    """Records every call that passes through it into a :class:`StatsRecorder`."""

    __slots__ = ("_clock", "_explicit", "name", "recorder")

    def __init__(
        self, *, recorder: StatsRecorder | None = None, clock: Clock | None = None
    ) -> None:
        if recorder is not None and not isinstance(recorder, StatsRecorder):
            raise TypeError(f"recorder must be a StatsRecorder, got {type(recorder).__name__}")
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must be a toolware Clock or None, got {type(clock).__name__}")
        self.recorder = recorder if recorder is not None else StatsRecorder()
        self.name = "stats"
        self._clock = clock
        self._explicit = clock is not None

    @property
    def clock(self) -> Clock | None:
        """The clock calls are timed on; ``None`` until given or bound (then ``system_clock``)."""
        return self._clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's ``clock``, unless a different one was given or bound before."""
        own = self._clock
        if own is None:
            self._clock = clock
            return
        if own is clock:
            return
        if self._explicit:
            raise ValueError(
                f"StatsInterceptor was given clock={own!r} but its pipeline uses clock={clock!r}; "
                f"pass the same clock to PipelineBuilder(clock=...) and StatsInterceptor, "
                f"or leave the interceptor's clock unset"
            )
        raise ValueError(
            f"this StatsInterceptor already times calls on {own!r} for another pipeline and "
            f"cannot also use clock={clock!r}; give the pipelines one clock, or a "
            f"StatsInterceptor each (they may share a StatsRecorder)"
        )

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        clock = self._clock
        if clock is None:  # not bound to a pipeline (used on its own): the real clock
            clock = system_clock
        started = clock.monotonic()
        try:
            response = await call_next(request)
        except asyncio.CancelledError:
            self._record(request, clock.monotonic() - started, ErrorCategory.CANCELLED)
            raise
        except ToolwareError as raised:
            # Raised on purpose below us; the pipeline answers with this very category.
            self._record_error(request, clock.monotonic() - started, raised)
            raise
        except Exception:
            # Crashed below us; the pipeline turns it into an internal error, count it as one.
            self._record(request, clock.monotonic() - started, ErrorCategory.INTERNAL)
            raise
        error = response.error
        if error is None:
            stream = response.stream
            if stream is not None:
                return response.with_stream(
                    self._observed(
                        request, response, stream, clock, started, clock.monotonic() - started
                    )
                )
            self.recorder.record(
                request.kind, request.target, request.action, clock.monotonic() - started, None
            )
        elif type(error) is UnknownEntryError:
            self.recorder.record(
                request.kind, UNKNOWN_TARGET, None, clock.monotonic() - started, error.category
            )
            return response
        else:
            self._record_error(request, clock.monotonic() - started, error)
        if response.attempts != 1 or response.extras is not EMPTY_EXTRAS:
            self._record_resilience(request, response)
        return response

    def _record_resilience(self, request: RequestContext, response: ResponseContext) -> None:
        extras = response.extras
        retries = response.attempts - 1
        cache_hit = extras.get(CACHE_HIT) is True
        fallback = extras.get(FALLBACK) is not None
        hedges = extras.get(HEDGES) or 0
        if retries > 0 or cache_hit or fallback or hedges:
            self.recorder.record_resilience(
                request.kind,
                request.target,
                request.action,
                retries=max(retries, 0),
                cache_hit=cache_hit,
                fallback=fallback,
                hedges=hedges,
            )

    def _observed(
        self,
        request: RequestContext,
        response: ResponseContext,
        stream: ResponseStream,
        clock: Clock,
        started: float,
        first_chunk: float,
    ) -> ResponseStream:
        """``stream``, recorded when it ends (the call counts then, not before)."""
        recorder, kind, target, action = self.recorder, request.kind, request.target, request.action

        def record(end: StreamEnd) -> None:
            error = end.error
            recorder.record_stream(
                kind,
                target,
                action,
                clock.monotonic() - started,
                end.outcome,
                None if error is None else error.category,
                first_chunk_seconds=first_chunk,
                chunks=end.chunks,
            )
            if response.attempts != 1 or response.extras is not EMPTY_EXTRAS:
                self._record_resilience(request, response)

        return stream.observe(on_end=record, name="stats")

    def _record(self, request: RequestContext, seconds: float, category: ErrorCategory) -> None:
        self.recorder.record(request.kind, request.target, request.action, seconds, category)

    def _record_error(self, request: RequestContext, seconds: float, error: ToolwareError) -> None:
        category = error.category
        # getattr: ``started`` is new on CallTimeoutError; errors without it did start.
        not_started = category is ErrorCategory.TIMEOUT and getattr(error, "started", True) is False
        self.recorder.record(
            request.kind, request.target, request.action, seconds, category, not_started=not_started
        )

    def snapshot(self) -> StatsSnapshot:
        return self.recorder.snapshot()

    def reset(self) -> None:
        self.recorder.reset()
