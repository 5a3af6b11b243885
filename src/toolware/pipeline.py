"""The pipeline: interceptors folded once, at build time, around a terminal handler.

Build one with :class:`~toolware.builder.PipelineBuilder` (re-exported here). ``build()``
links each interceptor directly to the next one, so a call is a chain of plain awaits: no list
is walked, nothing is sorted, and no per-call state is shared, which is what makes one pipeline
safe for any number of concurrent calls.

When the pipeline routes to a registry, a call's entry is resolved once, as the call enters
(``request.entry`` gives interceptors its metadata). Failures are values: an error returned by
an interceptor is bound to the call (request id and target) at the boundary, as a raised one
is. Raising a :class:`~toolware.errors.ToolwareError` from an interceptor also works, but skips
the after-code of the interceptors outside it (statistics would not see it); return
``ResponseContext.failure(error)`` instead.

A pipeline owns its router (and so the worker pool of synchronous handlers) and a handler
given to ``route()`` unless it was routed with ``owned=False``; ``await pipeline.aclose()``, or
``async with pipeline:``, closes them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Coroutine, Mapping
from typing import Any

import msgspec

from toolware._attribution import Attribution, display_name
from toolware._links import link
from toolware.builder import PipelineBuilder, Stage
from toolware.clock import Clock
from toolware.context import (
    Kind,
    Principal,
    RequestContext,
    ResponseContext,
    TraceContext,
    checked_deadline,
    freeze_arguments,
)
from toolware.errors import InternalError, ToolwareError
from toolware.extras import EMPTY_EXTRAS, Extras
from toolware.ids import new_request_id
from toolware.router import Router
from toolware.types import CallNext, Closable, Handler

__all__ = ["Pipeline", "PipelineBuilder", "Stage"]

logger = logging.getLogger("toolware.pipeline")

_replace = msgspec.structs.replace


class Pipeline:
    """A built, immutable chain of interceptors around a terminal; itself a handler.

    ``await pipeline(request)`` always returns a response: failures are values. An exception that
    escapes an interceptor becomes an ``internal`` error naming it; a :class:`ToolwareError`
    raised by an interceptor keeps its own category. ``asyncio.CancelledError`` propagates.
    """

    __slots__ = (
        "_attribution",
        "_clock",
        "_closed",
        "_entry",
        "_lookup",
        "_owns_terminal",
        "_resolve_at_entry",
        "_router",
        "name",
        "stages",
        "terminal",
    )

    def __init__(
        self,
        *,
        stages: tuple[Stage, ...],
        terminal: Handler,
        clock: Clock,
        name: str,
        owns_terminal: bool = True,
    ) -> None:
        self.stages = stages
        self.terminal = terminal
        self.name = name
        self._clock = clock
        self._owns_terminal = owns_terminal
        self._closed = False
        entry: CallNext = terminal
        for stage in reversed(stages):
            entry = link(stage.interceptor, stage.condition, entry)
        self._entry = entry
        self._router = terminal if isinstance(terminal, Router) else None
        self._lookup = None if self._router is None else self._router.resolver.fast
        # With no stage to read request.entry, the router resolves the call itself, and the
        # request is not copied just to carry the entry.
        self._resolve_at_entry = self._lookup if stages else None
        named: list[tuple[object, str]] = [(s.interceptor, s.name) for s in stages]
        # A when= predicate runs in the link before its interceptor, so a crash in it is
        # attributed to its own stage rather than to whichever stage (or terminal) is nearest.
        named.extend(
            (s.condition.predicate, s.name)
            for s in stages
            if s.condition is not None and s.condition.predicate is not None
        )
        named.append((terminal, display_name(terminal)))
        self._attribution = Attribution(named)

    @property
    def clock(self) -> Clock:
        return self._clock

    def bind_clock(self, clock: Clock) -> None:
        """As a sub-pipeline: refuse a parent pipeline that keeps time on another clock."""
        if clock is not self._clock:
            raise ValueError(
                f"pipeline {self.name!r} keeps time on {self._clock!r}, but the pipeline routing "
                f"to it uses {clock!r}; build both with the same PipelineBuilder(clock=...)"
            )

    async def __call__(self, request: RequestContext) -> ResponseContext:
        try:
            lookup = self._resolve_at_entry
            if lookup is not None and request.resolution is None:
                entry = lookup((request.kind, request.target, request.action))
                if entry is not None:
                    request = _replace(request, resolution=entry)
                else:
                    request = await self._router.resolve(request)  # type: ignore[union-attr]
            response = await self._entry(request)
        except ToolwareError as error:
            return ResponseContext.failure(error.bind(request.id, request.qualified_name))
        except Exception as exc:
            return ResponseContext.failure(self._internal_error(request, exc))
        if type(response) is ResponseContext or isinstance(response, ResponseContext):
            failure = response.error
            if failure is not None and failure.request_id != request.id:
                # Returned by an interceptor as ResponseContext.failure(...): bind it as a
                # raised error would be, so every failure names its call (an error object
                # shared by many calls is copied by bind()).
                bound = failure.bind(request.id, request.qualified_name)
                if bound is not failure:
                    response = _replace(response, error=bound)
            return response
        return ResponseContext.failure(self._not_a_response(request, response))

    def _not_a_response(self, request: RequestContext, response: object) -> InternalError:
        # Typically an interceptor path that forgot `return await call_next(request)`: the
        # call must not vanish as a None "value", so it becomes a visible internal error.
        kind = type(response).__name__
        logger.error(
            "pipeline.bad_response pipeline=%s type=%s request_id=%s",
            self.name,
            kind,
            request.id,
            extra={"pipeline": self.name, "type": kind, "request_id": request.id},
        )
        return InternalError(
            f"pipeline {self.name!r} got {kind} instead of a "
            "ResponseContext from its interceptors or handler",
            hint="check that every path of each interceptor returns a response, "
            "e.g. `return await call_next(request)`",
            request_id=request.id,
            target=request.qualified_name,
        )

    def _internal_error(self, request: RequestContext, exc: Exception) -> InternalError:
        culprit = self._attribution.culprit(exc.__traceback__)
        if culprit is None:
            where = f"pipeline {self.name!r}"
        elif culprit == display_name(self.terminal):
            where = f"handler {culprit!r}"
        else:
            where = f"interceptor {culprit!r}"
        logger.error(
            "pipeline.interceptor_crashed pipeline=%s interceptor=%s request_id=%s error=%s",
            self.name,
            culprit,
            request.id,
            type(exc).__name__,
            exc_info=exc,
            extra={"pipeline": self.name, "interceptor": culprit, "request_id": request.id},
        )
        # The exception's text stays in the log and in __cause__: a crash is a bug report, and
        # its text may hold whatever the interceptor was handling (a header, a token).
        error = InternalError(
            f"{where} raised {type(exc).__name__}; the traceback is in the "
            f"'pipeline.interceptor_crashed' log record",
            interceptor=culprit,
            request_id=request.id,
            target=request.qualified_name,
        )
        error.__cause__ = exc
        return error

    def invoke(
        self,
        target: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        kind: Kind = Kind.TOOL,
        action: str | None = None,
        principal: Principal | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        trace: TraceContext | None = None,
        extras: Extras = EMPTY_EXTRAS,
    ) -> Coroutine[Any, Any, ResponseContext]:
        """Build a request and run it: ``await pipeline.invoke("search", {"query": "x"})``.

        ``target`` is an entry name; a plugin action is ``"plugin.action"`` (or ``target`` and
        ``action=``). ``timeout`` (seconds from now) and ``deadline`` (absolute, on the
        pipeline clock) both set the request deadline; given both, the earlier wins.

        A plain method returning the pipeline's coroutine (not a coroutine of its own: one
        frame fewer per call in flight), so bad options raise when it is called.
        """
        clock = self._clock
        if timeout is not None:
            own = clock.monotonic() + _checked_timeout(timeout)
            deadline = own if deadline is None else min(deadline, own)
        elif deadline is not None:
            checked_deadline(deadline)
        if type(kind) is not Kind:
            kind = Kind(kind)
        if type(target) is not str or not target:
            raise ValueError(f"target must be a non-empty string naming an entry, got {target!r}")
        # Built directly rather than through RequestContext.create(): the arguments above are
        # already checked, and the entry is looked up here so the request is made only once.
        lookup = self._lookup
        request = RequestContext(
            id=new_request_id(clock),
            kind=kind,
            target=target,
            arguments=freeze_arguments(arguments),
            action=action,
            principal=principal,
            deadline=deadline,
            trace=trace,
            extras=extras,
            resolution=None if lookup is None else lookup((kind, target, action)),
        )
        return self(request)

    async def aclose(self) -> None:
        """Release what this pipeline owns: its router's worker threads, and the handler it
        routes to when that handler is closable and owned (a sub-pipeline).

        Calls to synchronous handlers are refused (``unavailable``) afterwards; use it when a
        pipeline is replaced, e.g. after reloading configuration. Closing twice is a no-op.
        """
        if self._closed:
            return
        self._closed = True
        if self._owns_terminal and isinstance(self.terminal, Closable):
            await self.terminal.aclose()

    def close(self) -> None:
        """Synchronous :meth:`aclose` for code outside an event loop: shuts the worker pool
        down without waiting; a closable sub-pipeline is closed the same way."""
        if self._closed:
            return
        self._closed = True
        close = getattr(self.terminal, "close", None)
        if self._owns_terminal and callable(close):
            close()

    async def __aenter__(self) -> Pipeline:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def describe(self) -> tuple[str, ...]:
        """The stages in call order, then the terminal, as readable lines."""
        return (*(stage.describe() for stage in self.stages), display_name(self.terminal))

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}: {' -> '.join(self.describe())})"


def _checked_timeout(timeout: float) -> float:
    # bool is an int: timeout=True would silently mean one second.
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"timeout must be a number of seconds, got {timeout!r}")
    if not (timeout > 0 and math.isfinite(timeout)):
        raise ValueError(
            f"timeout must be a finite number of seconds > 0, got {timeout!r}; "
            "pass timeout=None (the default) for no deadline of the caller's own"
        )
    return float(timeout)
