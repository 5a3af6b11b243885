"""One call through a pipeline on behalf of a framework's tool: the part LangChain and
LlamaIndex tools share.

A framework tool knows its entry's description and gets arguments from the agent; this module
builds the :class:`~toolware.context.RequestContext` (principal, trace context, deadline on the
pipeline's clock), runs it, collects a streamed answer, and returns the value or raises the
typed :class:`~toolware.errors.ToolwareError`. The synchronous path runs the same coroutine on
a loop of its own (or on the loop given), for frameworks that call tools from worker threads.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from toolware.clock import Clock, system_clock
from toolware.context import Principal, RequestContext, TraceContext
from toolware.encoding import to_json
from toolware.pipeline import Pipeline
from toolware.propagation import current_trace
from toolware.registry.base import EntryDescription
from toolware.types import Handler

__all__ = ["CallSettings", "content_text", "run_sync"]

C = TypeVar("C")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CallSettings(Generic[C]):
    """How a framework tool calls its entry: through which handler, as whom, within what.

    ``principal`` and ``trace`` are fixed values or functions of the framework's per-call
    context ``C``; ``trace=None`` sends the current OpenTelemetry span's context when there is
    one. ``timeout`` (seconds) becomes the request's deadline on ``clock``.
    """

    handler: Handler
    clock: Clock
    principal: Principal | Callable[[C], Principal | None] | None = None
    trace: TraceContext | Callable[[C], TraceContext | None] | None = None
    timeout: float | None = None

    @classmethod
    def create(
        cls,
        handler: Handler,
        *,
        principal: Principal | Callable[[C], Principal | None] | None,
        trace: TraceContext | Callable[[C], TraceContext | None] | None,
        timeout: float | None,
        clock: Clock | None,
    ) -> CallSettings[C]:
        """Checked settings; the clock defaults to the pipeline's own."""
        if not callable(handler):
            raise TypeError(
                f"pipeline must be a toolware Pipeline or an async (request) -> response "
                f"handler, got {type(handler).__name__}"
            )
        if principal is not None and not (isinstance(principal, Principal) or callable(principal)):
            raise TypeError(
                f"principal must be a toolware Principal or a function returning one, got "
                f"{type(principal).__name__}"
            )
        if trace is not None and not (isinstance(trace, TraceContext) or callable(trace)):
            raise TypeError(
                f"trace must be a toolware TraceContext or a function returning one, got "
                f"{type(trace).__name__}"
            )
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not (math.isfinite(timeout) and timeout > 0)
        ):
            raise ValueError(
                f"timeout must be a finite number of seconds > 0, or None for the pipeline's "
                f"own limits, got {timeout!r}"
            )
        if clock is None:
            clock = handler.clock if isinstance(handler, Pipeline) else system_clock
        return cls(handler, clock, principal, trace, timeout)

    def request(
        self, description: EntryDescription, arguments: Mapping[str, Any], context: C
    ) -> RequestContext:
        """The request for one call of ``description``'s entry."""
        principal = self.principal
        if principal is not None and not isinstance(principal, Principal):
            principal = principal(context)
            if principal is not None and not isinstance(principal, Principal):
                raise TypeError(
                    f"the principal function returned {type(principal).__name__}, not a "
                    "Principal or None; return Principal(id=...) for a known caller, None for "
                    "an anonymous one"
                )
        trace = self.trace
        if trace is not None and not isinstance(trace, TraceContext):
            trace = trace(context)
            if trace is not None and not isinstance(trace, TraceContext):
                raise TypeError(
                    f"the trace function returned {type(trace).__name__}, not a TraceContext "
                    "or None; return TraceContext(traceparent=...), or None for no trace context"
                )
        elif trace is None:
            trace = current_trace()
        deadline = None if self.timeout is None else self.clock.monotonic() + self.timeout
        return RequestContext.create(
            description.name,
            arguments,
            kind=description.kind,
            action=description.action,
            principal=principal,
            trace=trace,
            deadline=deadline,
            clock=self.clock,
        )

    async def call(
        self, description: EntryDescription, arguments: Mapping[str, Any], context: C
    ) -> Any:
        """The entry's value (a stream collected into a list, refused past
        ``MAX_COLLECTED_CHUNKS`` chunks), or raise its typed error."""
        response = await self.handler(self.request(description, arguments, context))
        if response.stream is not None:
            response = await response.collect()
        return response.unwrap()


def run_sync(
    coroutine: Callable[[], Coroutine[Any, Any, T]], loop: asyncio.AbstractEventLoop | None
) -> T:
    """Run ``coroutine()`` to completion from synchronous code.

    With ``loop`` (an event loop running in another thread, where the pipeline lives) the call
    is submitted there and this thread waits; without one it runs on a fresh loop here. A
    thread whose own loop is running cannot wait for a result without blocking that loop, so
    it is refused with the async method to use instead.
    """
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:
        raise RuntimeError(
            "a toolware tool was called synchronously from a running event loop, which would "
            "block it; await the tool's async method (ainvoke / acall) instead, or pass loop= to "
            "run calls on the pipeline's loop from other threads"
        )
    if loop is None:
        return asyncio.run(coroutine())
    if not loop.is_running():  # nothing would ever run the call: refuse rather than hang
        raise RuntimeError(
            "the event loop given as loop= is not running; pass the loop the pipeline runs on "
            "while it runs, or leave loop= out to run each call on its own loop"
        )
    return asyncio.run_coroutine_threadsafe(coroutine(), loop).result()


def content_text(value: Any) -> str:
    """What a model reads of a value: a string as is, anything else as JSON (a ``Document``
    as an object, a set as a sorted list: :func:`toolware.encoding.to_json`)."""
    return value if isinstance(value, str) else to_json(value)
