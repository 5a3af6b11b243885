"""Tests for toolware.integrations._calls: tool calls read from SDK objects or dicts."""

from __future__ import annotations

import re
from types import MappingProxyType

import pytest

from toolware.integrations._calls import (
    JSON_HINT,
    CallProblem,
    ToolCall,
    call_id,
    call_name,
    field,
    parse_arguments,
    read_calls,
)


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


def test_nan_and_infinity_are_not_json() -> None:
    """Python's parser takes NaN and Infinity, JSON does not: a model's NaN is refused,
    never run as a float that comes back as null."""
    for text, constant in [
        ('{"x": NaN}', "NaN"),
        ('{"x": [Infinity]}', "Infinity"),
        ('{"x": -Infinity}', "-Infinity"),
    ]:
        arguments, problem = parse_arguments(text)
        assert arguments is None
        assert problem is not None
        assert problem.message == (
            f"the arguments are not valid JSON: {constant} is not a JSON number"
        )
    assert parse_arguments('{"x": "NaN"}') == ({"x": "NaN"}, None)


def test_parse_arguments_problems_carry_the_hint() -> None:
    """Each refusal says why and how to send the arguments."""
    assert parse_arguments("[]") == (
        None,
        CallProblem("the arguments must be a JSON object, got list", JSON_HINT),
    )
    assert parse_arguments(7) == (
        None,
        CallProblem("the arguments must be a JSON object, got int", JSON_HINT),
    )
    assert parse_arguments("[" * 100_000) == (
        None,
        CallProblem("the arguments are nested too deeply to read", JSON_HINT),
    )


def test_read_calls_takes_any_iterable_of_calls_but_not_a_container() -> None:
    """A generator of calls is read; a message (an object with tool_calls) is refused."""

    def read(position: int, item: object) -> ToolCall | None:
        return ToolCall(str(item), "f", {}, "{}") if item != "skip" else None

    assert read_calls((c for c in ["a", "skip", "b"]), read, "hint") == [
        ToolCall("a", "f", {}, "{}"),
        ToolCall("b", "f", {}, "{}"),
    ]

    class Message:
        def __init__(self) -> None:
            self.tool_calls: list[object] = []

    with pytest.raises(TypeError) as caught:
        read_calls(Message(), read, "pass message.tool_calls")  # type: ignore[arg-type]
    assert str(caught.value) == (
        "expected a list of tool calls, got Message; pass message.tool_calls"
    )


@pytest.mark.parametrize(("value", "kind"), [("", "str"), (5, "int"), (None, "NoneType")])
def test_call_id_refuses_anything_but_a_non_empty_string(value: object, kind: str) -> None:
    """The id is needed to answer the call: its absence is a ValueError naming the call."""
    message = (
        f"tool call 3 has no 'id' (got {kind}); every call needs the id the model gave it, "
        "to answer it"
    )
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        call_id(3, {"id": value}, "id")


def test_call_name_refuses_anything_but_a_non_empty_string() -> None:
    """A missing, empty or non-string name is "" and a problem saying what to call."""
    hint = "call one of the functions offered in tools, by its name"
    assert call_name({"name": "add"}) == ("add", None)
    assert call_name({"fn": "add"}, "fn") == ("add", None)
    assert call_name({"name": 5}) == (
        "",
        CallProblem("the tool call has no function name (got int)", hint),
    )
    assert call_name({"name": ""}) == (
        "",
        CallProblem("the tool call has no function name (got str)", hint),
    )


def test_field_reads_a_dict_subclass_and_a_mapping_by_key() -> None:
    """Any mapping is read by key, never by attribute."""

    class Calls(dict[str, object]):
        name = "attribute"

    assert field(Calls(name="key"), "name") == "key"
    assert field(MappingProxyType({"name": "key"}), "name") == "key"
