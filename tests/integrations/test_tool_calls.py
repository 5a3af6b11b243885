"""Tests for toolware.integrations._tool_calls: running a batch of calls through a pipeline."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.integrations.tool_call_support import build_registry
from toolware import LocalRegistry, PipelineBuilder, ResponseContext, default_pipeline
from toolware.integrations._calls import ToolCall
from toolware.integrations._routes import routes
from toolware.integrations._tool_calls import CallOptions, run_calls
from toolware.testing import FakeClock

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
