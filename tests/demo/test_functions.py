"""Tests for toolware.demo.functions: OpenAI function-calling shapes and routing."""

from __future__ import annotations

import json

from toolware import CallTimeoutError, Kind, NotFoundError, ResponseContext
from toolware.context import PARTIAL_CHUNKS
from toolware.demo import build_registry
from toolware.demo.functions import (
    Route,
    error_content,
    function_tools,
    route_for,
    routes,
    tool_message,
)
from toolware.errors import CircuitOpenError, RateLimitedError


def test_tool_list_has_one_function_per_entry() -> None:
    """Each entry becomes {"type": "function", "function": {name, description, parameters}}."""
    registry = build_registry()
    tools = function_tools(registry)
    names = [t["function"]["name"] for t in tools]
    assert names == [
        "calculator",
        "convert_units",
        "fetch_report",
        "write_report",
        "follow_orders",
        "notes__add",
        "notes__list",
        "notes__search",
        "docs",
        "fetch_quote",
        "legacy_crm",
        "send_sms",
        "exchange_rate",
    ]
    calculator = tools[0]
    assert calculator["type"] == "function"
    assert calculator["function"]["parameters"]["required"] == ["expression"]
    assert calculator["function"]["description"].startswith("Evaluate")
    json.dumps(tools)  # the whole list is JSON


def test_routes_map_function_names_to_entries() -> None:
    """Plugin actions use name__action; tools and retrievers keep their names."""
    known = routes(build_registry())
    assert known["notes__search"][:3] == (Kind.PLUGIN, "notes", "search")
    assert known["docs"][:3] == (Kind.RAG, "docs", None)
    assert known["calculator"][:3] == (Kind.TOOL, "calculator", None)
    description = known["calculator"].description
    assert description is not None
    assert description.qualified_name == "calculator"


def test_unknown_names_are_routed_so_the_registry_can_answer() -> None:
    """An invented name goes to a tool, or to a plugin action when it contains __."""
    known = routes(build_registry())
    assert route_for("calculate", known) == Route(Kind.TOOL, "calculate")
    assert route_for("notes__delete", known) == Route(Kind.PLUGIN, "notes", "delete")
    assert route_for("__x", known) == Route(Kind.TOOL, "__x")


def test_tool_message_carries_the_value_as_json() -> None:
    """A value becomes the JSON content of a role=tool message."""
    message = tool_message("call_1", ResponseContext.success({"a": [1, 2]}))
    assert message == {"role": "tool", "tool_call_id": "call_1", "content": '{"a": [1, 2]}'}


def test_tool_message_carries_the_error_for_the_agent() -> None:
    """An error becomes {"error": {category, message, hint, candidates}} without internals."""
    error = NotFoundError("no tool named 'calculate'", candidates=("calculator",))
    content = json.loads(tool_message("call_2", ResponseContext.failure(error))["content"])
    assert content == {
        "error": {
            "category": "not_found",
            "message": "no tool named 'calculate'",
            "hint": "did you mean 'calculator'?",
            "candidates": ["calculator"],
        }
    }
    assert "fields" not in error_content(error)["error"]
    assert "retry_after" not in error_content(error)["error"]


def test_tool_message_says_how_long_to_wait_to_the_millisecond() -> None:
    """rate_limited and circuit_open carry retry_after, rounded to milliseconds; a zero wait
    is still said."""
    limited = RateLimitedError("busy", retry_after=59.99951)
    assert error_content(limited)["error"] == {
        "category": "rate_limited",
        "message": "busy",
        "hint": "wait retry_after seconds before calling again",
        "retry_after": 60.0,
    }
    assert error_content(RateLimitedError("busy", retry_after=1.2344))["error"]["retry_after"] == (
        1.234
    )
    opened = error_content(CircuitOpenError("open", retry_after=0.0))["error"]
    assert (opened["category"], opened["retry_after"]) == ("circuit_open", 0.0)


def test_tool_message_carries_the_chunks_received_before_an_error() -> None:
    """A stream that failed part way sends its error with the chunks it delivered."""
    failed = ResponseContext.failure(CallTimeoutError("quiet", limit=0.2, target="feed"))
    partial = failed.evolve(extras=failed.extras.with_value(PARTIAL_CHUNKS, ({"id": 1}, 2)))
    content = json.loads(tool_message("call_3", partial)["content"])
    assert content["partial_chunks"] == [{"id": 1}, 2]
    assert content["error"]["category"] == "timeout"
    assert "partial_chunks" not in json.loads(tool_message("call_4", failed)["content"])
