"""Tests for toolware._limits: how caller-supplied text and names are bounded before echoing."""

from __future__ import annotations

from toolware._limits import MAX_NAME_CHARS, bounded, safe_name


def test_text_at_the_limit_is_kept_whole() -> None:
    """Exactly ``limit`` characters pass unchanged; one more is cut with a marker."""
    assert bounded("a" * 100, 100) == "a" * 100
    longer = bounded("a" * 101, 100)
    assert len(longer) <= 100
    assert longer.endswith("more characters]")


def test_a_name_at_the_limit_gets_no_marker() -> None:
    """A name of exactly the limit is shown as it is; a longer one is cut and marked."""
    assert safe_name("a" * MAX_NAME_CHARS) == "a" * MAX_NAME_CHARS
    assert safe_name("a" * (MAX_NAME_CHARS + 1)) == "a" * MAX_NAME_CHARS + "..."


def test_only_control_characters_are_escaped() -> None:
    """Printable non-ASCII letters stay; a newline is shown as an escape."""
    assert safe_name("café\nx") == "café\\nx"


def test_integers_are_shown_only_within_eighteen_digits() -> None:
    """List indexes and other ints strictly between -10**18 and 10**18 are shown; larger
    ones are named by their type (their text could be huge)."""
    assert safe_name(10**18 - 1) == str(10**18 - 1)
    assert safe_name(-(10**18) + 1) == str(-(10**18) + 1)
    assert safe_name(10**18) == "<int>"
    assert safe_name(-(10**18)) == "<int>"
    assert safe_name(True) == "<bool>"
