"""Helpers of :mod:`toolware.interceptors.tracing`: the lazily imported OpenTelemetry API,
attribute cleaning, the per-stage span wrapper and the attempt-events stage."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from toolware.context import RequestContext, ResponseContext
from toolware.markers import ATTEMPT, CACHE_HIT, FALLBACK, FAULT, HEDGE, HEDGES, WAITED
from toolware.state.base import BreakerChange
from toolware.types import CallNext, ClockUser, Closable, Interceptor

if TYPE_CHECKING:
    from toolware.clock import Clock
    from toolware.interceptors.tracing import TracingInterceptor

MAX_TEXT = 256
"""Longest text an attribute converted from a non-primitive value keeps."""

_PRIMITIVES = (str, bool, int, float)


class OtelApi:
    """The parts of ``opentelemetry-api`` tracing uses, imported once, on first use."""

    __slots__ = (
        "NoOpTracerProvider",
        "ProxyTracerProvider",
        "SpanKind",
        "Status",
        "StatusCode",
        "attach",
        "detach",
        "get_current_span",
        "set_span_in_context",
        "trace",
    )

    def __init__(self) -> None:
        from opentelemetry import context, trace

        self.trace: Any = trace
        self.NoOpTracerProvider: Any = trace.NoOpTracerProvider
        self.ProxyTracerProvider: Any = trace.ProxyTracerProvider
        self.SpanKind: Any = trace.SpanKind
        self.Status: Any = trace.Status
        self.StatusCode: Any = trace.StatusCode
        self.attach: Any = context.attach
        self.detach: Any = context.detach
        self.get_current_span: Any = trace.get_current_span
        self.set_span_in_context: Any = trace.set_span_in_context

    def get_tracer_provider(self) -> Any:
        # Looked up on the module each time: tests replace it there (and restore it).
        return self.trace.get_tracer_provider()


def load_api() -> OtelApi:
    """The OpenTelemetry API, or an ``ImportError`` that says how to install it."""
    try:
        return OtelApi()
    except ImportError as exc:  # pragma: no cover - opentelemetry-api is a dev dependency here
        raise ImportError(
            "TracingInterceptor needs opentelemetry-api: pip install 'toolware[otel]'"
        ) from exc


def _primitive_sequence(value: object) -> tuple[Any, ...] | None:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or not value:
        return None
    first = type(value[0])
    if first not in _PRIMITIVES or any(type(item) is not first for item in value):
        return None
    return tuple(value)


def clean_attributes(attributes: Mapping[Any, object] | None) -> dict[str, Any]:
    """``attributes`` as OpenTelemetry takes them: primitives and homogeneous sequences of
    them kept, ``None`` and non-text keys dropped, anything else converted to its text (at most
    ``MAX_TEXT`` characters; dropped if even that fails)."""
    cleaned: dict[str, Any] = {}
    if not isinstance(attributes, Mapping):
        return cleaned
    for key, value in attributes.items():
        if not isinstance(key, str) or not key or value is None:
            continue
        if isinstance(value, _PRIMITIVES):
            cleaned[key] = value
            continue
        sequence = _primitive_sequence(value)
        if sequence is not None:
            cleaned[key] = sequence
            continue
        try:
            cleaned[key] = str(value)[:MAX_TEXT]
        except Exception:  # a value whose str() fails is dropped, as documented
            continue
    return cleaned


def outcome_attributes(response: ResponseContext) -> dict[str, Any]:
    """The ``toolware.*`` attributes of a finished call, read from its markers."""
    attributes: dict[str, Any] = {
        "toolware.attempts": response.attempts,
        "toolware.cache_hit": response.get(CACHE_HIT) is True,
    }
    if response.extras:  # most calls carry no marker: skip the lookups
        fallback = response.get(FALLBACK)
        if fallback is not None:
            attributes["toolware.fallback.source"] = fallback.source
            attributes["toolware.fallback.category"] = fallback.category.value
        hedges = response.get(HEDGES)
        if hedges:
            attributes["toolware.hedges"] = hedges
        fault = response.get(FAULT)
        if fault is not None:
            attributes["toolware.fault"] = fault
        waited = response.get(WAITED)
        if waited:
            attributes["toolware.waited"] = waited
    return attributes


class BreakerEvents:
    """``on_state_change`` callback: a ``toolware.breaker`` event on the current span."""

    __slots__ = ("_api",)

    def __init__(self, api: OtelApi) -> None:
        self._api = api

    def __call__(self, change: BreakerChange) -> None:
        span = self._api.get_current_span()
        if span.is_recording():
            span.add_event(
                "toolware.breaker",
                {
                    "toolware.breaker.key": change.key,
                    "toolware.breaker.previous": change.previous.value,
                    "toolware.breaker.current": change.current.value,
                    "toolware.breaker.reason": change.reason,
                },
            )
            span.set_attribute("toolware.breaker.state", change.current.value)


class AttemptEvents:
    """Adds ``toolware.retry`` / ``toolware.hedge`` events to the call's span per attempt."""

    __slots__ = ("name",)

    def __init__(self) -> None:
        self.name = "tracing.attempts"

    def __call__(self, request: RequestContext, call_next: CallNext) -> Awaitable[ResponseContext]:
        from toolware.interceptors.tracing import SPAN, record_event

        if request.get(SPAN) is not None:
            attempt = request.get(ATTEMPT) or 1
            hedge = request.get(HEDGE) or 0
            if attempt > 1:
                record_event(request, "toolware.retry", {"toolware.attempt": attempt})
            if hedge > 0:
                record_event(request, "toolware.hedge", {"toolware.hedge": hedge})
        return call_next(request)


class StageSpan:
    """An interceptor run inside a child span of the call's span (``per_stage_spans``)."""

    __slots__ = ("_inner", "_owner", "name")

    def __init__(
        self, owner: TracingInterceptor, inner: Interceptor, name: str | None = None
    ) -> None:
        self._owner = owner
        self._inner = inner
        stage = name or getattr(inner, "name", None) or getattr(inner, "__name__", None)
        self.name: str = stage if isinstance(stage, str) else type(inner).__name__

    def bind_clock(self, clock: Clock) -> None:
        if isinstance(self._inner, ClockUser):
            self._inner.bind_clock(clock)

    async def aclose(self) -> None:
        if isinstance(self._inner, Closable):
            await self._inner.aclose()

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        owner = self._owner
        tracer = owner._tracer
        if tracer is None:
            return await self._inner(request, call_next)
        api = owner._api
        span = tracer.start_span(
            f"toolware.stage {self.name}",
            kind=api.SpanKind.INTERNAL,
            attributes={"toolware.stage": self.name},
        )
        token = api.attach(api.set_span_in_context(span))
        try:
            return await self._inner(request, call_next)
        finally:
            api.detach(token)
            try:
                span.end()
            except Exception as exc:  # a span processor's fault: the call's answer stands
                owner._warn_once("tracing.span_failed", exc, request)
