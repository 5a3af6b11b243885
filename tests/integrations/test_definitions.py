"""Tests for toolware.integrations._definitions: tool definitions and strict refusals."""

from __future__ import annotations

import logging

import pytest

from toolware import LocalRegistry
from toolware.integrations._definitions import (
    StrictSchemaError,
    StrictSchemaProblem,
    definitions,
)


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


def test_where_possible_logs_each_function_with_all_its_reasons(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The warning joins the reasons with '; ' and carries function and reasons as extras."""
    registry = LocalRegistry()

    @registry.tool
    def tag(labels: dict[str, int], names: set[str]) -> int:
        return len(labels)

    with caplog.at_level(logging.WARNING, "toolware.integrations.definitions"):
        [made] = definitions(registry, "where_possible")
    assert (made.name, made.strict) == ("tag", False)
    reasons = (
        "$.labels: an object that accepts any further keys ('additionalProperties') cannot be "
        "strict; give it fixed properties (a model or TypedDict instead of a dict)",
        "$.names: 'uniqueItems' is not supported in openai strict mode",
    )
    [record] = caplog.records
    assert record.getMessage() == (
        f"definitions.not_strict function=tag reasons={reasons[0]}; {reasons[1]}"
    )
    assert (record.function, record.reasons) == ("tag", reasons)  # type: ignore[attr-defined]
