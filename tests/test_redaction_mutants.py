"""Mutation-testing pins for toolware.redaction: the default bounds and dashed key fragments."""

from __future__ import annotations

from typing import Any

from toolware.redaction import REDACTED, Redactor, redact


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_default_bounds_are_1000_chars_100_items_depth_8() -> None:
    """Without options: strings cut past 1000 characters, containers past 100 items, depth 8."""
    for copy in (redact, Redactor()):
        assert copy("a" * 1000) == "a" * 1000
        assert copy("a" * 1001) == "a" * 1000 + "...[+1 chars]"
        assert copy(list(range(100))) == list(range(100))
        assert copy(list(range(101))) == [*range(100), "[+1 items]"]
        assert copy(nested(8)) == nested(8)
        deepest: Any = copy(nested(9))
        for _ in range(8):
            deepest = deepest[0]
        assert deepest == "[list deeper than max_depth=8]"


def test_dashed_key_fragments_match_dashes_and_underscores() -> None:
    """A key fragment given with '-' matches keys written with '-' or '_'."""
    redactor = Redactor(keys=("X-Ssn",))
    assert redactor({"x-ssn": 1, "X_SSN": 2, "ssn": 3}) == {
        "x-ssn": REDACTED,
        "X_SSN": REDACTED,
        "ssn": 3,
    }
