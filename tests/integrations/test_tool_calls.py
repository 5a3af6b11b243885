"""Tests for toolware.integrations._tool_calls: what OpenAI and Anthropic calls share."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.integrations.tool_call_support import build_registry
from toolware import Kind, LocalRegistry, ResponseContext, default_pipeline
from toolware.errors import CircuitOpenError, NotFoundError, RateLimitedError
from toolware.integrations._tool_calls import (
    CallOptions,
    Route,
    ToolCall,
    error_payload,
    field,
    parse_arguments,
    route_for,
    routes,
    run_calls,
)

SRC = Path(__file__).resolve().parents[2] / "src"


def test_field_reads_mappings_and_objects() -> None:
    """A key of a mapping, an attribute of an object, None when absent."""

    class Call:
        name = "add"

    assert (field({"name": "a"}, "name"), field(Call(), "name")) == ("a", "add")
    assert (field({}, "name"), field(Call(), "id"), field(None, "id")) == (None, None, None)


def test_parse_arguments() -> None:
    """JSON object text, a mapping, empty text; anything else says why."""
    assert parse_arguments('{"a": 1}') == ({"a": 1}, None)
    assert parse_arguments({"a": 1}) == ({"a": 1}, None)
    assert parse_arguments("") == ({}, None)
    assert parse_arguments(None) == ({}, None)
    arguments, problem = parse_arguments("[]")
    assert arguments is None
    assert problem is not None
    assert problem.message == "the arguments must be a JSON object, got list"


def test_routes_are_kept_per_listing() -> None:
    """The same listing gives the same routes; a registration makes new ones."""
    registry = build_registry()
    first = routes(registry)
    assert routes(registry) is first
    assert first["notes__add"][:3] == (Kind.PLUGIN, "notes", "add")

    @registry.tool
    def extra() -> int:
        return 1

    second = routes(registry)
    assert second is not first
    assert "extra" in second
    assert "extra" not in first


def _size(text: str) -> int:
    return len(text)


def test_routes_forget_old_listings() -> None:
    """At most 16 listings are kept: the oldest goes first."""
    registries = [LocalRegistry(f"r{n}") for n in range(18)]
    for registry in registries:  # an empty listing is the one empty tuple: give each its own
        registry.add(_size, name="size")
    kept = [routes(r) for r in registries]
    assert routes(registries[-1]) is kept[-1]
    assert routes(registries[0]) is not kept[0]


def test_route_for_unknown_names() -> None:
    """An invented name is tried as a tool, or as a plugin action when it has __."""
    assert route_for("calc", {}) == Route(Kind.TOOL, "calc")
    assert route_for("notes__del", {}) == Route(Kind.PLUGIN, "notes", "del")
    assert route_for("__x", {}) == Route(Kind.TOOL, "__x")


def test_error_payload_is_what_a_model_needs() -> None:
    """category, message, hint; retry_after to the millisecond; candidates as function names."""
    assert error_payload(RateLimitedError("busy", retry_after=1.23456)) == {
        "error": {
            "category": "rate_limited",
            "message": "busy",
            "hint": "wait retry_after seconds before calling again",
            "retry_after": 1.235,
        }
    }
    assert error_payload(CircuitOpenError("open", retry_after=0.0))["error"]["retry_after"] == 0.0
    dotted = NotFoundError("no such", candidates=("notes.add",))
    assert error_payload(dotted)["error"] == {
        "category": "not_found",
        "message": "no such",
        "hint": "did you mean 'notes__add'?",
        "candidates": ["notes__add"],
    }
    kept = NotFoundError("no such", candidates=("calc",), hint="ask the admin")
    assert error_payload(kept)["error"]["hint"] == "ask the admin"
    guessed = error_payload(NotFoundError("no such"), Route(Kind.TOOL, "clac"), ["calc", "zz"])
    assert guessed["error"]["candidates"] == ["calc"]
    assert guessed["error"]["hint"] == "did you mean 'calc'?"
    unguessed = error_payload(NotFoundError("no such"), None, ["calc"])
    assert "candidates" not in unguessed["error"]
    huge = error_payload(NotFoundError("no such"), Route(Kind.TOOL, "calc" * 40), ["calc" * 40])
    assert "candidates" not in huge["error"]  # a name no entry can have is not compared
    fits = error_payload(NotFoundError("no such"), Route(Kind.TOOL, "c" * 128), ["c" * 127])
    assert fits["error"]["candidates"] == ["c" * 127]


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
