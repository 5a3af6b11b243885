"""Lines of a rewritten text map back to the lines the user wrote."""

from __future__ import annotations

from toolware.migrate._lines import line_map


def test_equal_inserted_and_replaced_lines() -> None:
    """Unchanged lines shift with insertions; changed ones map to their block's first line."""
    original = "a\nb\nc\nd\n"
    changed = "new\na\nB1\nB2\nc\nd\nend\n"
    to_original = line_map(original, changed)
    assert [to_original(n) for n in range(1, 8)] == [1, 1, 2, 2, 3, 4, 5]


def test_identical_texts_map_each_line_to_itself() -> None:
    """No change: the identity."""
    to_original = line_map("x\ny\n", "x\ny\n")
    assert [to_original(1), to_original(2)] == [1, 2]
