"""TrendsInterceptor: feeds a :class:`~toolware.trends.recorder.TrendRecorder` from a pipeline.

Each call is counted in flight from the moment it reaches this stage until its response (or,
for a streamed call, the end of its stream, observed with ``stream.observe``) and is then
recorded with its duration, whether it failed, and whether it was *refused* for lack of
capacity (``RateLimitedError`` or ``ConcurrencyLimitedError``): the capacity report reads
refusals as a saturation sign. A cancelled call is recorded as an error before the
cancellation propagates. Calls to unknown entries are counted under ``UNKNOWN_TARGET``.

Place it outermost (first ``use()``), next to the stats interceptor: it then sees every call
once with the latency the caller saw, including retries and waits for permits; placed inside
the rate limiter it would never see the refusals.

Clock: the recorder's. ``clock=`` (or the pipeline's, at ``build()``) is bound to the
recorder, which refuses a second, different clock. Events: none (a data source).
"""

from __future__ import annotations

from toolware.clock import Clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import ConcurrencyLimitedError, RateLimitedError, UnknownEntryError
from toolware.interceptors.stats import UNKNOWN_TARGET
from toolware.streams import StreamEnd
from toolware.trends.recorder import TrendRecorder
from toolware.types import CallNext

__all__ = ["TrendsInterceptor"]


class TrendsInterceptor:
    """Records every call that passes through it into a :class:`TrendRecorder`."""

    __slots__ = ("name", "recorder")

    def __init__(
        self, *, recorder: TrendRecorder | None = None, clock: Clock | None = None
    ) -> None:
        if recorder is not None and not isinstance(recorder, TrendRecorder):
            raise TypeError(
                f"recorder must be a TrendRecorder, got {type(recorder).__name__}; "
                "create one with TrendRecorder(horizon_seconds=..., horizon_minutes=...)"
            )
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must implement toolware.clock.Clock, got {clock!r}")
        self.recorder = TrendRecorder() if recorder is None else recorder
        if clock is not None:
            self.recorder.bind_clock(clock)
        self.name = "trends"

    def bind_clock(self, clock: Clock) -> None:
        """Bind the pipeline's clock to the recorder (which refuses a different one)."""
        self.recorder.bind_clock(clock)

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        recorder = self.recorder
        clock = recorder.clock
        target = request.qualified_name
        recorder.begin(target)
        started = clock.monotonic()
        try:
            response = await call_next(request)
        except BaseException:
            # Cancelled or crashed below us: the pipeline answers with an error either way.
            recorder.end(target, clock.monotonic() - started, error=True)
            raise
        error = response.error
        if error is None:
            stream = response.stream
            if stream is not None:

                def ended(end: StreamEnd) -> None:
                    recorder.end(target, clock.monotonic() - started, error=end.error is not None)

                return response.with_stream(stream.observe(on_end=ended, name="trends"))
            recorder.end(target, clock.monotonic() - started)
        elif type(error) is UnknownEntryError:
            # Keep the target set bounded: invented names all go to one series.
            recorder.forget(target)
            recorder.record(UNKNOWN_TARGET, clock.monotonic() - started, error=True)
        else:
            refused = isinstance(error, RateLimitedError | ConcurrencyLimitedError)
            recorder.end(target, clock.monotonic() - started, error=True, refused=refused)
        return response
