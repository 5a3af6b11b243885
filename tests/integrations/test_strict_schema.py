"""Tests for toolware.integrations._strict_schema: strict-compatible schemas, or the reasons."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from toolware.integrations._strict_schema import ANTHROPIC, OPENAI, drop_absent_nulls, make_strict


class Address(pydantic.BaseModel):
    street: str
    zip_code: str | None = None
    floor: int = 0


class Order(pydantic.BaseModel):
    item: str
    ship_to: Address = pydantic.Field(description="Where to send it.")
    extras: list[Address] = []


def order_schema() -> dict[str, Any]:
    return pydantic.TypeAdapter(Order).json_schema()


def test_nested_models_are_made_strict_through_defs() -> None:
    """$defs entries are strict too; a $ref with a sibling description is inlined."""
    result = make_strict(order_schema())
    assert result.problems == ()
    assert result.schema is not None
    address = {
        "title": "Address",
        "type": "object",
        "properties": {
            "street": {"title": "Street", "type": "string"},
            "zip_code": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Zip Code"},
            "floor": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Floor"},
        },
        "required": ["street", "zip_code", "floor"],
        "additionalProperties": False,
    }
    assert result.schema["$defs"] == {"Address": address}
    assert result.schema["properties"]["ship_to"] == {**address, "description": "Where to send it."}
    assert result.schema["properties"]["extras"] == {
        "anyOf": [{"type": "array", "items": {"$ref": "#/$defs/Address"}}, {"type": "null"}],
        "title": "Extras",
    }
    assert result.schema["required"] == ["item", "ship_to", "extras"]
    assert result.schema["additionalProperties"] is False


def test_the_input_schema_is_not_changed() -> None:
    """make_strict works on copies."""
    schema = order_schema()
    before = repr(schema)
    make_strict(schema)
    assert repr(schema) == before


@pytest.mark.parametrize(
    ("schema", "problems"),
    [
        ({"type": "array"}, ("$: the arguments must be an object schema with 'type': 'object'",)),
        (
            {"type": "object", "properties": {"x": {"type": "string", "maxLength": 3}}},
            ("$.x: 'maxLength' is not supported in openai strict mode",),
        ),
        (
            {"type": "object", "properties": {"x": {"oneOf": [{"type": "string"}]}}},
            ("$.x: 'oneOf' is not supported in openai strict mode",),
        ),
        (
            {"type": "object", "properties": {"x": {"type": "object"}}},
            ("$.x: an object without 'properties' accepts any keys and cannot be strict",),
        ),
        (
            {"type": "object", "properties": {"x": {"$ref": "#/$defs/Nope", "title": "X"}}},
            ("$.x: '$ref' '#/$defs/Nope' does not name an entry of '$defs'",),
        ),
        (
            {"type": "object", "properties": {"x": 3}},
            ("$.x: a schema must be an object, got int",),
        ),
        (
            {"type": "object", "properties": {"x": {"type": "array", "items": {"not": {}}}}},
            ("$.x[]: 'not' is not supported in openai strict mode",),
        ),
        (
            {
                "type": "object",
                "properties": {"x": {"anyOf": [{"type": "string", "minLength": 1}]}},
            },
            ("$.x.anyOf[0]: 'minLength' is not supported in openai strict mode",),
        ),
        (
            {"type": "object", "$defs": {"D": {"type": "string", "allOf": []}}, "properties": {}},
            ("$.$defs.D: 'allOf' is not supported in openai strict mode",),
        ),
    ],
)
def test_what_cannot_be_strict_is_reported_at_its_path(
    schema: dict[str, Any], problems: tuple[str, ...]
) -> None:
    """Each reason names where it is; no schema is given."""
    result = make_strict(schema)
    assert (result.schema, result.problems) == (None, problems)


def test_no_arguments_says_the_empty_lists() -> None:
    """A function without parameters: empty properties and required, no extra keys."""
    assert make_strict({"type": "object"}).schema == {
        "type": "object",
        "additionalProperties": False,
        "properties": {},
        "required": [],
    }


def test_an_optional_that_accepts_null_is_left_as_it_is() -> None:
    """type lists, enums and consts with null, and $refs to nullable defs stay unwrapped."""
    schema = {
        "type": "object",
        "$defs": {"Maybe": {"type": ["string", "null"]}},
        "properties": {
            "a": {"type": ["integer", "null"]},
            "b": {"enum": ["x", None]},
            "c": {"const": None},
            "d": {"$ref": "#/$defs/Maybe"},
            "e": {"type": "string", "description": "Said outside."},
        },
    }
    strict = make_strict(schema).schema
    assert strict is not None
    assert strict["properties"] == {
        "a": {"type": ["integer", "null"]},
        "b": {"enum": ["x", None]},
        "c": {"const": None},
        "d": {"$ref": "#/$defs/Maybe"},
        "e": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "Said outside."},
    }


def test_a_ref_cycle_does_not_recurse_forever() -> None:
    """A $ref loop is judged not nullable, and the schema is still made."""
    schema = {
        "type": "object",
        "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}},
        "properties": {"x": {"$ref": "#/$defs/A"}},
    }
    strict = make_strict(schema).schema
    assert strict is not None
    assert strict["properties"]["x"] == {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}


def test_drop_absent_nulls_removes_only_what_strict_made_nullable() -> None:
    """Nulls for optionals that refuse null go (nested and in lists); the rest stay."""
    schema = order_schema()
    arguments = {
        "item": None,
        "ship_to": {"street": "Main", "zip_code": None, "floor": None},
        "extras": [{"street": "Side", "floor": None}],
        "unknown": None,
    }
    assert drop_absent_nulls(schema, arguments) == {
        "item": None,
        "ship_to": {"street": "Main", "zip_code": None},
        "extras": [{"street": "Side"}],
        "unknown": None,
    }
    assert arguments["ship_to"]["floor"] is None  # the input is not changed
    assert drop_absent_nulls(schema, {"extras": None}) == {}


def test_drop_absent_nulls_leaves_free_form_values() -> None:
    """Where the schema says nothing of properties, values pass as they are."""
    schema = {"type": "object", "properties": {"data": {"type": "object"}}}
    assert drop_absent_nulls(schema, {"data": {"k": None}}) == {"data": {"k": None}}
    deep: dict[str, Any] = {"type": "object", "properties": {}}
    node = deep
    for _ in range(40):
        node["properties"]["n"] = {"type": "object", "properties": {}}
        node = node["properties"]["n"]
    node["properties"]["x"] = {"type": "integer"}  # optional, refuses null: dropped if reached
    value: dict[str, Any] = {}
    cursor = value
    for _ in range(40):
        cursor["n"] = {}
        cursor = cursor["n"]
    cursor["x"] = None
    assert drop_absent_nulls(deep, value) == value  # past 32 levels it stops looking
    shallow = {
        "type": "object",
        "properties": {"n": {"type": "object", "properties": {"x": {"type": "integer"}}}},
    }
    assert drop_absent_nulls(shallow, {"n": {"x": None}}) == {"n": {}}


def test_refs_outside_defs_are_not_followed() -> None:
    """Only local '#/$defs/...' references resolve; others are reported or left alone."""
    schema = {"type": "object", "properties": {"x": {"$ref": "#/definitions/X", "title": "X"}}}
    assert make_strict(schema).problems == (
        "$.x: '$ref' '#/definitions/X' does not name an entry of '$defs'",
    )
    assert drop_absent_nulls(schema, {"x": {"a": None}}) == {"x": {"a": None}}


def test_anthropic_rules_close_objects_and_keep_optionals() -> None:
    """Anthropic: additionalProperties false everywhere, optionals and defaults kept."""
    result = make_strict(order_schema(), ANTHROPIC)
    assert result.problems == ()
    assert result.schema is not None
    assert result.schema["required"] == ["item", "ship_to"]
    assert result.schema["$defs"]["Address"] == {
        "title": "Address",
        "type": "object",
        "properties": {
            "street": {"title": "Street", "type": "string"},
            "zip_code": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "default": None,
                "title": "Zip Code",
            },
            "floor": {"default": 0, "title": "Floor", "type": "integer"},
        },
        "required": ["street"],
        "additionalProperties": False,
    }


@pytest.mark.parametrize(
    ("schema", "problems"),
    [
        (
            {"type": "object", "properties": {"k": {"type": "integer", "minimum": 1}}},
            ("$.k: 'minimum' is not supported in anthropic strict mode",),
        ),
        (
            {"type": "object", "properties": {"k": {"type": "array", "minItems": 2}}},
            ("$.k: 'minItems' above 1 is not supported in anthropic strict mode",),
        ),
        (
            {
                "type": "object",
                "$defs": {
                    "Node": {
                        "type": "object",
                        "properties": {
                            "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}
                        },
                    },
                    "Leaf": {"type": "object", "properties": {"v": {"type": "string"}}},
                },
                "properties": {"n": {"$ref": "#/$defs/Node"}, "l": {"$ref": "#/$defs/Leaf"}},
            },
            ("$.$defs.Node: a recursive schema is not supported in anthropic strict mode",),
        ),
        (
            {
                "type": "object",
                "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}},
                "properties": {"a": {"$ref": "#/$defs/A"}},
            },
            (
                "$.$defs.A: a recursive schema is not supported in anthropic strict mode",
                "$.$defs.B: a recursive schema is not supported in anthropic strict mode",
            ),
        ),
    ],
)
def test_anthropic_rules_refuse_bounds_and_recursion(
    schema: dict[str, Any], problems: tuple[str, ...]
) -> None:
    """Numeric bounds, minItems above 1 and recursive $defs are refused, at their paths."""
    assert make_strict(schema, ANTHROPIC).problems == problems


def test_allof_is_refused_by_openai_and_walked_for_anthropic() -> None:
    """allOf: OpenAI refuses it; Anthropic takes it, its branches made strict too."""
    schema = {
        "type": "object",
        "properties": {
            "x": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}]}
        },
    }
    assert make_strict(schema).problems == ("$.x: 'allOf' is not supported in openai strict mode",)
    strict = make_strict(schema, ANTHROPIC).schema
    assert strict is not None
    assert strict["properties"]["x"]["allOf"][0]["additionalProperties"] is False


def test_shared_refs_are_not_recursion() -> None:
    """A model used twice, through a chain of models, is not a recursive schema."""
    schema = {
        "type": "object",
        "$defs": {
            "Pair": {
                "type": "object",
                "properties": {"a": {"$ref": "#/$defs/Point"}, "b": {"$ref": "#/$defs/Point"}},
            },
            "Point": {"type": "object", "properties": {"x": {"$ref": "#/$defs/Coord"}}},
            "Coord": {"type": "number"},
        },
        "properties": {"pair": {"$ref": "#/$defs/Pair"}},
    }
    result = make_strict(schema, ANTHROPIC)
    assert result.problems == ()
    assert result.schema is not None
    assert result.schema["$defs"]["Coord"] == {"type": "number"}


def _nested_objects(levels: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A schema of ``levels`` objects nested under ``n``, the innermost with an optional ``x``
    that refuses null; and arguments reaching it with ``x: null``."""
    schema: dict[str, Any] = {"type": "object", "properties": {"x": {"type": "integer"}}}
    value: dict[str, Any] = {"x": None}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"n": schema}}
        value = {"n": value}
    return schema, value


def _nested_lists(levels: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """As :func:`_nested_objects`, through ``levels`` arrays of arrays under ``n``."""
    inner: dict[str, Any] = {"type": "object", "properties": {"x": {"type": "integer"}}}
    value: Any = {"x": None}
    for _ in range(levels):
        inner = {"type": "array", "items": inner}
        value = [value]
    return {"type": "object", "properties": {"n": inner}}, {"n": value}


def test_drop_absent_nulls_looks_32_levels_deep_and_no_further() -> None:
    """The arguments object is level 0; an object at level 32 is cleaned, at 33 left alone,
    whether the levels are objects or arrays."""
    schema, value = _nested_objects(32)
    cleaned: Any = drop_absent_nulls(schema, value)
    for _ in range(32):
        cleaned = cleaned["n"]
    assert cleaned == {}
    schema, value = _nested_objects(33)
    assert drop_absent_nulls(schema, value) == value
    schema, value = _nested_lists(31)  # the array under n is level 1, its object level 32
    cleaned = drop_absent_nulls(schema, value)["n"]
    for _ in range(30):
        cleaned = cleaned[0]
    assert cleaned == [{}]
    schema, value = _nested_lists(32)
    assert drop_absent_nulls(schema, value) == value


def test_drop_absent_nulls_keeps_every_other_key() -> None:
    """A dropped null does not end the walk: the keys after it, and keys the schema does not
    name, stay with their values."""
    schema = order_schema()
    arguments = {"ship_to": {"floor": None, "street": "Main"}, "unknown": 5, "item": "cup"}
    assert drop_absent_nulls(schema, arguments) == {
        "ship_to": {"street": "Main"},
        "unknown": 5,
        "item": "cup",
    }


def test_drop_absent_nulls_follows_refs_to_nullable_defs_and_merges_siblings() -> None:
    """A null for an optional whose $ref target accepts null is kept; a $ref's sibling
    keywords apply with its target's (here a 'required' next to it)."""
    schema = {
        "type": "object",
        "$defs": {
            "Maybe": {"type": ["string", "null"]},
            "Box": {"type": "object", "properties": {"size": {"type": "integer"}}},
        },
        "properties": {
            "label": {"$ref": "#/$defs/Maybe"},
            "box": {"$ref": "#/$defs/Box", "required": ["size"]},
            "other": {"$ref": "#/$defs/Box"},
        },
    }
    arguments = {"label": None, "box": {"size": None}, "other": {"size": None}}
    assert drop_absent_nulls(schema, arguments) == {
        "label": None,
        "box": {"size": None},
        "other": {},
    }


def test_drop_absent_nulls_without_defs_or_with_odd_values() -> None:
    """A $ref to '#/$defs/...' in a schema without (a mapping of) $defs resolves to nothing;
    a value that is not what its schema says passes as it is; a non-dict passes unchanged."""
    schema = {
        "type": "object",
        "properties": {
            "x": {"$ref": "#/$defs/X"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
    assert drop_absent_nulls(schema, {"x": {"a": None}, "tags": "solo"}) == {
        "x": {"a": None},
        "tags": "solo",
    }
    listed = {**schema, "$defs": ["not", "a", "mapping"]}
    assert drop_absent_nulls(listed, {"x": None}) == {}
    rows = {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "integer"}}}}
    given: Any = [{"x": None}]
    assert drop_absent_nulls(rows, given) is given


def test_recursion_is_found_past_a_cycle_that_does_not_return() -> None:
    """An entry that leads into a cycle of others is not itself recursive; the cycle's
    entries are (the search ends instead of going round the cycle)."""
    schema = {
        "type": "object",
        "$defs": {
            "Start": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}},
            "A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}},
            "B": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}},
        },
        "properties": {"s": {"$ref": "#/$defs/Start"}},
    }
    assert make_strict(schema, ANTHROPIC).problems == (
        "$.$defs.A: a recursive schema is not supported in anthropic strict mode",
        "$.$defs.B: a recursive schema is not supported in anthropic strict mode",
    )


def _ref_chain(links: int) -> dict[str, Any]:
    """An optional ``x`` whose $ref goes through ``links`` $defs entries to a nullable type."""
    defs: dict[str, Any] = {f"D{n}": {"$ref": f"#/$defs/D{n + 1}"} for n in range(1, links)}
    defs[f"D{links}"] = {"type": ["string", "null"]}
    return {"type": "object", "$defs": defs, "properties": {"x": {"$ref": "#/$defs/D1"}}}


def _any_of_nest(levels: int) -> dict[str, Any]:
    """An optional ``x`` that accepts null ``levels`` anyOf deep."""
    inner: dict[str, Any] = {"type": "null"}
    for _ in range(levels):
        inner = {"anyOf": [{"type": "string"}, inner]}
    return {"type": "object", "properties": {"x": inner}}


def test_null_is_looked_for_32_references_deep() -> None:
    """Through $refs or nested anyOf, null found within 32 steps counts; past that the
    property is judged not nullable and wrapped."""
    for build in (_ref_chain, _any_of_nest):
        near = make_strict(build(32)).schema
        far = make_strict(build(33)).schema
        assert near is not None
        assert far is not None
        assert near["properties"]["x"] == build(32)["properties"]["x"]
        assert far["properties"]["x"]["anyOf"][-1] == {"type": "null"}
        assert far["properties"]["x"]["anyOf"][0] == build(33)["properties"]["x"]


def test_any_of_is_nullable_only_with_a_null_branch() -> None:
    """anyOf of non-null types is wrapped; anyOf reaching a nullable $ref is not."""
    schema = {
        "type": "object",
        "$defs": {"Maybe": {"type": ["string", "null"]}},
        "properties": {
            "n": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "m": {"anyOf": [{"type": "integer"}, {"$ref": "#/$defs/Maybe"}]},
        },
    }
    strict = make_strict(schema).schema
    assert strict is not None
    assert strict["properties"] == {
        "n": {"anyOf": [{"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"type": "null"}]},
        "m": {"anyOf": [{"type": "integer"}, {"$ref": "#/$defs/Maybe"}]},
    }


def test_object_shapes_at_their_paths() -> None:
    """A nullable object type is closed; an empty or absent properties is refused unless it
    is closed already; nested $defs are dropped; a ref's target is checked at the ref."""
    schema = {
        "type": "object",
        "$defs": {"Short": {"type": "string", "maxLength": 3}, "Bad": 5},
        "properties": {
            "o": {"type": ["object", "null"], "properties": {"a": {"type": "string"}}},
            "e": {"type": "object", "properties": {}},
            "c": {"type": "object", "additionalProperties": False},
            "d": {"type": "object", "properties": {"a": {"type": "string"}}, "$defs": {"Z": {}}},
            "s": {"$ref": "#/$defs/Short", "description": "Short text."},
            "b": {"$ref": "#/$defs/Bad", "description": "Bad ref."},
        },
    }
    for rules in (OPENAI, ANTHROPIC):
        result = make_strict(schema, rules)
        assert result.problems == (
            "$.e: an object without 'properties' accepts any keys and cannot be strict",
            f"$.s: 'maxLength' is not supported in {rules.name} strict mode",
            "$.b: '$ref' '#/$defs/Bad' does not name an entry of '$defs'",
            f"$.$defs.Short: 'maxLength' is not supported in {rules.name} strict mode",
            "$.$defs.Bad: a schema must be an object, got int",
        )
    closed = {
        "type": "object",
        "properties": {
            "o": schema["properties"]["o"],  # type: ignore[index]
            "c": {"type": "object", "additionalProperties": False},
            "d": {"type": "object", "properties": {"a": {"type": "string"}}, "$defs": {"Z": {}}},
        },
        "required": ["o", "c", "d"],
    }
    for rules in (OPENAI, ANTHROPIC):
        strict = make_strict(closed, rules).schema
        assert strict is not None
        assert strict["properties"]["o"]["additionalProperties"] is False
        assert strict["properties"]["c"] == {"type": "object", "additionalProperties": False}
        assert "$defs" not in strict["properties"]["d"]


def test_anthropic_takes_min_items_of_one() -> None:
    """minItems up to 1 is accepted by Anthropic's strict mode."""
    schema = {"type": "object", "properties": {"k": {"type": "array", "minItems": 1}}}
    assert make_strict(schema, ANTHROPIC).problems == ()
