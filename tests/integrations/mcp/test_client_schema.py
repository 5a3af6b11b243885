"""JsonSchemaValidator: a remote tool's inputSchema checked locally, values never quoted."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema.exceptions import SchemaError

from toolware.errors import FieldError, InvalidRequestError, UnavailableError
from toolware.integrations.mcp._client_schema import JsonSchemaValidator

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2, "pattern": "^[A-Z]"},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "unit": {"enum": ["C", "F"]},
        "mode": {"const": "fast"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "where": {
            "type": "object",
            "properties": {"lat": {"type": "number"}},
            "required": ["lat"],
            "additionalProperties": False,
        },
        "extra": {"type": "object", "additionalProperties": {"type": "integer"}},
        "odd": {"not": {"type": "string"}},
    },
    "required": ["city"],
    "additionalProperties": False,
}


def refused(arguments: dict[str, Any], schema: dict[str, Any] = SCHEMA) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as raised:
        JsonSchemaValidator(schema, "weather").validate(arguments)
    return raised.value


def test_valid_arguments_pass_unchanged() -> None:
    arguments = {"city": "Oslo", "days": 3, "unit": "C"}
    assert JsonSchemaValidator(SCHEMA, "weather").validate(arguments) is arguments
    # JSON Schema never converts: strict or not, "3" is not an integer.
    assert refused({"city": "Oslo", "days": "3"}).fields[0].field == "days"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"city": "X"}, FieldError("city", "Input should be of length >= 2", "string length >= 2")),
        (
            {"city": "oslo"},
            FieldError("city", "Input should match the pattern '^[A-Z]'", "string length >= 2"),
        ),
        (
            {"city": "Oslo", "days": 9},
            FieldError("days", "Input should be <= 7", "integer >= 1 and <= 7"),
        ),
        (
            {"city": "Oslo", "unit": "K"},
            FieldError("unit", "Input should be one of the allowed values", "one of 'C', 'F'"),
        ),
        (
            {"city": "Oslo", "mode": "slow"},
            FieldError("mode", "Input should be the one allowed value", None),
        ),
        (
            {"city": "Oslo", "tags": ["a", "b", "c"]},
            FieldError(
                "tags",
                "Input should be with at most this many items: 2",
                "array of string",
            ),
        ),
        (
            {"city": "Oslo", "tags": [1]},
            FieldError("tags.0", "Input should be of type string", "string"),
        ),
        ({"city": "Oslo", "where": {}}, FieldError("where.lat", "Field required", None)),
        (
            {"city": "Oslo", "where": {"lat": 1, "token": 2}},
            FieldError("where", "unexpected key", "no further keys"),
        ),
        (
            {"city": "Oslo", "extra": {"secret-key": "x"}},
            FieldError("extra.[key]", "Input should be of type integer", "integer"),
        ),
        (
            {"city": "Oslo", "odd": "text"},
            FieldError("odd", "Input does not satisfy the schema's 'not'", None),
        ),
    ],
)
def test_each_problem_is_worded_from_the_schema(
    arguments: dict[str, Any], field: FieldError
) -> None:
    error = refused(arguments)
    assert list(error.fields) == [field]
    assert error.message == f"invalid arguments for 'weather': {field.field}"
    assert "secret-key" not in str(error.to_dict())


def test_unexpected_names_are_cut_and_counted() -> None:
    arguments = {"city": "Oslo", **{f"x{n}": n for n in range(5)}}
    error = refused(arguments)
    assert [f.field for f in error.fields] == ["x0", "x1", "x2"]
    assert error.fields[0].expected == ("one of: city, days, unit, mode, tags, where, extra, odd")
    assert error.fields_omitted == 2
    assert error.message == "invalid arguments for 'weather': x0, x1, x2 and 2 more"


def test_many_errors_are_bounded() -> None:
    schema = {"type": "object", "properties": {f"p{n}": {"type": "integer"} for n in range(30)}}
    error = refused({f"p{n}": "x" for n in range(30)}, schema)
    assert len(error.fields) == 20
    assert error.fields_omitted == 10
    assert error.message.endswith(" and 10 more")


def test_a_schema_without_properties_names_none() -> None:
    error = refused({"a": 1}, {"type": "object", "additionalProperties": False})
    assert list(error.fields) == [FieldError("a", "unexpected argument", "none")]


def test_arguments_must_be_json_like() -> None:
    error = refused({"city": {1, 2}})
    assert error.fields[0].field == "city"


def test_an_invalid_schema_is_refused_at_construction() -> None:
    with pytest.raises(SchemaError):
        JsonSchemaValidator({"type": 5}, "t")


def test_type_lists_and_required_at_the_top() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": ["integer", "null"]}},
        "required": ["n"],
    }
    assert list(refused({"n": "x"}, schema).fields) == [
        FieldError("n", "Input should be of type integer or null", "integer or null")
    ]
    assert list(refused({}, schema).fields) == [
        FieldError("n", "Field required", "integer or null")
    ]


def test_arguments_are_checked_under_the_tool_name_and_declared_keys() -> None:
    """The JSON-like check names the tool and shows declared property names in paths
    (undeclared keys are caller data: masked)."""
    error = refused({"where": {"lat": {5: 1}}})
    assert error.message == (
        "invalid arguments for 'weather': where.lat.[key]: keys must be plain strings, got int"
    )
    assert [field.field for field in error.fields] == ["where.lat.[key]"]


def test_references_to_defs_say_what_they_accept() -> None:
    """A missing argument whose schema is a $ref to $defs: the expected text is the
    referenced schema's."""
    schema = {
        "type": "object",
        "$defs": {"Unit": {"enum": ["C", "F"]}},
        "properties": {"unit": {"$ref": "#/$defs/Unit"}},
        "required": ["unit"],
    }
    error = refused({}, schema)
    assert list(error.fields) == [FieldError("unit", "Field required", "one of 'C', 'F'")]


def test_fields_are_ordered_by_path_not_by_schema_order() -> None:
    schema = {
        "type": "object",
        "properties": {"b": {"type": "integer"}, "a": {"type": "integer"}},
    }
    error = refused({"b": "x", "a": "y"}, schema)
    assert [field.field for field in error.fields] == ["a", "b"]


def test_a_remote_reference_is_never_fetched() -> None:
    """$ref resolves inside the document only: a URL is unresolvable, not downloaded."""
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "http://127.0.0.1:9/schema.json"}},
    }
    validator = JsonSchemaValidator(schema, "t")
    with pytest.raises(UnavailableError, match=r"\(http://127\.0\.0\.1:9/schema\.json\)"):
        validator.validate({"a": 1})


def test_a_broken_ref_is_a_typed_unavailable_error_not_a_crash() -> None:
    """A remote schema whose $ref points nowhere cannot check anything: the call is refused
    as unavailable (not retryable) naming the ref, instead of a referencing exception."""
    schema = {"type": "object", "properties": {"x": {"$ref": "#/$defs/missing"}}}
    validator = JsonSchemaValidator(schema, "t")
    with pytest.raises(UnavailableError) as raised:
        validator.validate({"x": 1})
    assert str(raised.value).startswith(
        "the input schema of 't' has a $ref that cannot be resolved (/$defs/missing): only "
        "references inside the schema are followed (hint: "
    )
    assert raised.value.retryable is False
    assert raised.value.hint == (
        "the MCP server's tools/list has a broken $ref: fix the server's schema"
    )
    assert validator.validate({}) == {}  # nothing to resolve, nothing refused
