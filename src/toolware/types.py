"""The whole contract between toolware and the code it runs.

A *handler* takes a request and returns a response. An *interceptor* takes a request and the
next handler (``call_next``) and returns a response; it may change the request, call
``call_next`` zero times (short-circuit), once, or several times (retry), and change the
response. ``call_next`` is a plain coroutine call, so ``ContextVar`` values set by an outer
interceptor are visible to inner ones. Any function or object with a matching ``__call__``
qualifies; there is no base class.

    async def log_calls(request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        logger.info("call.finished target=%s ok=%s", request.target, response.ok)
        return response

Three optional side contracts, each one small protocol that the pipeline checks for:

- :class:`Named`: a ``name`` attribute, how the stage is called in ``describe()``, in crash
  reports and by ``before=``/``after=`` placement.
- :class:`ClockUser`: ``bind_clock(clock)``, called by ``build()`` so that every stage reads
  time from the pipeline's clock (an interceptor given a different clock refuses it there).
- :class:`Closable`: ``async aclose()``, called by ``Pipeline.aclose()`` on what it owns.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from toolware.context import RequestContext, ResponseContext

if TYPE_CHECKING:
    from toolware.clock import Clock

__all__ = ["CallNext", "ClockUser", "Closable", "Handler", "Interceptor", "Named"]


class Handler(Protocol):
    """``async (request) -> response``: a registry router, a pipeline, or any terminal."""

    def __call__(self, request: RequestContext, /) -> Awaitable[ResponseContext]: ...


CallNext = Handler
"""What an interceptor calls to continue the pipeline."""


class Interceptor(Protocol):
    """``async (request, call_next) -> response``."""

    def __call__(
        self, request: RequestContext, call_next: CallNext, /
    ) -> Awaitable[ResponseContext]: ...


@runtime_checkable
class Named(Protocol):
    """A stage with a stable name (``"timeout"``); without one its function or class name is
    used."""

    name: str


@runtime_checkable
class ClockUser(Protocol):
    """A stage that reads time. ``build()`` hands it the pipeline's clock.

    Implementations adopt the clock when they were not given one, accept the same clock again,
    and raise ``ValueError`` naming both clocks when they were given a different one: two
    timelines in one pipeline make deadlines meaningless.
    """

    def bind_clock(self, clock: Clock, /) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """Something that holds resources (threads, connections) and releases them on ``aclose()``."""

    async def aclose(self) -> None: ...
