"""V1 body texts: JSON with the str() fallback, the 404 text, the status rule."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.v1_support import Custom, Unprintable
from toolware.compat.v1._bodies import dumps, final_status, not_found_body, safe_str


class ReprOnly:
    def __str__(self) -> str:
        raise ValueError("no")

    def __repr__(self) -> str:
        return "ReprOnly()"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", '"plain"'),
        ({"a": [1, 2]}, '{\n  "a": [\n    1,\n    2\n  ]\n}'),
        (None, "null"),
        (Custom(), '"custom value"'),
        ({"x": Custom()}, '{\n  "x": "custom value"\n}'),
        (Unprintable(), '"<unprintable Unprintable object>"'),
        ({(1,): 2}, '"{(1,): 2}"'),
        ("é", '"\\u00e9"'),
        ('say "hi"\n', '"say \\"hi\\"\\n"'),
        (True, "true"),
        (False, "false"),
        (7, "7"),
        (-(2**70), "-1180591620717411303424"),
        (1.5, "1.5"),
        (float("nan"), "NaN"),
        ([True, None], "[\n  true,\n  null\n]"),
        # More digits than int-to-str allows (4300): json.dumps raises ValueError on it.
        pytest.param(10**5000, '"<unprintable int object>"', id="huge-int"),
        pytest.param({"n": 10**5000}, '"<unprintable dict object>"', id="huge-int-inside"),
    ],
)
def test_dumps(value: Any, text: str) -> None:
    """json.dumps(indent=2), str() for what JSON cannot hold, never raising."""
    assert dumps(value) == text


def test_dumps_cycle() -> None:
    """A reference cycle is written as its str()."""
    cycle: list[Any] = []
    cycle.append(cycle)
    assert dumps(cycle) == '"[[...]]"'


def test_safe_str() -> None:
    """str(), else repr(), else a placeholder naming the type."""
    assert safe_str(3) == "3"
    assert safe_str(ReprOnly()) == "ReprOnly()"
    assert safe_str(Unprintable()) == "<unprintable Unprintable object>"


@pytest.mark.parametrize(
    ("action_id", "method", "text"),
    [("ghost", "do", "Ghost 'do' not found."), ("MY_tool", "x", "My_tool 'x' not found.")],
)
def test_not_found_body(action_id: str, method: str, text: str) -> None:
    """str.capitalize() of the id (the rest lowered), quoting the method."""
    assert not_found_body(action_id, method) == text


@pytest.mark.parametrize(
    ("statuses", "final"),
    [
        ([201], 201),
        ([200], 200),
        ([200, 200], 200),
        ([200, 201], 201),
        ([201, 404, 500], 404),
        ([500, 404], 500),
        ([201, 400], 400),
        ([], 200),
    ],
)
def test_final_status(statuses: list[int], final: int) -> None:
    """The first neither 200 nor 201; else 201 if any; else 200."""
    assert final_status(statuses) == final


@pytest.mark.parametrize(
    "value",
    ["", "plain", "é ✓ \x00", 'q"\\', 0, -3, 2**80, True, False, None, 1.5, -0.0, 1e300],
)
def test_scalars_are_written_as_json_dumps_writes_them(value: Any) -> None:
    """The scalar shortcut is byte for byte json.dumps(value, indent=2)."""
    import json

    assert dumps(value) == json.dumps(value, indent=2)
