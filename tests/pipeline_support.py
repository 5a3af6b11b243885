"""Shared interceptors and handlers for the pipeline tests."""

from __future__ import annotations

from typing import Any

from toolware.context import (
    ExtraKey,
    RequestContext,
    ResponseContext,
)
from toolware.types import CallNext

N = ExtraKey("n", int)


class Recorder:
    """An interceptor that logs entering and leaving under its name."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        self.log.append(f"{self.name}:in")
        response = await call_next(request)
        self.log.append(f"{self.name}:out")
        return response


class Crasher:
    """An interceptor that raises ValueError when its `fail` flag is set."""

    def __init__(self, name: str, *, fail: bool) -> None:
        self.name = name
        self.fail = fail

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        if self.fail:
            raise ValueError(f"{self.name} is broken")
        return await call_next(request)


async def echo(request: RequestContext) -> ResponseContext:
    """A terminal that answers with the request's arguments."""
    return ResponseContext.success(dict(request.arguments))


async def passthrough(request: RequestContext, call_next: CallNext) -> ResponseContext:
    return await call_next(request)


def recording_handler(log: list[str]) -> Any:
    async def handler(request: RequestContext) -> ResponseContext:
        log.append("handler")
        return ResponseContext.success(request.target)

    return handler
