"""Tests for toolware.integrations._calls: tool calls read from SDK objects or dicts."""

from __future__ import annotations

from toolware.integrations._calls import field, parse_arguments


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
