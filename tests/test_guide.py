"""Every python block of the guides is a tested example: it runs as printed.

The guides are docs/guide.md, each page under docs/integrations/ and docs/migration.md.

Each block runs in a fresh namespace; a block with top-level ``await`` runs under
``asyncio.run``. A block that cannot run alone (rare: prefer a complete example) is preceded
by the line ``<!-- fragment -->`` and skipped. Failures point at the guide's own line numbers.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
from pathlib import Path
from typing import NamedTuple

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDE = DOCS / "guide.md"
PAGES = [
    GUIDE,
    *sorted((DOCS / "integrations").glob("*.md")),
    *sorted(DOCS.glob("migration.md")),
]
_BLOCK = re.compile(r"^(<!--\s*fragment\s*-->\s*\n)?```python\n(.*?)^```", re.M | re.S)


class Block(NamedTuple):
    line: int  # the line of the block's first line of code, 1-based
    code: str
    fragment: bool


def guide_blocks(text: str) -> list[Block]:
    """The python blocks of ``text``, each with where it starts and whether it is a fragment."""
    return [
        Block(
            line=text.count("\n", 0, match.start(2)) + 1,
            code=match.group(2),
            fragment=match.group(1) is not None,
        )
        for match in _BLOCK.finditer(text)
    ]


def run_block(block: Block, filename: str) -> None:
    """Run ``block`` in a fresh namespace; top-level ``await`` makes it a coroutine to run."""
    source = "\n" * (block.line - 1) + block.code  # tracebacks show the guide's line numbers
    code = compile(source, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace = {"__name__": "guide"}
    if code.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(code, namespace))
    else:
        exec(code, namespace)


BLOCKS = guide_blocks(GUIDE.read_text())
PAGE_BLOCKS = [
    (page, block)
    for page in PAGES
    for block in guide_blocks(page.read_text())
    if not block.fragment
]


def test_the_guide_has_examples() -> None:
    """The guide has python blocks, and most of them run (fragments are the exception)."""
    assert BLOCKS
    assert sum(b.fragment for b in BLOCKS) * 2 < len(BLOCKS)


@pytest.mark.parametrize(
    ("page", "block"),
    PAGE_BLOCKS,
    ids=[f"{page.relative_to(DOCS)}:{block.line}" for page, block in PAGE_BLOCKS],
)
def test_guide_block_runs(page: Path, block: Block, capsys: pytest.CaptureFixture[str]) -> None:
    """The block runs without an exception (its asserts are the guide's claims)."""
    run_block(block, str(page))
    capsys.readouterr()  # printed output is for readers; the block's asserts check it


def test_blocks_are_found_with_their_lines_and_fragment_marks() -> None:
    """The extractor finds each block, its first code line, and a preceding fragment mark."""
    text = "# t\n```python\nx = 1\n```\n<!-- fragment -->\n```python\ny\n```\n```sh\nz\n```\n"
    assert guide_blocks(text) == [Block(3, "x = 1\n", False), Block(7, "y\n", True)]


def test_async_blocks_run_under_asyncio_run() -> None:
    """A block with top-level await runs in an event loop; an error keeps the guide's line."""
    run_block(Block(1, "import asyncio\nawait asyncio.sleep(0)\n", False), "guide.md")
    with pytest.raises(ZeroDivisionError) as raised:
        run_block(Block(5, "await __import__('asyncio').sleep(0)\n1 / 0\n", False), "guide.md")
    assert raised.traceback[-1].lineno + 1 == 6
