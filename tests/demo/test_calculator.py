"""Tests for toolware.demo.calculator: safe arithmetic with an allowlist."""

from __future__ import annotations

import math

import pytest

from toolware import Kind
from toolware.demo import build_registry
from toolware.demo.calculator import MAX_EXPONENT, MAX_LENGTH, calculator, evaluate


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 * (3 + 4) ** 2 / sqrt(16)", 24.5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-(3 - 5)", 2),
        ("+4", 4),
        ("1.5e3 / 3", 500.0),
        ("abs(-3)", 3),
        ("round(2.675, 1)", 2.7),
        ("round(2.5)", 2),
        ("floor(2.7) + ceil(2.1)", 5),
        ("min(3, 1, 2) + max(3, 1, 2)", 4),
        ("round(pi, 4)", 3.1416),
        ("log(e)", 1.0),
    ],
)
def test_evaluates_arithmetic(expression: str, expected: float) -> None:
    """Numbers, operators, parentheses and allowlisted functions evaluate like Python."""
    assert evaluate(expression) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("expression", "match"),
    [
        ("__import__('os').system('ls')", "calling .* is not allowed"),
        ("open('/etc/passwd')", "calling 'open' is not allowed"),
        ("x + 1", "unknown name 'x'"),
        ("(1).__class__", "attribute access"),
        ("math.pi", "attribute access"),
        ("[1, 2][0]", "not allowed"),
        ("'text'", "only numbers"),
        ("True + 1", "only numbers"),
        ("1j * 2", "only numbers"),
        ("1 << 2", "operator '<<' is not allowed"),
        ("not 1", "unary operator Not"),
        ("1 < 2", "Compare is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("round(2.5, ndigits=1)", "positional arguments only"),
        ("sqrt(1, 2)", "sqrt\\(\\)"),
        ("round(1.5, 0.5)", "whole number of digits"),
        ("1 +", "not an arithmetic expression"),
    ],
)
def test_refuses_anything_outside_the_allowlist(expression: str, match: str) -> None:
    """Names, attributes, calls, strings and other syntax are refused with a clear ValueError."""
    with pytest.raises(ValueError, match=match):
        evaluate(expression)


def test_exponent_is_bounded() -> None:
    """A huge exponent is refused before it is computed."""
    with pytest.raises(ValueError, match=f"the limit is {MAX_EXPONENT}"):
        evaluate("9 ** 9 ** 9")


def test_result_size_is_bounded() -> None:
    """Big integers are refused before they exhaust memory or the JSON encoder."""
    with pytest.raises(ValueError, match="bits"):
        evaluate("999 ** 999")
    with pytest.raises(ValueError, match="bits"):
        evaluate("(2 ** 900) ** 4 * (2 ** 900) ** 4")


def test_non_finite_results_are_refused() -> None:
    """Float overflow to infinity is an error, not a value that breaks JSON."""
    with pytest.raises(ValueError, match="not a finite number"):
        evaluate("1e308 * 10")


def test_long_expressions_are_refused() -> None:
    """Expressions longer than MAX_LENGTH are refused before parsing."""
    with pytest.raises(ValueError, match="characters long"):
        evaluate("1+" * MAX_LENGTH + "1")


def test_division_by_zero_raises() -> None:
    """Division by zero is the tool's failure (ZeroDivisionError), reported as tool_failed."""
    with pytest.raises(ZeroDivisionError):
        calculator("1 / (4 - 4)")


def test_registered_as_idempotent_with_a_schema() -> None:
    """The registry entry is idempotent and its schema requires the expression."""
    entry = build_registry().resolve(Kind.TOOL, "calculator")
    assert entry.description.idempotent is True
    assert entry.description.args_schema["required"] == ["expression"]
    assert math.isclose(calculator("sqrt(2) ** 2"), 2.0)
