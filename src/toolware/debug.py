"""Debug mode: a log line as each stage is entered and left, with redacted dumps and times.

Switched on per pipeline, most specific first:

1. ``builder.build(debug=...)``,
2. ``PipelineBuilder(debug=...)``,
3. the environment variable ``TOOLWARE_DEBUG`` (read at ``build()``): ``1``/``true``/``yes``/
   ``on`` switch it on with the default :class:`DebugOptions`; ``0``/``false``/``no``/``off``
   or empty leave it off; anything else is refused at ``build()``.

``debug=`` takes a :class:`DebugOptions`, ``True`` (the defaults) or ``False`` (off, whatever
the environment says); ``None`` defers to the next level.

When on, ``build()`` wraps each stage's interceptor in a :class:`DebugStage` (same stage name,
same ``when=`` condition), which logs, on logger ``toolware.debug``:

- ``debug.enter pipeline=... stage=... request_id=... request=<dump>``
- ``debug.exit pipeline=... stage=... request_id=... self_ms=... total_ms=... response=<dump>``
  (``self_ms``: time in the stage minus time in its ``call_next``; ``total_ms``: all of it),
- ``debug.raised ...`` instead of ``debug.exit`` when the stage raised (cancellation too),

with the same fields in ``extra`` (dumps as dicts). Dumps are JSON, built by a
:class:`~toolware.redaction.Redactor`: secret keys and values hidden, sizes bounded. A streamed
response is dumped as ``{"stream": true}``; its chunks are not read. Times come from the
pipeline's clock. When off, ``build()`` links exactly the interceptors it was given: the built
chain has no debug code at all.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from toolware.builder import Stage
from toolware.clock import Clock
from toolware.context import RequestContext, ResponseContext
from toolware.profiler import Span
from toolware.redaction import DEFAULT_SECRET_KEYS, SECRET_VALUE_PATTERNS, Redactor
from toolware.types import CallNext, Interceptor

__all__ = ["ENV_VAR", "DebugOptions", "DebugStage", "debug_options", "debug_stages"]

logger = logging.getLogger("toolware.debug")

ENV_VAR = "TOOLWARE_DEBUG"
_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"", "0", "false", "no", "off"})
_encode = msgspec.json.Encoder().encode


class DebugOptions:
    """What debug mode hides and at which log level it writes.

    ``keys``/``patterns``/``max_chars``/``max_items``/``max_depth`` are the
    :class:`~toolware.redaction.Redactor` options (``patterns`` defaults to the common secret
    shapes); ``level`` is the logging level of the lines (default ``DEBUG``).
    """

    __slots__ = ("level", "redactor")

    def __init__(
        self,
        *,
        keys: Iterable[str] = DEFAULT_SECRET_KEYS,
        patterns: Iterable[str | re.Pattern[str]] = SECRET_VALUE_PATTERNS,
        max_chars: int = 1000,
        max_items: int = 100,
        max_depth: int = 8,
        level: int = logging.DEBUG,
    ) -> None:
        if isinstance(level, bool) or not isinstance(level, int) or level < 0:
            raise TypeError(f"level= takes a logging level such as logging.DEBUG, got {level!r}")
        self.level = level
        self.redactor = Redactor(
            keys=keys,
            patterns=patterns,
            max_chars=max_chars,
            max_items=max_items,
            max_depth=max_depth,
        )


def debug_options(
    debug: DebugOptions | bool | None, environ: Mapping[str, str] | None = None
) -> DebugOptions | None:
    """The options in force for ``debug=`` (``None``: read ``TOOLWARE_DEBUG``), or ``None``."""
    if isinstance(debug, DebugOptions):
        return debug
    if debug is True:
        return DebugOptions()
    if debug is False:
        return None
    if debug is not None:
        raise TypeError(
            f"debug= takes a DebugOptions, True, False or None (read {ENV_VAR}), got {debug!r}"
        )
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip().lower()
    if value in _ON:
        return DebugOptions()
    if value in _OFF:
        return None
    raise ValueError(
        f"{ENV_VAR}={value!r} is not understood; set it to 1 (debug mode on) or 0 (off)"
    )


def debug_stages(
    stages: list[Stage], options: DebugOptions | None, *, clock: Clock, pipeline: str
) -> list[Stage]:
    """``stages`` with each interceptor wrapped in a :class:`DebugStage`, or ``stages`` itself
    (the same list) when ``options`` is ``None``."""
    if options is None:
        return stages
    return [
        Stage(s.name, DebugStage(s.name, s.interceptor, options, clock, pipeline), s.condition)
        for s in stages
    ]


class DebugStage:
    """One stage's interceptor, with its entry and exit logged."""

    __slots__ = ("_clock", "_fields", "_interceptor", "_options", "name")

    def __init__(
        self,
        name: str,
        interceptor: Interceptor,
        options: DebugOptions,
        clock: Clock,
        pipeline: str,
    ) -> None:
        self.name = name
        self._interceptor = interceptor
        self._options = options
        self._clock = clock
        self._fields = {"pipeline": pipeline, "stage": name}

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        options = self._options
        on = logger.isEnabledFor(options.level)
        if on:
            dump = self._request(request)
            logger.log(
                options.level,
                "debug.enter pipeline=%s stage=%s request_id=%s request=%s",
                self._fields["pipeline"],
                self.name,
                request.id,
                _Json(dump),
                extra={**self._fields, "request_id": request.id, "request": dump},
            )
        clock = self._clock
        span = Span(clock, call_next)
        start = clock.monotonic()
        try:
            response = await self._interceptor(request, span.call_next)
        except BaseException as exc:  # logged and re-raised unchanged, cancellation included
            if on:
                self._raised(request, exc, clock.monotonic() - start, span.inside)
            raise
        if on:
            total = clock.monotonic() - start
            self_ms = (total - span.inside) * 1000.0
            dump = self._response(response)
            logger.log(
                options.level,
                "debug.exit pipeline=%s stage=%s request_id=%s self_ms=%.3f total_ms=%.3f "
                "response=%s",
                self._fields["pipeline"],
                self.name,
                request.id,
                self_ms,
                total * 1000.0,
                _Json(dump),
                extra={
                    **self._fields,
                    "request_id": request.id,
                    "self_ms": self_ms,
                    "total_ms": total * 1000.0,
                    "response": dump,
                },
            )
        return response

    def _raised(
        self, request: RequestContext, exc: BaseException, total: float, inside: float
    ) -> None:
        error = type(exc).__name__
        self_ms = (total - inside) * 1000.0
        logger.log(
            self._options.level,
            "debug.raised pipeline=%s stage=%s request_id=%s self_ms=%.3f total_ms=%.3f error=%s",
            self._fields["pipeline"],
            self.name,
            request.id,
            self_ms,
            total * 1000.0,
            error,
            extra={
                **self._fields,
                "request_id": request.id,
                "self_ms": self_ms,
                "total_ms": total * 1000.0,
                "error": error,
            },
        )

    def _request(self, request: RequestContext) -> dict[str, Any]:
        redact = self._options.redactor
        return {
            "target": request.qualified_name,
            "kind": request.kind.value,
            "arguments": redact(request.arguments),
            "principal": None if request.principal is None else redact(request.principal.id),
            "deadline": request.deadline,
        }

    def _response(self, response: object) -> dict[str, Any]:
        redact = self._options.redactor
        if not isinstance(response, ResponseContext):
            return {"not_a_response": redact(response)}
        if response.stream is not None:
            return {"ok": True, "stream": True}
        error = response.error
        if error is None:
            return {"ok": True, "value": redact(response.value), "attempts": response.attempts}
        return {
            "ok": False,
            "error": {"category": error.category.value, "message": redact(str(error))},
            "attempts": response.attempts,
        }


class _Json:
    """Encodes a dump only if a handler formats the record (a filter may drop it first)."""

    __slots__ = ("_dump",)

    def __init__(self, dump: dict[str, Any]) -> None:
        self._dump = dump

    def __str__(self) -> str:
        return _encode(self._dump).decode()
