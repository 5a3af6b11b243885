"""The shape check of a legacy action: the 400 reason, or None."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

from toolware.compat.v1._actions import malformed


@pytest.mark.parametrize(
    ("action_id", "action", "reason"),
    [
        ("calc", {"method": "add", "params": {}}, None),
        ("calc", OrderedDict([("method", "add"), ("params", {})]), None),
        ("calc", {"method": "add", "params": OrderedDict()}, None),
        (1, {"method": "add", "params": {}}, "Action id must be a string, got int"),
        (
            "calc",
            ["add"],
            'Action \'calc\' must be an object {"method": ..., "params": {...}}, got list',
        ),
        (
            "calc",
            ["add", {}],
            'Action \'calc\' must be an object {"method": ..., "params": {...}}, got list',
        ),
        ("calc", {"params": {}}, "Action 'calc' is missing 'method'"),
        (
            "calc",
            {"method": "add"},
            "Action 'calc' is missing 'params'; send \"params\": {} for none",
        ),
        (
            "calc",
            {"method": "add", "params": {}, 2: 0, "b": 1},
            "Action 'calc' has unexpected keys ['2', 'b']: only 'method' and 'params'",
        ),
        (
            "calc",
            {"method": None, "params": {}},
            "Action 'calc' method must be a string, got NoneType",
        ),
        (
            "calc",
            {"method": "add", "params": "x"},
            "Action 'calc' params must be an object, got str",
        ),
    ],
)
def test_malformed(action_id: Any, action: Any, reason: str | None) -> None:
    """Each shape V1 could not run has its reason; well-formed actions have none."""
    assert malformed(action_id, action) == reason
