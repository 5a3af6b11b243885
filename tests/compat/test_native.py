"""NativeHandler: native entries handed to V1 code, run through a pipeline."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.compat.v1_support import Agent
from toolware import Kind, LocalRegistry, NotFoundError, ToolFailedError, default_pipeline
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
