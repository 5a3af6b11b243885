"""Fixtures for the command-line tests: an importable app module with its own registry."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

APP = '''
import asyncio
import time
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
    return "cli_test_app"
