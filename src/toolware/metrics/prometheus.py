"""Prometheus text exposition (format 0.0.4) of a :class:`CallMetrics`, and a loopback endpoint.

:func:`prometheus_text` renders a snapshot; it needs no ``prometheus_client`` (the official
parser reads it: the tests check with ``prometheus_client.parser``). Families, all labelled by
``kind``, ``target`` and ``action`` (empty for a whole target) unless said otherwise:

    toolware_calls_total                  counter    calls ended (a stream when it ended)
    toolware_call_errors_total            counter    ... and ``category`` (error category)
    toolware_call_duration_seconds        histogram  call duration, _bucket/_sum/_count
    toolware_calls_in_flight              gauge      calls started, not ended; ``kind`` only
    toolware_streams_total                counter    ... and ``outcome``
    toolware_first_chunk_seconds          summary    time to first chunk, _sum/_count
    toolware_retries_total                counter    attempts beyond the first
    toolware_cache_hits_total             counter    calls answered by the cache
    toolware_fallbacks_total              counter    calls answered by a fallback
    toolware_hedges_total                 counter    hedged attempts started
    toolware_limiter_refusals_total       counter    ... and ``limiter`` (rate_limit, ...)
    toolware_breaker_state                gauge      ``key``; 0 closed, 1 half_open, 2 open,
                                                     3 isolated

The ``toolware_`` names follow Prometheus conventions (unit suffix, ``_total``); the
OpenTelemetry GenAI ``gen_ai.client.operation.duration`` describes model requests, not tool
calls, so it is not reused. Targets are bounded by the recorder (``(other)``, ``(unknown)``).

:func:`serve_metrics` serves ``GET /metrics`` on a loopback address (``async with``), reading
the exposition at each request; a non-loopback host is refused unless ``allow_remote=True``.
Events: ``metrics.exposition_failed`` (error, logged once) when the exposition raised: the
request gets a 500, the server goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import msgspec

from toolware.metrics._aggregate import BREAKER_STATE_VALUES, CallMetrics, MetricsSnapshot
from toolware.stats import TargetStats

if TYPE_CHECKING:
    from toolware.alerts import AlertRules

__all__ = ["CONTENT_TYPE", "MetricsServer", "prometheus_text", "serve_metrics"]

logger = logging.getLogger("toolware.metrics.prometheus")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_MAX_REQUEST = 8192


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if isinstance(value, float) else str(value)


def _family(out: list[str], name: str, kind: str, help_text: str) -> None:
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} {kind}")


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def prometheus_text(
    metrics: CallMetrics | MetricsSnapshot, *, alerts: AlertRules | None = None
) -> str:
    """The exposition of ``metrics`` (read now) in the Prometheus text format 0.0.4; with
    ``alerts``, also ``toolware_alerts_firing``: 1 for each rule firing now, 0 for the others."""
    snap = metrics.snapshot() if isinstance(metrics, CallMetrics) else metrics
    targets = [
        (t, (("kind", t.key.kind.value), ("target", t.key.target), ("action", t.key.action or "")))
        for t in snap.stats.targets
    ]
    out: list[str] = []

    def counter(name: str, help_text: str, read: Callable[[TargetStats], int]) -> None:
        _family(out, name, "counter", help_text)
        out.extend(f"{name}{_labels(labels)} {read(t)}" for t, labels in targets)

    counter("toolware_calls_total", "Calls ended, by target.", lambda t: t.calls)
    _family(out, "toolware_call_errors_total", "counter", "Failed calls, by error category.")
    for t, labels in targets:
        for category, count in sorted(t.errors.items()):
            out.append(
                f"toolware_call_errors_total{_labels((*labels, ('category', category.value)))} "
                f"{count}"
            )
    name = "toolware_call_duration_seconds"
    _family(out, name, "histogram", "Call duration in seconds, on the pipeline clock.")
    for t, labels in targets:
        seen = 0
        bounds = [*t.bucket_bounds, math.inf]
        for bound, count in zip(bounds, t.bucket_counts, strict=True):
            seen += count
            le = _labels((*labels, ("le", _number(bound))))
            out.append(f"{name}_bucket{le} {seen}")
        out.append(f"{name}_sum{_labels(labels)} {_number(t.total_seconds)}")
        out.append(f"{name}_count{_labels(labels)} {t.calls}")
    _family(out, "toolware_calls_in_flight", "gauge", "Calls started and not yet ended.")
    out.extend(
        f'toolware_calls_in_flight{{kind="{kind.value}"}} {count}'
        for kind, count in snap.in_flight.items()
    )
    _family(out, "toolware_streams_total", "counter", "Streamed calls ended, by outcome.")
    for t, labels in targets:
        for outcome, count in (
            ("completed", t.streams_completed),
            ("failed", t.streams_failed),
            ("abandoned", t.streams_abandoned),
        ):
            if t.streams:
                out.append(
                    f"toolware_streams_total{_labels((*labels, ('outcome', outcome)))} {count}"
                )
    name = "toolware_first_chunk_seconds"
    _family(out, name, "summary", "Time to the first chunk of streamed calls, in seconds.")
    for t, labels in targets:
        if t.streams:
            out.append(f"{name}_sum{_labels(labels)} {_number(t.first_chunk_total_seconds)}")
            out.append(f"{name}_count{_labels(labels)} {t.streams}")
    counter("toolware_retries_total", "Attempts beyond the first.", lambda t: t.retries)
    counter("toolware_cache_hits_total", "Calls answered by the cache.", lambda t: t.cache_hits)
    counter("toolware_fallbacks_total", "Calls answered by a fallback.", lambda t: t.fallbacks)
    counter("toolware_hedges_total", "Hedged attempts started.", lambda t: t.hedges)
    name = "toolware_limiter_refusals_total"
    _family(out, name, "counter", "Calls refused by a rate or concurrency limiter.")
    for key, count in snap.refusals.items():
        refusal = (
            ("kind", key.kind.value),
            ("target", key.target),
            ("action", key.action or ""),
            ("limiter", key.limiter),
        )
        out.append(f"{name}{_labels(refusal)} {count}")
    name = "toolware_breaker_state"
    _family(out, name, "gauge", "Circuit breaker state: 0 closed, 1 half_open, 2 open, 3 isolated.")
    for breaker, state in snap.breakers.items():
        out.append(f"{name}{_labels((('key', breaker),))} {BREAKER_STATE_VALUES[state]}")
    if alerts is not None:
        name = "toolware_alerts_firing"
        _family(out, name, "gauge", "Alert rules firing now (1) or not (0).")
        firing = set(alerts.firing())
        out.extend(
            f"{name}{_labels((('rule', rule.name),))} {int(rule.name in firing)}"
            for rule in alerts.rules
        )
    out.append("")
    return "\n".join(out)


class MetricsServer(msgspec.Struct, frozen=True):
    """Where :func:`serve_metrics` listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@asynccontextmanager
async def serve_metrics(
    exposition: Callable[[], str] | CallMetrics,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
) -> AsyncIterator[MetricsServer]:
    """Serve ``GET /metrics`` (the text of ``exposition()``, or of a CallMetrics) until exit.

    ``port=0`` picks a free port (read it from the yielded server). Other paths get 404, other
    methods 405. Exposing metrics beyond the machine is a choice: ``allow_remote=True``.
    """
    if isinstance(exposition, CallMetrics):
        aggregate = exposition
        exposition = lambda: prometheus_text(aggregate)  # noqa: E731
    elif not callable(exposition):
        raise TypeError(
            f"exposition must be a CallMetrics or a function returning the text, got {exposition!r}"
        )
    if not isinstance(host, str) or not (allow_remote or _is_loopback(host)):
        raise ValueError(
            f"host={host!r} is not a loopback address; metrics name your tools: serve them on "
            f"127.0.0.1 (and scrape through a proxy), or pass allow_remote=True"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer in 0..65535 (0: any free port), got {port!r}")
    render = exposition
    failed = [False]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            status, body, ctype = _respond(head, render, failed)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n".encode("ascii")
            + body
        )
        with contextlib.suppress(ConnectionError):  # the client went away mid-answer
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, host, port, limit=_MAX_REQUEST)
    try:
        bound = server.sockets[0].getsockname()
        yield MetricsServer(host=str(bound[0]), port=int(bound[1]))
    finally:
        server.close()
        await server.wait_closed()


def _respond(head: bytes, render: Callable[[], str], failed: list[bool]) -> tuple[str, bytes, str]:
    request_line = head.split(b"\r\n", 1)[0].split()
    plain = "text/plain; charset=utf-8"
    if len(request_line) != 3:
        return "400 Bad Request", b"bad request\n", plain
    method, target = request_line[0], request_line[1].split(b"?", 1)[0]
    if target != b"/metrics":
        return "404 Not Found", b"not found: try /metrics\n", plain
    if method != b"GET":
        return "405 Method Not Allowed", b"use GET\n", plain
    try:
        text = render()
    except Exception as exc:
        if not failed[0]:
            failed[0] = True
            logger.exception(
                "metrics.exposition_failed error=%s",
                type(exc).__name__,
                extra={"error": type(exc).__name__},
            )
        return "500 Internal Server Error", b"metrics exposition failed\n", plain
    return "200 OK", text.encode("utf-8"), CONTENT_TYPE
