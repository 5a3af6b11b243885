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


def test_a_long_run_of_repeated_lines_is_matched_line_by_line() -> None:
    """difflib's autojunk would treat lines repeated in a 200+-line file as junk and map every
    line after an insertion to one spot; each line must keep its own place."""
    original = "    0,\n    1,\n" * 150
    changed = "    0,\n    1,\n" * 75 + "new\n" + "    0,\n    1,\n" * 75
    to_original = line_map(original, changed)
    assert [to_original(n) for n in (150, 151, 152, 160, 301)] == [150, 151, 151, 159, 300]


def test_a_line_past_a_deletion_shifts_back() -> None:
    """Lines removed from the original: the lines after them map past the gap."""
    to_original = line_map("a\nb\nc\nd\n", "a\nd\n")
    assert [to_original(1), to_original(2)] == [1, 4]
