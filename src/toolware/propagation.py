"""W3C trace context in and out of a pipeline: HTTP headers and MCP ``params._meta``.

A call that arrives from another process carries its caller's trace context (the W3C
``traceparent`` and ``tracestate`` headers, https://www.w3.org/TR/trace-context/). Extract it
into ``RequestContext.trace`` and the :class:`~toolware.interceptors.tracing.TracingInterceptor`
makes it the parent of the call's span::

    trace = extract_http_headers(request.headers)        # TraceContext or None
    response = await pipeline.invoke("search", args, trace=trace)

A tool that calls out passes the current context on::

    headers = inject_http_headers({"accept": "application/json"})
    params = inject_mcp_meta({"name": "search", "arguments": {...}})

MCP carries it in ``params._meta`` under the same two keys (the MCP semantic conventions of
OpenTelemetry). Extraction needs nothing but this module: a malformed ``traceparent`` (wrong
length, not hex, an all-zero id, version ``ff``) is ignored, as the W3C spec asks, rather than
failing the call. Injection reads the current OpenTelemetry context when ``opentelemetry-api``
is installed (``toolware[otel]``), imported on first use; when no span is current it forwards
the context of ``request=`` unchanged, so a process without an SDK still passes its callers'
trace on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from toolware.context import RequestContext, TraceContext

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "TRACEPARENT",
    "TRACESTATE",
    "current_trace",
    "extract_http_headers",
    "extract_mcp_meta",
    "inject_http_headers",
    "inject_mcp_meta",
    "parent_context",
]

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"

# version-traceid-parentid-flags; version ff is forbidden, and so are all-zero ids (checked
# apart). Lower-case hex only, as the spec requires of senders.
_TRACEPARENT = re.compile(r"(?!ff)[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
_MAX_TRACESTATE = 512  # the spec's limit a receiver must at least accept; longer is dropped


@functools.cache
def _propagator() -> TraceContextTextMapPropagator:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


def _valid(traceparent: object) -> bool:
    if not isinstance(traceparent, str):
        return False
    match = _TRACEPARENT.fullmatch(traceparent.strip())
    return match is not None and set(match[1]) != {"0"} and set(match[2]) != {"0"}


def _trace_from(traceparent: object, tracestate: object) -> TraceContext | None:
    if not _valid(traceparent):
        return None
    state = tracestate.strip() if isinstance(tracestate, str) else ""
    return TraceContext(
        traceparent=str(traceparent).strip(),
        tracestate=state if len(state) <= _MAX_TRACESTATE else "",
    )


def extract_http_headers(headers: Mapping[str, Any]) -> TraceContext | None:
    """The trace context in HTTP ``headers`` (names in any case), or ``None`` if it has none
    or a malformed one."""
    traceparent = tracestate = None
    for name, value in headers.items():
        lowered = name.lower() if isinstance(name, str) else name
        if lowered == TRACEPARENT:
            traceparent = value
        elif lowered == TRACESTATE:
            tracestate = value
    return _trace_from(traceparent, tracestate)


def extract_mcp_meta(params: Mapping[str, Any] | None) -> TraceContext | None:
    """The trace context in an MCP request's ``params._meta``, or ``None``."""
    meta = params.get("_meta") if isinstance(params, Mapping) else None
    if not isinstance(meta, Mapping):
        return None
    return _trace_from(meta.get(TRACEPARENT), meta.get(TRACESTATE))


def current_trace(request: RequestContext | None = None) -> TraceContext | None:
    """The trace context to send on: the current OpenTelemetry span's when one is valid, else
    ``request.trace`` (the caller's, passed through), else ``None``."""
    carrier: dict[str, str] = {}
    try:
        propagator = _propagator()
    except ImportError:  # pragma: no cover - opentelemetry-api is a dev dependency here
        pass
    else:
        propagator.inject(carrier)
    found = _trace_from(carrier.get(TRACEPARENT), carrier.get(TRACESTATE))
    if found is None and request is not None:
        return request.trace
    return found


def inject_http_headers(
    headers: MutableMapping[str, str] | None = None, *, request: RequestContext | None = None
) -> MutableMapping[str, str]:
    """``headers`` (a new dict when ``None``) with ``traceparent``/``tracestate`` set to
    :func:`current_trace`; unchanged when there is none."""
    if headers is None:
        headers = {}
    found = current_trace(request)
    if found is not None:
        headers[TRACEPARENT] = found.traceparent
        if found.tracestate:
            headers[TRACESTATE] = found.tracestate
    return headers


def inject_mcp_meta(
    params: Mapping[str, Any] | None = None, *, request: RequestContext | None = None
) -> dict[str, Any]:
    """A copy of MCP request ``params`` whose ``_meta`` carries :func:`current_trace` (other
    ``_meta`` keys are kept; ``params`` itself is not changed)."""
    copy = dict(params or {})
    found = current_trace(request)
    if found is None:
        return copy
    existing = copy.get("_meta")
    meta = dict(existing) if isinstance(existing, Mapping) else {}
    meta[TRACEPARENT] = found.traceparent
    if found.tracestate:
        meta[TRACESTATE] = found.tracestate
    copy["_meta"] = meta
    return copy


def parent_context(trace: TraceContext | None) -> Context | None:
    """The current OpenTelemetry context with the remote parent ``trace`` names as its span, or
    ``None`` (then the current context is the parent). Needs ``opentelemetry-api``."""
    if trace is None or not _valid(trace.traceparent):
        return None
    carrier = {TRACEPARENT: trace.traceparent.strip()}
    if trace.tracestate:
        carrier[TRACESTATE] = trace.tracestate
    # Extracted over the current context, not an empty one: the remote span becomes the parent
    # and the caller's other context values (baggage) stay visible to the call.
    from opentelemetry import context as otel_context

    return _propagator().extract(carrier, context=otel_context.get_current())
