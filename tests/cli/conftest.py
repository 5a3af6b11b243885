"""Fixtures for the command-line tests: an importable app module with its own registry."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

APP = '''
import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import toolware

registry = toolware.LocalRegistry("app")


@registry.tool
def echo(**values: Any) -> dict[str, Any]:
    """Return the arguments."""
    return values


@registry.tool
async def hang(seconds: float = 60.0) -> None:
    """Wait (cancelled by the timeout)."""
    await asyncio.sleep(seconds)


@registry.retriever(name="echo")
def echo_documents(query: str, k: int) -> list[toolware.Document]:
    """Same name as the tool, another kind."""
    return []


@registry.tool
def nap(seconds: float = 5.0) -> str:
    """Block a worker thread (a timeout cannot interrupt it)."""
    time.sleep(seconds)
    return "awake"


@registry.tool
def shout(text: str, times: int = 1) -> str:
    """Repeat the text in capitals."""
    return text.upper() * times


events: list[str] = []


@registry.tool
async def count(n: int = 3) -> AsyncIterator[dict[str, int]]:
    """Count to n, one chunk per number."""
    try:
        for i in range(1, n + 1):
            events.append(f"produce {i}")
            yield {"i": i}
    finally:
        events.append("closed")


@registry.tool
def lines(n: int = 2) -> Iterator[str]:
    """A sync generator: n lines."""
    for i in range(n):
        yield f"line {i}"


@registry.tool
async def break_after(n: int = 2) -> AsyncIterator[int]:
    """Send n numbers, then fail."""
    for i in range(n):
        yield i
    raise RuntimeError("feed lost")


@registry.tool
async def fail_first() -> AsyncIterator[int]:
    """Fail before the first chunk."""
    raise ValueError("no data")
    yield 0


@registry.tool(idle_timeout=0.01)
async def stall() -> AsyncIterator[int]:
    """Send one chunk, then go quiet."""
    try:
        yield 1
        await asyncio.sleep(60)
        yield 2
    finally:
        events.append("stall closed")


pipeline = toolware.default_pipeline(registry)
number = 3


def make_registry() -> toolware.LocalRegistry:
    return registry
'''


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module with a registry, a factory, a pipeline and a number; its name."""
    (tmp_path / "cli_test_app.py").write_text(textwrap.dedent(APP))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "cli_test_app", raising=False)  # fresh events per test
    return "cli_test_app"
