"""Tests for toolware.integrations._definitions: tool definitions and strict refusals."""

from __future__ import annotations

from toolware.integrations._definitions import StrictSchemaError, StrictSchemaProblem


def _problems(count: int) -> tuple[StrictSchemaProblem, ...]:
    return tuple(
        StrictSchemaProblem(f"f{n}", (f"$.a{n}: why", f"$.b{n}: also")) for n in range(count)
    )


def test_strict_schema_error_lists_five_functions_and_counts_the_rest() -> None:
    """Each function's reasons joined by ', '; past five, '(and N more)'."""
    listed = "; ".join(f"f{n}: $.a{n}: why, $.b{n}: also" for n in range(5))
    tail = (
        "; change their signatures, or pass strict='where_possible' to send them without "
        "strict mode"
    )
    assert str(StrictSchemaError(_problems(5))) == f"5 function(s) cannot be strict: {listed}{tail}"
    many = StrictSchemaError(_problems(7))
    assert str(many) == f"7 function(s) cannot be strict: {listed} (and 2 more){tail}"
    assert many.problems == _problems(7)
    assert str(StrictSchemaError(_problems(6))) == (
        f"6 function(s) cannot be strict: {listed} (and 1 more){tail}"
    )
