"""Tests for toolware.demo.units: length, mass and temperature conversion."""

from __future__ import annotations

from typing import get_args

import pytest

from toolware import Kind
from toolware.demo import build_registry
from toolware.demo.units import DIMENSIONS, Unit, convert, convert_units


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (26.2, "mi", "km", 42.1648128),
        (1, "km", "m", 1000),
        (12, "in", "ft", 1),
        (3, "ft", "yd", 1),
        (1, "lb", "oz", 16),
        (1, "t", "kg", 1000),
        (1, "mg", "g", 0.001),
        (100, "C", "F", 212),
        (32, "F", "C", 0),
        (-40, "F", "C", -40),
        (0, "K", "C", -273.15),
        (5, "m", "m", 5),
    ],
)
def test_converts_within_a_dimension(
    value: float, source: str, target: str, expected: float
) -> None:
    """Linear units scale and temperatures shift, exactly to 12 significant digits."""
    assert convert(value, source, target) == pytest.approx(expected, abs=1e-12)


def test_refuses_incompatible_units() -> None:
    """Converting mass to length is refused, naming both dimensions and the valid units."""
    with pytest.raises(ValueError, match=r"cannot convert kg \(mass\) to km \(length\); .*lb"):
        convert_units(5, "kg", "km")


def test_refuses_unknown_units() -> None:
    """An unknown unit (possible only when bypassing the schema) is a ValueError."""
    with pytest.raises(ValueError, match="unknown unit 'stone'"):
        convert(1, "stone", "kg")


def test_refuses_temperatures_below_absolute_zero() -> None:
    """-300 C does not exist."""
    with pytest.raises(ValueError, match="below absolute zero"):
        convert(-300, "C", "K")


def test_every_unit_has_a_dimension() -> None:
    """The Literal the schema is built from and the conversion tables agree."""
    assert set(get_args(Unit)) == set(DIMENSIONS)


def test_schema_lists_the_units() -> None:
    """The argument schema lists every unit, so agents see them; the tool is idempotent."""
    description = build_registry().resolve(Kind.TOOL, "convert_units").description
    properties = description.args_schema["properties"]
    assert properties["from_unit"]["enum"] == list(get_args(Unit))
    assert properties["to_unit"]["enum"] == list(get_args(Unit))
    assert description.idempotent is True
