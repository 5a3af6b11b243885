"""Tests for toolware._jobs: what a sync function raises, as its caller sees it."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from toolware import (
    LocalRegistry,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    ToolFailedError,
    default_pipeline,
)
from toolware._workers import WorkerPool


class Payload:
    """An argument whose lifetime the tests follow with a weakref."""


async def test_an_exception_is_delivered_as_it_is() -> None:
    """A plain Exception reaches the caller unchanged, without the worker's own frame."""
    pool = WorkerPool(1)

    def fail(x: int) -> None:
        raise ValueError(f"bad {x}")

    with pytest.raises(ValueError, match="bad 3") as caught:
        await pool.run(fail, {"x": 3})
    frames = []
    tb = caught.value.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "execute" not in frames
    assert frames[-1] == "fail"
    pool.shutdown(wait=True)


class CustomExit(BaseException):
    pass


def raiser(exc: BaseException) -> Callable[[], None]:
    def tool() -> None:
        raise exc

    return tool


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (SystemExit(3), "'tool' raised SystemExit (exit code 3)"),
        (SystemExit(), "'tool' raised SystemExit (exit code 0)"),
        (SystemExit("bye"), "'tool' raised SystemExit ('bye')"),
        (KeyboardInterrupt(), "'tool' raised KeyboardInterrupt"),
        (GeneratorExit(), "'tool' raised GeneratorExit"),
        (CustomExit("stop"), "'tool' raised CustomExit: stop"),
        (StopIteration(), "'tool' raised StopIteration"),
        (asyncio.CancelledError(), "'tool' raised CancelledError"),
    ],
)
async def test_base_exceptions_become_tool_failed(exc: BaseException, message: str) -> None:
    """Anything but a plain Exception becomes ToolFailedError naming it, never escaping."""
    pool = WorkerPool(1)
    with pytest.raises(ToolFailedError) as caught:
        await pool.run(raiser(exc), {}, name="tool")
    assert caught.value.message == message
    assert caught.value.retryable is False
    assert caught.value.__cause__ is exc
    pool.shutdown(wait=True)


async def test_failures_are_named_after_the_function_without_a_name() -> None:
    """Without name=, the function's qualified name is used."""
    pool = WorkerPool(1)

    def sync_tool() -> None:
        raise KeyboardInterrupt

    with pytest.raises(ToolFailedError, match=r"'.*sync_tool' raised KeyboardInterrupt"):
        await pool.run(sync_tool, {})
    pool.shutdown(wait=True)


async def test_keyboard_interrupt_from_a_sync_tool_is_a_typed_failure() -> None:
    """Through the default pipeline, KeyboardInterrupt and SystemExit(3) are tool_failed."""
    registry = LocalRegistry()

    @registry.tool
    def interrupt() -> None:
        raise KeyboardInterrupt

    @registry.tool
    def leave() -> None:
        raise SystemExit(3)

    pipeline = default_pipeline(registry, workers=1)
    first = (await pipeline.invoke("interrupt")).error
    second = (await pipeline.invoke("leave")).error
    pipeline.close()
    assert isinstance(first, ToolFailedError)
    assert first.message == "'interrupt' raised KeyboardInterrupt"
    assert isinstance(second, ToolFailedError)
    assert second.message == "'leave' raised SystemExit (exit code 3)"
    assert (second.retryable, second.target) == (False, "leave")


async def test_a_failed_call_frees_its_arguments_without_the_collector() -> None:
    """With gc disabled, the argument of a failing sync tool dies with the response."""
    registry = LocalRegistry()

    @registry.tool
    def explode(payload: Any) -> None:
        raise RuntimeError("boom")

    @registry.tool
    def leave(payload: Any) -> None:
        raise SystemExit(1)

    pipeline = PipelineBuilder().route(registry, workers=1).build()
    gc.collect()
    gc.disable()
    try:
        for name in ("explode", "leave"):
            payload = Payload()
            alive = weakref.ref(payload)
            request = RequestContext.create(name, {"payload": payload})
            response: ResponseContext | None = await pipeline(request)
            assert response is not None
            assert response.error is not None
            del payload, request, response
            assert alive() is None, name
    finally:
        gc.enable()
        pipeline.close()
