"""NativeHandler: native entries handed to V1 code, run through a pipeline."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.compat.v1_support import Agent
from toolware import (
    CallTimeoutError,
    Kind,
    LocalRegistry,
    NotFoundError,
    ToolFailedError,
    default_pipeline,
)
from toolware.compat.v1 import NativeHandler, ToolRegistry
from toolware.pipeline import Pipeline


def registry() -> LocalRegistry:
    local = LocalRegistry("native")

    @local.plugin
    class Notes:
        """Keep notes."""

        def __init__(self) -> None:
            self.notes: list[str] = []

        def add(self, text: str) -> int:
            """Store a note; returns how many there are."""
            self.notes.append(text)
            return len(self.notes)

        def count(self) -> int:
            return len(self.notes)

    @local.tool
    def shout(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    @local.tool
    def broken() -> str:
        raise RuntimeError("kaput")

    return local


@pytest.fixture
def pipeline() -> Pipeline:
    built = default_pipeline(registry())
    yield built
    built.close()


def test_a_plugin_as_a_v1_handler(pipeline: Pipeline) -> None:
    """The V1 method is the plugin action; attributes from the registry's descriptions."""
    notes = NativeHandler(pipeline, "notes")
    assert notes.run({"method": "add", "params": {"text": "hi"}}) == 1
    assert notes.run({"method": "add", "params": {"text": "yo"}}) == 2
    assert notes.run({"method": "count", "params": {}}) == 2
    assert (notes.identifier, notes.kind, notes.actions) == ("notes", Kind.PLUGIN, ("add", "count"))
    assert notes.description == "Store a note; returns how many there are."
    assert notes.brief == "Store a note; returns how many there are."
    assert notes.instruction == "Methods: add, count"
    assert repr(notes) == "NativeHandler('notes', kind=plugin)"


def test_a_tool_as_a_v1_handler(pipeline: Pipeline) -> None:
    """A tool has one operation: method 'run' or its name; others are refused."""
    shout = NativeHandler(pipeline, "shout", identifier="loud", brief="shouts")
    assert shout.run({"method": "run", "params": {"text": "hi"}}) == "HI"
    assert shout.run({"method": "shout", "params": {"text": "a"}}) == "A"
    assert (shout.identifier, shout.kind, shout.brief) == ("loud", Kind.TOOL, "shouts")
    assert shout.description == "Upper-case a text."
    assert shout.instruction == "Call with method 'run'."
    with pytest.raises(
        ValueError, match="tool 'shout' has one operation: call it with method 'run', got 'whisper'"
    ):
        shout.run({"method": "whisper", "params": {}})


def test_failures_raise_the_toolware_error(pipeline: Pipeline) -> None:
    """A failed call raises its typed error; bad arguments and unknown actions too."""
    with pytest.raises(ToolFailedError, match="'broken' raised RuntimeError: kaput"):
        NativeHandler(pipeline, "broken").run({"method": "run", "params": {}})
    with pytest.raises(NotFoundError):
        NativeHandler(pipeline, "notes").run({"method": "delete", "params": {}})


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("add", "payload must be {'method': ..., 'params': {...}}, got str"),
        ({"params": {}}, "payload 'method' must be a non-empty string, got None"),
        ({"method": "add", "params": [1]}, "payload 'params' must be an object, got list"),
    ],
)
def test_bad_payloads(pipeline: Pipeline, payload: Any, message: str) -> None:
    """Refused with a ValueError saying what a payload is."""
    with pytest.raises(ValueError, match=re.escape(message)):
        NativeHandler(pipeline, "notes").run(payload)


def test_bad_options(pipeline: Pipeline) -> None:
    """Options are checked."""
    with pytest.raises(TypeError, match="NativeHandler takes a toolware Pipeline, got str"):
        NativeHandler("p", "notes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="target must be a non-empty entry name, got ''"):
        NativeHandler(pipeline, "")
    with pytest.raises(ValueError, match="timeout must be a number of seconds > 0 or None, got 0"):
        NativeHandler(pipeline, "notes", timeout=0)


def test_run_from_inside_a_running_loop(pipeline: Pipeline) -> None:
    """V1 code calling run() from async code still gets the answer."""
    shout = NativeHandler(pipeline, "shout", timeout=5)

    async def main() -> Any:
        return shout.run({"method": "run", "params": {"text": "x"}})

    assert asyncio.run(main()) == "X"


def test_a_pipeline_without_a_registry() -> None:
    """Routed to a plain handler: nothing to describe; the kind given is used."""
    from toolware import PipelineBuilder
    from toolware.testing import FakeHandler

    plain = PipelineBuilder().route(FakeHandler(["answer"])).build()
    handler = NativeHandler(plain, "anything", description="Custom", instruction="Ask")
    assert (handler.kind, handler.description, handler.instruction) == (Kind.TOOL, "Custom", "Ask")
    assert handler.run({"method": "run", "params": {}}) == "answer"
    rag = NativeHandler(plain, "docs", kind=Kind.RAG)
    assert rag.kind is Kind.RAG


def test_native_entries_in_a_v1_registry_run_by_the_mixin(pipeline: Pipeline) -> None:
    """The reverse direction end to end: a V1 agent calling native entries."""
    tools = ToolRegistry()
    tools.register_tool(NativeHandler(pipeline, "notes"))
    tools.register_tool(NativeHandler(pipeline, "broken"))
    host = Agent(tool_registry=tools)
    assert host.to_middleware({"notes": {"method": "add", "params": {"text": "a"}}}) == (201, "1")
    status, body = host.to_middleware({"broken": {"method": "run", "params": {}}})
    assert (status, body) == (
        201,
        "\"An error occurred with action run: 'broken' raised RuntimeError: kaput (hint: the "
        'tool reported an error; check its arguments or its service)"',
    )
    assert tools.list_tools()[0] == "notes - Store a note; returns how many there are."


@pytest.mark.parametrize("timeout", [True, "5", -1.0, float("nan")])
def test_timeouts_that_are_not_positive_numbers(pipeline: Pipeline, timeout: Any) -> None:
    with pytest.raises(ValueError, match=r"^timeout must be") as caught:
        NativeHandler(pipeline, "notes", timeout=timeout)
    assert str(caught.value) == f"timeout must be a number of seconds > 0 or None, got {timeout!r}"


def slow_registry() -> LocalRegistry:
    local = LocalRegistry("slow")

    @local.tool
    async def nap(seconds: float) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return "awake"

    return local


def test_the_timeout_bounds_the_call() -> None:
    """The call's own timeout reaches the pipeline: its timeout stage answers at the limit."""
    pipeline = default_pipeline(slow_registry(), timeout=30.0)
    try:
        nap = NativeHandler(pipeline, "nap", timeout=0.2)
        with pytest.raises(CallTimeoutError) as caught:
            nap.run({"method": "run", "params": {"seconds": 20}})
    finally:
        pipeline.close()
    assert caught.value.message == "'nap' did not complete within the allowed timeout of 0.200s"
    assert caught.value.limit == pytest.approx(0.2, abs=0.05)


def test_without_a_timeout_stage_the_caller_waits_past_the_timeout() -> None:
    """A pipeline without a timeout stage: the caller waits the timeout plus a grace second,
    then raises a CallTimeoutError (not the bridge's own exception)."""
    from toolware import PipelineBuilder

    pipeline = PipelineBuilder().route(slow_registry()).build()
    try:
        nap = NativeHandler(pipeline, "nap", timeout=0.01)
        # 0.1 s is past the timeout but within the grace: the answer still comes back
        assert nap.run({"method": "run", "params": {"seconds": 0.1}}) == "awake"
        with pytest.raises(CallTimeoutError) as caught:
            nap.run({"method": "run", "params": {"seconds": 20}})
    finally:
        pipeline.close()
    assert caught.value.message == "'nap' did not answer within 0.01 s"
    assert caught.value.limit == 0.01
    assert caught.value.__cause__ is None


def test_descriptions_default_to_empty_and_brief_is_the_first_line() -> None:
    """An entry without a docstring has no description; a brief is the first line only."""
    from toolware import PipelineBuilder
    from toolware.testing import FakeHandler

    local = LocalRegistry("bare")

    @local.tool
    def quiet() -> str:
        return "ok"

    pipeline = default_pipeline(local)
    try:
        handler = NativeHandler(pipeline, "quiet", timeout=0.5)
        assert (handler.description, handler.brief, handler.timeout) == ("", "", 0.5)
    finally:
        pipeline.close()
    plain = PipelineBuilder().route(FakeHandler(["answer"])).build()
    lines = NativeHandler(plain, "docs", description="First line.\nSecond.\nThird.")
    assert lines.brief == "First line."
    plugin = NativeHandler(plain, "notes", kind=Kind.PLUGIN)
    assert (plugin.description, plugin.brief, plugin.instruction) == ("", "", "")
