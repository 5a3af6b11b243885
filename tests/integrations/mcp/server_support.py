"""What the MCP server tests share: a registry with one entry per behaviour, a recording
interceptor, and the source of an importable app module for the real-process tests."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import toolware
from toolware import (
    CallNext,
    Document,
    LocalRegistry,
    RateLimitedError,
    RequestContext,
    ResponseContext,
)

SRC = str(Path(toolware.__file__).resolve().parents[1])
"""The toolware sources under test, for the PYTHONPATH of child processes."""


@dataclass(frozen=True)
class Note:
    """One stored note."""

    id: int
    text: str


class Events:
    """What the tools saw, for the tests to assert on."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()


def build_registry(events: Events) -> LocalRegistry:
    """A registry with one entry per behaviour the server must map."""
    registry = LocalRegistry("app")

    @registry.tool(idempotent=True)
    async def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @registry.tool
    def profile(name: str) -> dict[str, str]:
        """A greeting card."""
        return {"name": name, "greeting": f"hello {name}"}

    @registry.tool
    async def explode(reason: str) -> str:
        """Always fails."""
        raise RuntimeError(f"boom: {reason}")

    @registry.tool
    async def busy() -> str:
        """Always refused."""
        raise RateLimitedError("slow down", retry_after=2.0)

    @registry.tool
    async def count(n: int) -> AsyncIterator[int]:
        """Count from 1 to n."""
        try:
            for i in range(1, n + 1):
                yield i
        finally:
            events.log.append("count closed")

    @registry.tool
    async def break_after(n: int) -> AsyncIterator[str]:
        """Send n words, then fail."""
        for i in range(n):
            yield f"word {i}"
        raise ConnectionError("feed lost")

    @registry.tool
    async def wait_forever() -> str:
        """Wait until cancelled."""
        events.log.append("waiting")
        events.started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.log.append("cancelled")
            events.cancelled.set()
            raise
        return "never"

    @registry.tool
    async def trickle() -> AsyncIterator[int]:
        """One chunk, then nothing until cancelled."""
        try:
            yield 1
            events.started.set()
            await asyncio.sleep(3600)
            yield 2
        finally:
            events.log.append("trickle closed")
            events.cancelled.set()

    @registry.plugin
    class Notes:
        """Notes kept in memory."""

        def add(self, text: str) -> int:
            """Store a note; returns its id."""
            return len(text)

        def list(self) -> list[Note]:
            """Every note."""
            return [Note(1, "tea"), Note(2, "coffee")]

    def search(query: str, k: int) -> list[Document]:
        """Search the notes."""
        found = [Document("d1", f"about {query}", score=0.5), Document("d2", query, score=0.9)]
        return found  # toolware ranks by score and cuts to k

    registry.retriever(search, name="docs", default_k=2, max_k=5)
    return registry


class Recorder:
    """An interceptor that keeps every request it sees."""

    def __init__(self) -> None:
        self.requests: list[RequestContext] = []

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        self.requests.append(request)
        return await call_next(request)


APP = '''
import asyncio
from collections.abc import AsyncIterator

import toolware

registry = toolware.LocalRegistry("app")


@registry.tool
async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@registry.tool
async def count(n: int) -> AsyncIterator[int]:
    """Count from 1 to n."""
    for i in range(1, n + 1):
        yield i


@registry.tool
async def explode() -> str:
    """Always fails."""
    print("a stray print must not reach the protocol stream")
    raise RuntimeError("boom")


seen = []


async def record(request, call_next):
    seen.append(request)
    return await call_next(request)


@registry.tool
def last_trace() -> str:
    """The traceparent of the call before this one."""
    return seen[-2].trace.traceparent if len(seen) > 1 and seen[-2].trace else "none"


pipeline = toolware.default_builder(registry).use(record, first=True).route(registry).build()
'''

LAUNCHER = "import sys\nfrom toolware.cli import run\nsys.exit(run())\n"
"""The ``toolware`` console script, run by the interpreter under test."""


def write_app(directory: Path) -> str:
    """Write the app module into ``directory``; its module name."""
    (directory / "mcp_server_app.py").write_text(APP)
    return "mcp_server_app"


def child_env() -> dict[str, str]:
    """The environment of a child process running the toolware under test."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def command(*args: str) -> list[str]:
    """``toolware ARGS...`` as a child process command line."""
    return [sys.executable, "-c", LAUNCHER, *args]
