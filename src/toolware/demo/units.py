"""A unit conversion tool for length, mass and temperature.

The units are a ``Literal``, so the argument schema lists them and a misspelt unit is an
``invalid_request`` before the tool runs; converting between dimensions (kg to km) is refused
by the tool with a ``ValueError`` that names both dimensions.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["DIMENSIONS", "Unit", "convert", "convert_units"]

Unit = Literal[
    "mm", "cm", "m", "km", "in", "ft", "yd", "mi", "mg", "g", "kg", "t", "oz", "lb", "C", "F", "K"
]

# Linear units: how many base units (metre, kilogram) one unit is.
_LENGTH: dict[str, float] = {
    "mm": 0.001,
    "cm": 0.01,
    "m": 1.0,
    "km": 1000.0,
    "in": 0.0254,
    "ft": 0.3048,
    "yd": 0.9144,
    "mi": 1609.344,
}
_MASS: dict[str, float] = {
    "mg": 1e-6,
    "g": 0.001,
    "kg": 1.0,
    "t": 1000.0,
    "oz": 0.028349523125,
    "lb": 0.45359237,
}
# Temperatures: kelvin = (value + offset) * scale.
_TEMPERATURE: dict[str, tuple[float, float]] = {
    "K": (0.0, 1.0),
    "C": (273.15, 1.0),
    "F": (459.67, 5 / 9),
}

DIMENSIONS: dict[str, str] = {
    **dict.fromkeys(_LENGTH, "length"),
    **dict.fromkeys(_MASS, "mass"),
    **dict.fromkeys(_TEMPERATURE, "temperature"),
}


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit``, to 12 significant digits
    (temperatures to 9 decimals)."""
    source, target = _dimension(from_unit), _dimension(to_unit)
    if source != target:
        raise ValueError(
            f"cannot convert {from_unit} ({source}) to {to_unit} ({target}); "
            f"pick a {source} unit: {', '.join(u for u, d in DIMENSIONS.items() if d == source)}"
        )
    if source == "temperature":
        offset, scale = _TEMPERATURE[from_unit]
        kelvin = (value + offset) * scale
        if kelvin < 0:
            raise ValueError(f"{value} {from_unit} is below absolute zero")
        offset, scale = _TEMPERATURE[to_unit]
        result = round(kelvin / scale - offset, 9)  # 32 F is 0 C, not 5.7e-14 C
    else:
        factors = _LENGTH if source == "length" else _MASS
        result = value * factors[from_unit] / factors[to_unit]
    return float(f"{result:.12g}")


def _dimension(unit: str) -> str:
    try:
        return DIMENSIONS[unit]
    except KeyError:
        raise ValueError(f"unknown unit {unit!r}; known: {', '.join(DIMENSIONS)}") from None


def convert_units(value: float, from_unit: Unit, to_unit: Unit) -> float:
    """Convert a length, mass or temperature between units (e.g. 26.2 mi to km)."""
    return convert(value, from_unit, to_unit)
