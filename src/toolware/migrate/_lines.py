"""Map a line of a rewritten text back to the line of the original it came from.

The rewrites run one after another, and a later one reports findings by its own input's lines;
the report must name the lines of the file as the user wrote it.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Callable

__all__ = ["line_map"]


def line_map(original: str, changed: str) -> Callable[[int], int]:
    """A function from a 1-based line of ``changed`` to the 1-based line of ``original``.

    A line inside a replaced or inserted block maps to the first original line of that block.
    """
    matcher = difflib.SequenceMatcher(
        None, original.splitlines(), changed.splitlines(), autojunk=False
    )
    blocks = matcher.get_opcodes()
    starts = [j1 for _, _, _, j1, _ in blocks]

    def to_original(line: int) -> int:
        index = max(bisect.bisect_right(starts, line - 1) - 1, 0)
        tag, i1, _, j1, _ = blocks[index]
        if tag == "equal":
            return i1 + (line - 1 - j1) + 1
        return i1 + 1

    return to_original
