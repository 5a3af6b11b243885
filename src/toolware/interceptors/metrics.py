"""Call metrics, aggregated in process for the exporters in :mod:`toolware.metrics`.

Counts every call that passes through it into a :class:`~toolware.metrics.CallMetrics`:
calls, errors by category and the duration histogram per (kind, target, action), calls in
flight per kind, streams and their time to first chunk, what the resilience interceptors inside
it did (retries, cache hits, fallbacks, hedges) and the calls a limiter refused
(``RateLimitedError``, ``ConcurrencyLimitedError``). Circuit breaker states come from
``CircuitBreakerInterceptor(on_state_change=metrics.on_breaker_change)``.

The recording is :class:`~toolware.interceptors.stats.StatsInterceptor`'s, on the same
``StatsRecorder``: one duration per call on the pipeline's clock, a cancelled call counted under
``cancelled``, a call to an unknown entry under the one target ``(unknown)``, and at most
``max_targets`` targets per kind, then ``(other)``; an agent inventing tool names cannot grow
the label sets. Arguments and principals are never labels.

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

Events: ``stats.targets_capped`` (warning, once per kind) when ``max_targets`` is reached;
``metrics.breakers_capped`` (warning, once) when too many breaker keys were seen.
"""

from __future__ import annotations

from collections.abc import Sequence

from toolware.clock import Clock
from toolware.context import RequestContext, ResponseContext
from toolware.errors import ConcurrencyLimitedError, RateLimitedError
from toolware.interceptors.stats import StatsInterceptor
from toolware.metrics._aggregate import CallMetrics
from toolware.stats import DEFAULT_BUCKETS
from toolware.types import CallNext

__all__ = ["MetricsInterceptor"]

_DEFAULT_MAX_TARGETS = 1000


class MetricsInterceptor:
    """Aggregates call metrics in process; see the module docstring."""

    __slots__ = ("_explicit", "_stats", "metrics", "name")

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
        self._stats = StatsInterceptor(recorder=metrics.recorder, clock=clock)
        self._explicit = clock is not None

    @property
    def clock(self) -> Clock | None:
        """The clock calls are timed on; ``None`` until given or bound (then ``system_clock``)."""
        return self._stats.clock

    def bind_clock(self, clock: Clock) -> None:
        """Adopt the pipeline's ``clock``, unless a different one was given or bound before."""
        own = self._stats.clock
        if own is not None and own is not clock:
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
        self._stats.bind_clock(clock)

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        metrics = self.metrics
        metrics.call_started(request.kind)
        response = await self._stats(request, call_next)
        error = response.error
        if error is not None:
            if isinstance(error, RateLimitedError):
                limiter = "rate_limit"
            elif isinstance(error, ConcurrencyLimitedError):
                limiter = "concurrency_limit"
            else:
                return response
            metrics.record_refusal(request.kind, request.target, request.action, limiter)
        return response
