"""Fallback: answer a failed call from somewhere else.

When the response is an error whose category is in ``on``, the call is answered by exactly one
of:

- ``target=``: another entry, called with the same arguments (``request.with_target``). The
  re-aimed request goes through ``call_next``: the stages *after* this one (retry, circuit
  breaker, validation...) apply to it as to any call; the stages before this one do not run
  again.
- ``handler=``: a function or ``async`` function ``(request, error) -> value``. A synchronous
  handler runs on the event loop: keep it quick. A returned
  :class:`~toolware.streams.ResponseStream` answers as a stream.
- ``value=``: a static value (``None`` included).

The response then carries ``markers.FALLBACK`` = ``FallbackServed(source, category)``: the
target's name, the handler's name or ``"static value"``, and the category replaced. If the
fallback fails too (the target answers an error, the handler raises), the *original* error is
the answer, and the fallback's failure is logged: the caller learns what went wrong with what
it asked for, not with a substitute it never named.

``on`` has no default: which failures may be papered over is a decision to make explicitly
(a fallback on ``invalid_request`` would hide the caller's bug).

Streams: only an error *response* is rescued. A stream that fails after its first chunk has
already delivered chunks; it ends with its error, and no fallback can take them back.

Place it outside retry and circuit breaker: it acts once retries have given up, and also on
``circuit_open``.

Events: ``fallback.served`` (info) with the target, the source and the category;
``fallback.failed`` (warning) when the fallback failed and the original error was returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from toolware._callables import check_arity, display_name, is_async_callable
from toolware.context import RequestContext, ResponseContext
from toolware.errors import ErrorCategory, ToolwareError
from toolware.markers import FALLBACK, FallbackServed
from toolware.streams import ResponseStream
from toolware.types import CallNext

__all__ = ["FallbackInterceptor"]

logger = logging.getLogger("toolware.interceptors.fallback")

_UNSET: Any = object()


class FallbackInterceptor:
    """Answers errors of the chosen categories from another target, a handler or a value."""

    __slots__ = ("_async", "_served", "handler", "name", "on", "source", "target", "value")

    def __init__(
        self,
        *,
        on: Iterable[ErrorCategory | str],
        target: str | None = None,
        handler: Callable[[RequestContext, ToolwareError], Any] | None = None,
        value: Any = _UNSET,
    ) -> None:
        if isinstance(on, str) or not isinstance(on, Iterable):
            raise TypeError(
                f"on must be a set of error categories, got {on!r}; e.g. "
                "on={ErrorCategory.UNAVAILABLE, ErrorCategory.CIRCUIT_OPEN}"
            )
        categories = set()
        for category in on:
            try:
                categories.add(ErrorCategory(category))
            except ValueError:
                raise ValueError(
                    f"on: {category!r} is not an error category; use one of "
                    f"{', '.join(c.value for c in ErrorCategory)}"
                ) from None
        if not categories:
            raise ValueError(
                "on must name at least one error category: which failures a fallback may hide "
                "is a choice to make explicitly"
            )
        given = (target is not None) + (handler is not None) + (value is not _UNSET)
        if given != 1:
            raise ValueError(
                "FallbackInterceptor takes exactly one of target= (another entry), handler= "
                f"(a function (request, error) -> value) and value= (a static value); got {given}"
            )
        if target is not None and (not isinstance(target, str) or not target):
            raise ValueError(f"target must be a non-empty entry name, got {target!r}")
        if handler is not None:
            check_arity(handler, 2, "FallbackInterceptor(handler=...)", "def h(request, error)")
        self.on = frozenset(categories)
        self.target = target
        self.handler = handler
        self.value = None if value is _UNSET else value
        self.name = "fallback"
        if target is not None:
            self.source = target
        elif handler is not None:
            self.source = display_name(handler)
        else:
            self.source = "static value"
        self._async = handler is not None and is_async_callable(handler)
        # One marker per category, made now: serving a fallback allocates no marker.
        self._served = {c: FallbackServed(self.source, c) for c in self.on}

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        error = response.error
        if error is None or error.category not in self.on:
            return response
        if self.target is not None:
            answer = await call_next(request.with_target(self.target))
            if answer.error is not None:
                self._failed(request, error, answer.error.category.value, None)
                return response
        elif self.handler is not None:
            try:
                value = self.handler(request, error)
                if self._async:
                    value = await value
            except Exception as exc:  # user code: its failure must not lose the call
                self._failed(request, error, type(exc).__name__, exc)
                return response
            answer = _answer(value, response)
        else:
            answer = _answer(self.value, response)
        served = self._served[error.category]
        name = request.qualified_name
        logger.info(
            "fallback.served target=%s source=%s category=%s request_id=%s",
            name,
            self.source,
            error.category.value,
            request.id,
            extra={
                "target": name,
                "source": self.source,
                "category": error.category.value,
                "request_id": request.id,
            },
        )
        return answer.with_extra(FALLBACK, served)

    def _failed(
        self,
        request: RequestContext,
        error: ToolwareError,
        problem: str,
        exc: Exception | None,
    ) -> None:
        name = request.qualified_name
        logger.warning(
            "fallback.failed target=%s source=%s category=%s problem=%s request_id=%s",
            name,
            self.source,
            error.category.value,
            problem,
            request.id,
            exc_info=exc,
            extra={
                "target": name,
                "source": self.source,
                "category": error.category.value,
                "problem": problem,
                "request_id": request.id,
            },
        )


def _answer(value: Any, failed: ResponseContext) -> ResponseContext:
    """A success with ``value`` (a stream for a ResponseStream), timed like the failure."""
    if isinstance(value, ResponseStream):
        return ResponseContext(
            stream=value,
            started_at=failed.started_at,
            finished_at=failed.finished_at,
            attempts=failed.attempts,
        )
    return ResponseContext(
        value=value,
        started_at=failed.started_at,
        finished_at=failed.finished_at,
        attempts=failed.attempts,
    )
