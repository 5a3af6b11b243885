"""Call metrics, aggregated in process for the exporters in :mod:`toolware.metrics`.

Counts every call that passes through it into a :class:`~toolware.metrics.CallMetrics`:
calls, errors by category and the duration histogram per (kind, target, action), calls in
flight per kind, streams and their time to first chunk, what the resilience interceptors inside
it did (retries, cache hits, fallbacks, hedges) and the calls a limiter refused
(``RateLimitedError``, ``ConcurrencyLimitedError``). Circuit breaker states come from
``CircuitBreakerInterceptor(on_state_change=metrics.on_breaker_change)``.

It records what :class:`~toolware.interceptors.stats.StatsInterceptor` records, the same way
(read back as the same ``TargetStats``): one duration per call on the pipeline's clock, a
cancelled call under ``cancelled``, a timeout that never started also in ``not_started``, a
call to an unknown entry under the one target ``(unknown)``, and at most ``max_targets``
targets, then ``(other)``: an agent inventing tool names cannot grow the label sets.
Arguments and principals are never labels. Unlike the stats recorder it takes no lock per
call (per-thread shards, see :mod:`toolware.metrics._series`): metrics are meant to be on in
production.

Options: ``metrics`` shares one :class:`CallMetrics` between pipelines (then set
``max_targets`` and ``buckets`` on it, not here); ``max_targets`` (default 1000) bounds the
targets; ``buckets`` are the histogram's upper bounds in seconds; ``clock`` as for every
interceptor (unset: the pipeline's, adopted at ``build()``; a different one is refused).

Streams: a streamed call is in flight, and is counted, until its stream ends (completed,
failed, or abandoned by the consumer; abandoned is not an error); its time to first chunk is
the time until the response with the stream came back.

Export costs the call nothing: exporters read :meth:`CallMetrics.snapshot` when they are
scraped or collected (``toolware.metrics.prometheus``, ``toolware.metrics.otel``).

Place it first (outermost): it then times the whole call, sees a call's final attempt count
(retries), the cache and fallback markers, and the refusals of the limiters inside it.

Events: ``metrics.targets_capped`` (warning, once per kind) when ``max_targets`` is reached;
``metrics.breakers_capped`` (warning, once) when too many breaker keys were seen.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Sequence
from threading import get_ident

from toolware.clock import Clock, system_clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import (
    ConcurrencyLimitedError,
    ErrorCategory,
    RateLimitedError,
    ToolwareError,
    UnknownEntryError,
)
from toolware.extras import EMPTY_EXTRAS
from toolware.interceptors.stats import UNKNOWN_TARGET
from toolware.markers import CACHE_HIT, FALLBACK, HEDGES
from toolware.metrics._aggregate import CallMetrics
from toolware.metrics._series import Series
from toolware.stats import DEFAULT_BUCKETS
from toolware.streams import ResponseStream, StreamEnd
from toolware.types import CallNext

__all__ = ["MetricsInterceptor"]

_DEFAULT_MAX_TARGETS = 1000


def _resilience(series: Series, response: ResponseContext) -> None:
    """Add what the resilience interceptors inside did for this call (markers, attempts)."""
    extras = response.extras
    series.retries += max(response.attempts - 1, 0)
    series.cache_hits += extras.get(CACHE_HIT) is True
    series.fallbacks += extras.get(FALLBACK) is not None
    series.hedges += extras.get(HEDGES) or 0


class MetricsInterceptor:
    """Aggregates call metrics in process; see the module docstring."""

    __slots__ = ("_bounds", "_clock", "_explicit", "_now", "_shards", "metrics", "name")

    def __init__(
        self,
        *,
        metrics: CallMetrics | None = None,
        max_targets: int = _DEFAULT_MAX_TARGETS,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        clock: Clock | None = None,
    ) -> None:
        if metrics is None:
            metrics = CallMetrics(max_targets=max_targets, buckets=buckets)
        elif not isinstance(metrics, CallMetrics):
            raise TypeError(
                f"metrics must be a toolware.metrics.CallMetrics or None, got {metrics!r}"
            )
        elif max_targets != _DEFAULT_MAX_TARGETS or tuple(buckets) != DEFAULT_BUCKETS:
            raise ValueError(
                f"max_targets={max_targets!r} and buckets=... cannot be combined with a shared "
                f"metrics=CallMetrics(...); pass them to CallMetrics(max_targets=..., "
                f"buckets=...) instead"
            )
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must be a toolware Clock or None, got {clock!r}")
        self.metrics = metrics
        self.name = "metrics"
        # The hot path reads these directly: each attribute hop and call costs tens of ns.
        self._shards = metrics._shards
        self._bounds = metrics.bounds
        self._clock = clock
        self._explicit = clock is not None
        # Bound once: the hot path calls it twice per call.
        self._now = (system_clock if clock is None else clock).monotonic

    @property
    def clock(self) -> Clock | None:
        """The clock calls are timed on; ``None`` until given or bound (then ``system_clock``)."""
        return self._clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's ``clock``, unless a different one was given or bound before."""
        own = self._clock
        if own is None:
            self._clock = clock
            self._now = clock.monotonic
            return
        if own is clock:
            return
        if self._explicit:
            raise ValueError(
                f"MetricsInterceptor was given clock={own!r} but its pipeline uses "
                f"clock={clock!r}; pass the same clock to PipelineBuilder(clock=...) and "
                f"MetricsInterceptor, or leave the interceptor's clock unset"
            )
        raise ValueError(
            f"this MetricsInterceptor already times calls on {own!r} for another pipeline "
            f"and cannot also use clock={clock!r}; give the pipelines one clock, or a "
            f"MetricsInterceptor each sharing one metrics=CallMetrics()"
        )

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        now = self._now
        shard = self._shards.get(get_ident()) or self.metrics.shard()
        kind = request.kind
        shard.started[kind] += 1
        started = now()
        try:
            response = await call_next(request)
        except asyncio.CancelledError:
            self._failed(request, now() - started, ErrorCategory.CANCELLED, None)
            raise
        except ToolwareError as raised:  # raised on purpose below: answered with its category
            self._failed(request, now() - started, raised.category, raised)
            raise
        except Exception:  # crashed below: the pipeline answers with an internal error
            self._failed(request, now() - started, ErrorCategory.INTERNAL, None)
            raise
        error = response.error
        if error is not None:
            series = self._failed(request, now() - started, error.category, error)
        elif response.stream is not None:
            return response.with_stream(
                self._observed(request, response, response.stream, started, now() - started)
            )
        else:
            # The common case, inlined: no lock, no call but the clock and bisect.
            seconds = now() - started
            key = (kind, request.target, request.action)
            series = shard.series.get(key) or self.metrics.series(shard, key)
            series.calls += 1
            series.total += seconds
            if seconds > series.max:
                series.max = seconds
            if seconds < series.min:
                series.min = seconds
            series.counts[bisect_left(self._bounds, seconds)] += 1
        if response.attempts != 1 or response.extras is not EMPTY_EXTRAS:
            _resilience(series, response)
        return response

    def _failed(
        self,
        request: RequestContext,
        seconds: float,
        category: ErrorCategory,
        error: ToolwareError | None,
    ) -> Series:
        target, action = request.target, request.action
        if type(error) is UnknownEntryError:
            target, action = UNKNOWN_TARGET, None
        # getattr: only CallTimeoutError has ``started``; other errors did start.
        not_started = category is ErrorCategory.TIMEOUT and getattr(error, "started", True) is False
        metrics = self.metrics
        series = metrics.record(
            request.kind, target, action, seconds, category, not_started=not_started
        )
        if isinstance(error, RateLimitedError):
            metrics.record_refusal(request.kind, request.target, request.action, "rate_limit")
        elif isinstance(error, ConcurrencyLimitedError):
            metrics.record_refusal(
                request.kind, request.target, request.action, "concurrency_limit"
            )
        return series

    def _observed(
        self,
        request: RequestContext,
        response: ResponseContext,
        stream: ResponseStream,
        started: float,
        first_chunk: float,
    ) -> ResponseStream:
        """``stream``, counted when it ends (the call is in flight until then)."""
        metrics, now = self.metrics, self._now
        kind, target, action = request.kind, request.target, request.action

        def record(end: StreamEnd) -> None:
            error = end.error
            series = metrics.record_stream(
                kind,
                target,
                action,
                now() - started,
                end.outcome,
                None if error is None else error.category,
                first_chunk_seconds=first_chunk,
                chunks=end.chunks,
            )
            if response.attempts != 1 or response.extras is not EMPTY_EXTRAS:
                _resilience(series, response)

        return stream.observe(on_end=record, name="metrics")
