"""Tests for toolware.registry.schema: the argument validator built from type hints."""

import enum
import json
import uuid
from typing import Annotated, Any, Literal

import pydantic
import pytest
from typing_extensions import TypedDict

from toolware import FieldError, InvalidRequestError, Kind, LocalRegistry, RegistrationError
from toolware.context import Arguments
from toolware.registry import ArgumentValidator


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(pydantic.BaseModel):
    x: int
    y: int


def paint(
    count: int,
    color: Color = Color.RED,
    finish: Literal["matte", "gloss"] = "matte",
    coats: Annotated[int, pydantic.Field(ge=1, lt=10)] = 2,
    label: Annotated[str, pydantic.Field(min_length=2)] = "xx",
    sizes: list[float] | None = None,
) -> str:
    """Paint something."""
    return f"{count} {color.value} {finish} {coats} {label} {sizes}"


def validator_for(function: Any) -> ArgumentValidator:
    registry = LocalRegistry()
    registry.tool(function)
    return registry.resolve(Kind.TOOL, function.__name__).validator


def problems(arguments: dict[str, Any], *, strict: bool = False) -> list[FieldError]:
    with pytest.raises(InvalidRequestError) as caught:
        validator_for(paint).validate(Arguments(arguments), strict=strict)
    return list(caught.value.fields)


def test_lax_mode_converts_string_to_int() -> None:
    """By default "3" becomes 3 for an int parameter, and "red" becomes Color.RED."""
    validated = validator_for(paint).validate(Arguments({"count": "3", "color": "blue"}))
    assert validated == {"count": 3, "color": Color.BLUE}
    assert type(validated["count"]) is int


def test_strict_mode_refuses_conversion() -> None:
    """strict=True refuses "3" for an int but accepts a real int."""
    [field] = problems({"count": "3"}, strict=True)
    assert field.field == "count"
    assert field.expected == "integer"
    assert validator_for(paint).validate(Arguments({"count": 3}), strict=True) == {"count": 3}


def test_missing_argument_is_named() -> None:
    """A missing required argument names the field and what it expects."""
    assert problems({}) == [FieldError("count", "Field required", "integer")]


def test_wrong_type_is_named_with_expected_type() -> None:
    """A value of the wrong type names the field, the problem and the expected type."""
    [field] = problems({"count": "many"})
    assert field.field == "count"
    assert "valid integer" in field.problem
    assert field.expected == "integer"


def test_unexpected_argument_lists_the_accepted_ones() -> None:
    """An unknown argument is refused, listing the parameters that exist."""
    [field] = problems({"count": 1, "colour": "red"})
    assert field == FieldError(
        "colour", "unexpected argument", "one of: count, color, finish, coats, label, sizes"
    )


def test_literal_value_outside_the_choices() -> None:
    """A Literal parameter says which values it accepts."""
    [field] = problems({"count": 1, "finish": "satin"})
    assert field.field == "finish"
    assert field.expected == "one of 'matte', 'gloss'"


def test_enum_value_outside_the_choices() -> None:
    """An Enum parameter (a $ref in the schema) also lists its values, not 'object'."""
    [field] = problems({"count": 1, "color": "green"})
    assert field.field == "color"
    assert field.expected == "one of 'red', 'blue'"


@pytest.mark.parametrize("coats", [0, 10])
def test_numeric_constraint_violation_states_the_bounds(coats: int) -> None:
    """Annotated Field(ge=1, lt=10) violations describe both bounds."""
    [field] = problems({"count": 1, "coats": coats})
    assert field.field == "coats"
    assert field.expected == "integer >= 1 and < 10"
    assert "1" in field.problem or "10" in field.problem


def test_length_constraint_violation_states_the_bound() -> None:
    """A min_length constraint is described as a length."""
    [field] = problems({"count": 1, "label": "a"})
    assert field.field == "label"
    assert field.expected == "string length >= 2"


def test_nested_location_and_optional_list() -> None:
    """A bad list item is located by index; the expectation describes that item."""
    [field] = problems({"count": 1, "sizes": [1.5, "big"]})
    assert field.field == "sizes.1"
    assert field.expected == "number"


def test_every_bad_field_is_reported_at_once() -> None:
    """All problems come back together, and the message names each field once."""
    with pytest.raises(InvalidRequestError) as caught:
        validator_for(paint).validate(Arguments({"finish": "x", "extra": 1}))
    error = caught.value
    assert {f.field for f in error.fields} == {"count", "finish", "extra"}
    assert error.message == "invalid arguments for 'paint': count, extra, finish"


def test_arguments_are_not_echoed_in_to_dict() -> None:
    """Bad values (possibly secrets) never appear in the error's message or to_dict()."""
    secret = "sk-live-abcdef123456"
    with pytest.raises(InvalidRequestError) as caught:
        validator_for(paint).validate(
            Arguments({"count": secret, "finish": secret, "label": secret[:1]})
        )
    error = caught.value
    dumped = json.dumps(error.to_dict())
    assert secret not in dumped
    assert secret not in str(error)
    assert error.to_dict()["causes"] == ["pydantic_core._pydantic_core.ValidationError"]
    assert {f["field"] for f in error.to_dict()["fields"]} == {"count", "finish", "label"}


def test_only_given_arguments_are_returned() -> None:
    """Defaults are not filled in: the handler's own defaults apply to what is missing."""
    validated = validator_for(paint).validate(Arguments({"count": 2, "coats": "3"}))
    assert validated == {"count": 2, "coats": 3}
    assert paint(**validated) == "2 red matte 3 xx None"


def test_model_parameter_is_built_from_a_dict() -> None:
    """A pydantic model parameter accepts a JSON object and the handler gets the model."""

    def plot(point: Point) -> int:
        return point.x + point.y

    validated = validator_for(plot).validate(Arguments({"point": {"x": "1", "y": 2}}))
    assert validated == {"point": Point(x=1, y=2)}
    with pytest.raises(InvalidRequestError) as caught:
        validator_for(plot).validate(Arguments({"point": {"x": 1}}))
    assert [f.field for f in caught.value.fields] == ["point.y"]


def test_no_parameters_accepts_only_no_arguments() -> None:
    """A function without parameters refuses any argument, expecting none."""

    def ping() -> str:
        return "pong"

    validator = validator_for(ping)
    assert validator.validate(Arguments({})) == {}
    with pytest.raises(InvalidRequestError) as caught:
        validator.validate(Arguments({"x": 1}))
    assert caught.value.fields == (FieldError("x", "unexpected argument", "none"),)


def test_parameter_type_without_schema_is_refused_at_registration() -> None:
    """A parameter type pydantic cannot describe fails registration with the entry named."""

    class Opaque:
        pass

    def use(thing: Opaque) -> None:
        return None

    with pytest.raises(RegistrationError, match="cannot build an argument schema for 'use'"):
        LocalRegistry().tool(use)


class Card(TypedDict):
    type: Literal["card"]
    number: str


class Iban(TypedDict):
    type: Literal["iban"]
    iban: str


def pay(
    method: Annotated[Card | Iban, pydantic.Field(discriminator="type")],
    headers: dict[str, int],
    account: uuid.UUID,
) -> str:
    return "ok"


def test_input_fragments_and_dict_keys_never_reach_the_error() -> None:
    """Tags, dict keys and parse fragments of the input stay out of messages and fields."""
    with pytest.raises(InvalidRequestError) as caught:
        validator_for(pay).validate(
            Arguments(
                {
                    "method": {"type": "sk_live_SECRET", "number": "4111"},
                    "headers": {"Bearer SECRET-TOKEN": "x"},
                    "account": "12345678-aaaa-bbbb-cccc-SECRET",
                }
            )
        )
    wire = json.dumps(caught.value.to_dict())
    assert "SECRET" not in wire
    fields = {f.field: f for f in caught.value.fields}
    assert set(fields) == {"method", "headers.[key]", "account"}
    assert fields["method"].problem.endswith("expected tags: 'card', 'iban'")
    assert fields["method"].expected == "object"
    assert fields["headers.[key]"].expected == "integer"
    assert fields["account"].problem == "Input should be a valid UUID"
