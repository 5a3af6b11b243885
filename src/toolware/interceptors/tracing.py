"""OpenTelemetry spans for calls, following the GenAI semantic conventions.

One span per call, kind ``INTERNAL``, named and dressed as the OpenTelemetry GenAI conventions
say (open-telemetry/semantic-conventions-genai, ``docs/gen-ai/execute-tool.md`` and
``docs/gen-ai/retrieval.md``, status Development):

- tools and plugin actions: ``execute_tool {gen_ai.tool.name}`` with ``gen_ai.operation.name``
  = ``execute_tool``, ``gen_ai.tool.name`` (``target`` or ``target.action``),
  ``gen_ai.tool.call.id`` (the request id) and ``gen_ai.tool.type`` (``function`` for a tool,
  ``extension`` for a plugin action);
- RAG retrievers: ``retrieval`` with ``gen_ai.operation.name`` = ``retrieval`` and
  ``gen_ai.data_source.id`` (the target);
- toolware's own under ``toolware.*``: ``kind``, ``action``, ``request_id``, ``attempts``,
  ``cache_hit``, ``hedges``, ``fallback.source``/``fallback.category``, ``fault``, ``waited``,
  ``breaker.state``, and for streams ``stream.outcome``/``stream.chunks``;
- a failure sets the status ``ERROR`` (``category: message``), ``error.type`` (the error's
  category) and an ``exception`` event (the error's type and message, no traceback).

Options: ``tracer_provider`` (default: the global one, ``opentelemetry.trace``), ``attributes``
(a hook ``(request, response) -> mapping`` adding attributes of your own; values that are not
OpenTelemetry primitives are converted to text, ``None`` dropped), ``per_stage_spans`` (see
:meth:`TracingInterceptor.stage`) and ``name``.

Only ``opentelemetry-api`` is used (``toolware[otel]``); the SDK, its samplers and exporters
stay the application's choice, configured the standard way (``TracerProvider(sampler=...)``,
``OTEL_TRACES_SAMPLER``, ``OTEL_EXPORTER_OTLP_ENDPOINT``...). Without an SDK the API's no-op
provider is in place and the interceptor passes calls straight through: it looks for a global
provider on its first call and again every ``RECHECK_EVERY`` calls until one is set.

The span is the current OpenTelemetry span while the rest of the pipeline runs (the tool's own
spans are its children; :mod:`toolware.propagation` injects it into outgoing HTTP headers and
MCP ``params._meta``), and travels on the request under :data:`SPAN`: :func:`record_event`
lets inner code add events to it. An incoming W3C context in ``request.trace`` is the parent.

Retries and hedges: put :meth:`TracingInterceptor.attempt_events` inside the retry and hedging
stages for a ``toolware.retry`` / ``toolware.hedge`` event per extra attempt; breaker
transitions: ``CircuitBreakerInterceptor(on_state_change=tracing.breaker_events())`` adds a
``toolware.breaker`` event to the span of the call that caused the change.

Streams: the span ends when the stream ends (completed, failed or abandoned), not when the
first chunk arrives.

Where: outermost, or right inside the statistics stage, so the span covers every retry,
hedge, cache hit and fallback and the call's whole time.

Events: ``tracing.span_failed`` (warning, once per interceptor) when the SDK raised starting or
ending a span (the call goes on untraced); ``tracing.hook_failed`` (warning, once) when the
``attributes`` hook raised.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from toolware.context import Kind, RequestContext, ResponseContext
from toolware.errors import ErrorCategory, ToolwareError
from toolware.extras import ExtraKey
from toolware.interceptors._tracing_support import (
    AttemptEvents,
    BreakerEvents,
    StageSpan,
    clean_attributes,
    load_api,
    outcome_attributes,
)
from toolware.propagation import parent_context
from toolware.state.base import BreakerChange
from toolware.streams import StreamEnd
from toolware.types import CallNext, Interceptor

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

__all__ = ["RECHECK_EVERY", "SPAN", "TracingInterceptor", "record_event"]

logger = logging.getLogger("toolware.interceptors.tracing")

SPAN: ExtraKey[Span] = ExtraKey("otel_span", cast("type[Span]", object))
"""On a request inside a traced call whose span is recording: that span."""

RECHECK_EVERY = 256
"""Calls between two looks for a global tracer provider while none is set."""

_OPERATION = {Kind.TOOL: "execute_tool", Kind.PLUGIN: "execute_tool", Kind.RAG: "retrieval"}
_TOOL_TYPE = {Kind.TOOL: "function", Kind.PLUGIN: "extension"}


def record_event(
    request: RequestContext, name: str, attributes: Mapping[str, object] | None = None
) -> bool:
    """Add event ``name`` to the span of the traced call ``request`` belongs to; ``False`` when
    it has none (not traced, or not sampled). Never raises for the SDK's sake."""
    span = request.get(SPAN)
    if span is None:
        return False
    try:
        span.add_event(name, clean_attributes(attributes) if attributes else None)
    except Exception:  # an SDK processor's fault must not become the caller's
        logger.debug("tracing.event_failed event=%s", name, extra={"event": name})
        return False
    return True


class TracingInterceptor:
    """One OpenTelemetry span per call; see the module docstring."""

    __slots__ = (
        "_api",
        "_countdown",
        "_tracer",
        "_warned",
        "attributes",
        "name",
        "per_stage_spans",
        "tracer_provider",
    )

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        per_stage_spans: bool = False,
        attributes: Callable[[RequestContext, ResponseContext], Mapping[str, object]] | None = None,
        name: str = "tracing",
    ) -> None:
        """``tracer_provider`` defaults to the global one; ``attributes`` adds attributes of
        your own to every span; ``per_stage_spans`` turns :meth:`stage` wrappers on."""
        if not isinstance(per_stage_spans, bool):
            raise TypeError(f"per_stage_spans must be True or False, got {per_stage_spans!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string naming the stage, got {name!r}")
        if attributes is not None and not callable(attributes):
            raise TypeError(
                f"attributes takes a function (request, response) -> mapping, got {attributes!r}"
            )
        if tracer_provider is not None and not callable(
            getattr(tracer_provider, "get_tracer", None)
        ):
            raise TypeError(
                f"tracer_provider must be an OpenTelemetry TracerProvider (with get_tracer()), "
                f"got {tracer_provider!r}; leave it None for the global provider"
            )
        self._api = load_api()
        self.tracer_provider = tracer_provider
        self.per_stage_spans = per_stage_spans
        self.attributes = attributes
        self.name = name
        self._tracer: Tracer | None = None
        self._countdown = 0
        self._warned: set[str] = set()

    def _resolve(self) -> Tracer | None:
        """The tracer to use, or ``None`` while only the API's no-op provider is there."""
        api = self._api
        provider = self.tracer_provider
        if provider is None:
            provider = api.get_tracer_provider()
        if isinstance(provider, api.ProxyTracerProvider | api.NoOpTracerProvider):
            self._countdown = RECHECK_EVERY
            return None
        tracer = self._tracer = provider.get_tracer("toolware")
        return tracer

    def __call__(self, request: RequestContext, call_next: CallNext) -> Awaitable[ResponseContext]:
        tracer = self._tracer
        if tracer is None:
            # No SDK: hand back call_next's own awaitable, the cheapest pass-through there is.
            if self._countdown:
                self._countdown -= 1
                return call_next(request)
            tracer = self._resolve()
            if tracer is None:
                return call_next(request)
        return self._traced(tracer, request, call_next)

    async def _traced(
        self, tracer: Tracer, request: RequestContext, call_next: CallNext
    ) -> ResponseContext:
        api = self._api
        kind = request.kind
        try:
            if kind is Kind.RAG:
                span_name = "retrieval"
                start = {
                    "gen_ai.operation.name": "retrieval",
                    "gen_ai.data_source.id": request.target,
                    "toolware.request_id": request.id,
                }
            else:
                tool = request.qualified_name
                span_name = f"execute_tool {tool}"
                start = {
                    "gen_ai.operation.name": _OPERATION[kind],
                    "gen_ai.tool.name": tool,
                    "gen_ai.tool.call.id": request.id,
                    "gen_ai.tool.type": _TOOL_TYPE[kind],
                }
            start["toolware.kind"] = kind.value
            if request.action is not None:
                start["toolware.action"] = request.action
            parent = None if request.trace is None else parent_context(request.trace)
            span = tracer.start_span(
                span_name, context=parent, kind=api.SpanKind.INTERNAL, attributes=start
            )
            # Into the current context (which the remote parent was extracted over, so it
            # already holds the caller's baggage): our span replaces any parent span there.
            token = api.attach(api.set_span_in_context(span))
        except Exception as exc:
            self._warn_once("tracing.span_failed", exc, request)
            return await call_next(request)
        recording = span.is_recording()
        try:
            response = await call_next(request.with_extra(SPAN, span) if recording else request)
        except BaseException as exc:  # cancelled, or a stage crashed: end the span, let it go
            if recording:
                span.set_attributes({"error.type": type(exc).__name__})
                span.set_status(api.Status(api.StatusCode.ERROR, type(exc).__name__))
            self._end(span, request)
            raise
        finally:
            api.detach(token)
        if recording:
            self._record(span, request, response)
        stream = response.stream
        if stream is None:
            self._end(span, request)
            return response
        observed = stream.observe(
            on_end=lambda end: self._stream_ended(span, request, end, recording), name=self.name
        )
        return response if observed is stream else response.with_stream(observed)

    def _record(self, span: Span, request: RequestContext, response: ResponseContext) -> None:
        attributes = outcome_attributes(response)
        if self.attributes is not None:
            try:
                attributes.update(clean_attributes(self.attributes(request, response)))
            except Exception as exc:
                self._warn_once("tracing.hook_failed", exc, request)
        try:
            span.set_attributes(attributes)
            if response.error is not None:
                self._failed(span, response.error)
        except Exception as exc:
            self._warn_once("tracing.span_failed", exc, request)

    def _failed(self, span: Span, error: ToolwareError) -> None:
        api = self._api
        category = error.category.value
        attributes: dict[str, Any] = {"error.type": category}
        if error.category is ErrorCategory.CIRCUIT_OPEN:
            attributes["toolware.breaker.state"] = "open"
        span.set_attributes(attributes)
        span.add_event(
            "exception",
            {"exception.type": type(error).__name__, "exception.message": error.message},
        )
        span.set_status(api.Status(api.StatusCode.ERROR, f"{category}: {error.message}"))

    def _stream_ended(
        self, span: Span, request: RequestContext, end: StreamEnd, recording: bool
    ) -> None:
        if recording:
            try:
                span.set_attributes(
                    {
                        "toolware.stream.outcome": end.outcome.value,
                        "toolware.stream.chunks": end.chunks,
                    }
                )
                if end.error is not None:
                    self._failed(span, end.error)
            except Exception as exc:
                self._warn_once("tracing.span_failed", exc, request)
        self._end(span, request)

    def _end(self, span: Span, request: RequestContext) -> None:
        try:
            span.end()
        except Exception as exc:  # a span processor's fault: the call's answer stands
            self._warn_once("tracing.span_failed", exc, request)

    def _warn_once(self, event: str, exc: Exception, request: RequestContext) -> None:
        if event in self._warned:
            return
        self._warned.add(event)
        logger.warning(
            "%s target=%s error=%s: the call goes on; fix the tracer provider or hook "
            "(logged once)",
            event,
            request.qualified_name,
            type(exc).__name__,
            extra={"target": request.qualified_name, "error": type(exc).__name__},
        )

    def attempt_events(self) -> Interceptor:
        """An interceptor to place inside retry and hedging: each attempt after the first adds
        ``toolware.retry`` (``toolware.attempt``) and each hedge ``toolware.hedge``
        (``toolware.hedge``) to the call's span."""
        return AttemptEvents()

    def breaker_events(self) -> Callable[[BreakerChange], None]:
        """A callback for ``CircuitBreakerInterceptor(on_state_change=...)``: the change
        becomes a ``toolware.breaker`` event (key, previous, current, reason) and sets
        ``toolware.breaker.state`` on the current span (nothing when no span records)."""
        return BreakerEvents(self._api)

    def stage(self, interceptor: Interceptor, *, name: str | None = None) -> Interceptor:
        """``interceptor`` inside a child span ``toolware.stage {name}`` of the call's span
        when ``per_stage_spans`` is on; the interceptor itself (no cost) when it is off:
        ``builder.use(tracing.stage(RetryInterceptor()))``."""
        if not self.per_stage_spans:
            return interceptor
        return StageSpan(self, interceptor, name)
