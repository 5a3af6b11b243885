"""Tests for toolware.integrations._tool_calls: running a batch of calls through a pipeline."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.tool_call_support import build_registry
from toolware import (
    LocalRegistry,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    default_pipeline,
)
from toolware.errors import ResultTooLargeError
from toolware.extras import EMPTY_EXTRAS
from toolware.integrations._calls import ToolCall
from toolware.integrations._routes import routes
from toolware.integrations._tool_calls import CallOptions, call_options, run_calls
from toolware.testing import FakeClock
from toolware.types import Handler

SRC = Path(__file__).resolve().parents[2] / "src"


async def test_a_call_made_by_hand_without_arguments_is_answered() -> None:
    """A ToolCall with neither arguments nor a problem is an invalid_request, not a crash."""
    registry = build_registry()
    async with default_pipeline(registry) as pipeline:
        [outcome] = await run_calls(
            pipeline,
            [ToolCall("c1", "add", None, "")],
            routes(registry),
            lambda call, response, content: {"content": content},
            CallOptions(),
            None,
        )
    assert json.loads(outcome.message["content"])["error"]["message"] == "the call has no arguments"
    assert isinstance(outcome.response, ResponseContext)


def test_plain_dicts_work_without_the_sdks() -> None:
    """With openai and anthropic unimportable, both modules import and answer dict calls."""
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        sys.modules["openai"] = None
        sys.modules["anthropic"] = None
        from toolware import LocalRegistry, default_pipeline
        from toolware.integrations import anthropic, openai

        registry = LocalRegistry()

        @registry.tool
        def add(a: int, b: int) -> int:
            return a + b

        async def main():
            async with default_pipeline(registry) as pipeline:
                chat = await openai.run_tool_calls(pipeline, [{"id": "c1", "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}])
                blocks = await anthropic.run_tool_calls(pipeline, [{"type": "tool_use",
                    "id": "t1", "name": "add", "input": {"a": 3, "b": 4}}])
            print(json.dumps([chat, blocks, openai.chat_tools(registry)[0]["function"]["name"]]))

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=50,
        env={"PYTHONPATH": str(SRC)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        [{"role": "tool", "tool_call_id": "c1", "content": "3"}],
        [{"type": "tool_result", "tool_use_id": "t1", "content": "7", "is_error": False}],
        "add",
    ]


async def test_seconds_count_the_call_not_the_wait_for_a_slot() -> None:
    """On the pipeline clock: each call took 2 s, though the second waited 2 s for a slot."""
    clock = FakeClock()
    registry = LocalRegistry()

    @registry.tool
    async def slow(n: int) -> int:
        await clock.sleep(2.0)
        return n

    pipeline = PipelineBuilder(clock=clock).route(registry).build()
    calls = [ToolCall("c1", "slow", {"n": 1}, ""), ToolCall("c2", "slow", {"n": 2}, "")]
    task = asyncio.create_task(
        run_calls(pipeline, calls, routes(registry), _answer, CallOptions(), 1)
    )
    await clock.advance(2.0)
    await clock.advance(2.0)
    first, second = await task
    assert (first.seconds, second.seconds) == (2.0, 2.0)
    assert [first.message["content"], second.message["content"]] == ["1", "2"]
    await pipeline.aclose()


def _answer(call: ToolCall, response: ResponseContext, content: str) -> dict[str, Any]:
    return {"content": content}


async def test_a_refused_call_is_logged_and_bound_to_its_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The refusal names the call id and function, in the message and the extras; the error
    is bound to the call; the outcome keeps the call as it was marked."""
    registry = build_registry()
    calls = [
        ToolCall("c1", "add", {"a": 1}, '{"a": 1}'),
        ToolCall("c1", "add", {"a": 2}, '{"a": 2}'),
        ToolCall("c2", "add", None, ""),
    ]
    async with default_pipeline(registry) as pipeline:
        with caplog.at_level(logging.INFO, "toolware.integrations.tool_calls"):
            ran, repeated, empty = await run_calls(
                pipeline, calls, routes(registry), _answer, CallOptions(), None
            )
    assert ran.call == calls[0]
    assert (repeated.call.id, repeated.call.arguments) == ("c1", None)
    assert empty.response.error is not None
    assert (empty.response.error.request_id, empty.response.error.target) == ("c2", "add")
    assert json.loads(empty.message["content"])["error"]["hint"] == (
        "send the arguments as one JSON object with the function's parameters as keys"
    )
    refused = [r for r in caplog.records if r.name == "toolware.integrations.tool_calls"]
    assert [r.getMessage() for r in refused] == [
        "tool_calls.refused call_id=c1 function=add",
        "tool_calls.refused call_id=c2 function=add",
    ]
    assert [(r.call_id, r.function) for r in refused] == [("c1", "add"), ("c2", "add")]  # type: ignore[attr-defined]


async def test_options_at_their_bounds() -> None:
    """max_chunks=1 and a timeout under a second are taken; a fraction or a bool for
    max_chunks is refused; the timeout's refusal says what to pass."""
    clock = FakeClock()
    options = call_options(
        clock,
        principal=None,
        timeout=0.5,
        deadline=None,
        trace=None,
        extras=EMPTY_EXTRAS,
        max_concurrency=1,
        max_chunks=1,
        on_chunk=None,
    )
    assert (options.deadline, options.max_chunks, options.strict) == (1000.5, 1, False)
    for bad in (1.5, True):
        with pytest.raises(
            ValueError, match=f"^max_chunks must be a whole number >= 1, got {bad!r}$"
        ):
            call_options(
                clock,
                principal=None,
                timeout=None,
                deadline=None,
                trace=None,
                extras=EMPTY_EXTRAS,
                max_concurrency=None,
                max_chunks=bad,  # type: ignore[arg-type]
                on_chunk=None,
            )
    message = (
        "timeout must be a finite number of seconds > 0, got -1; pass timeout=None (the "
        "default) for no deadline of the batch's own"
    )
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        call_options(
            clock,
            principal=None,
            timeout=-1,
            deadline=None,
            trace=None,
            extras=EMPTY_EXTRAS,
            max_concurrency=None,
            max_chunks=1,
            on_chunk=None,
        )


async def test_a_stream_cut_at_max_chunks_names_its_limit_request_and_target() -> None:
    """The error of a stream past max_chunks carries the limit, the request id and target."""
    registry = build_registry()
    request_ids: list[str] = []

    async def record(request: RequestContext, call_next: Handler) -> ResponseContext:
        request_ids.append(request.id)
        return await call_next(request)

    pipeline = PipelineBuilder().use(record).route(registry).build()
    [outcome] = await run_calls(
        pipeline,
        [ToolCall("c1", "count_to", {"n": 3}, "")],
        routes(registry),
        _answer,
        CallOptions(max_chunks=1),
        None,
    )
    error = outcome.response.error
    assert isinstance(error, ResultTooLargeError)
    assert (error.limit, error.target, [error.request_id]) == (1, "count_to", request_ids)
    await pipeline.aclose()


async def test_an_exception_from_on_chunk_ends_the_other_calls_before_it_propagates() -> None:
    """By the time the hook's exception reaches the caller, the other calls have ended."""
    registry = LocalRegistry()
    ended: list[str] = []

    @registry.tool
    async def numbers() -> AsyncIterator[int]:
        yield 1

    @registry.tool
    async def wait() -> int:
        try:
            await asyncio.sleep(30)
        finally:  # a cleanup that takes a few turns of the loop: it is waited for
            for _ in range(3):
                await asyncio.sleep(0)
            ended.append("wait")
        return 0

    def on_chunk(call: ToolCall, number: int, chunk: Any) -> None:
        raise KeyError("hook")

    calls = [ToolCall("c1", "wait", {}, ""), ToolCall("c2", "numbers", {}, "")]
    async with default_pipeline(registry) as pipeline:
        with pytest.raises(KeyError, match="hook"):
            await run_calls(
                pipeline, calls, routes(registry), _answer, CallOptions(on_chunk=on_chunk), None
            )
        assert ended == ["wait"]
