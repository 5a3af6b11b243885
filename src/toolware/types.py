"""The whole contract between toolware and the code it runs.

A *handler* takes a request and returns a response. An *interceptor* takes a request and the
next handler (``call_next``) and returns a response; it may change the request, call
``call_next`` zero times (short-circuit), once, or several times (retry), and change the
response. ``call_next`` is a plain coroutine call, so ``ContextVar`` values set by an outer
interceptor are visible to inner ones. Any function or object with a matching ``__call__``
qualifies; there is no base class.

    async def log_calls(request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        logger.info("call.finished", extra={"target": request.target, "ok": response.ok})
        return response
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from toolware.context import RequestContext, ResponseContext

__all__ = ["CallNext", "Handler", "Interceptor"]


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
