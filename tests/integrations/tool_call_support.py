"""A registry for the tool-calling tests: plain, plugin, RAG, streaming and failing entries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from toolware import Document, LocalRegistry, PipelineBuilder, RequestContext, ResponseContext
from toolware.extras import ExtraKey
from toolware.integrations.openai import TOOL_CALL_ID
from toolware.pipeline import Pipeline
from toolware.testing import FakeClock
from toolware.types import Handler


class Notes:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, text: str) -> int:
        """Store a note; returns how many there are."""
        self.texts.append(text)
        return len(self.texts)


def build_registry(seen: list[dict[str, Any]] | None = None) -> LocalRegistry:
    """``add``, ``echo_context`` (records what each call carried into ``seen``), ``boom``,
    ``count_to`` (streams), ``flaky_stream``, the plugin ``notes`` and the retriever ``docs``."""
    registry = LocalRegistry("calls")
    records = seen if seen is not None else []

    @registry.tool
    def add(a: int, b: int = 2, note: str | None = None) -> int:
        """Add two numbers."""
        return a + b if note is None else -(a + b)

    @registry.tool
    async def echo_context(ctx: RequestContext, word: str) -> str:
        """Say the word back."""
        records.append(
            {
                "principal": ctx.principal.id if ctx.principal else None,
                "trace": ctx.trace.traceparent if ctx.trace else None,
                "call_id": ctx.get(TOOL_CALL_ID),
                "deadline": ctx.deadline,
            }
        )
        return word

    @registry.tool
    async def boom(reason: str) -> str:
        """Always fails."""
        raise RuntimeError(reason)

    @registry.tool
    async def count_to(n: int) -> AsyncIterator[int]:
        """Count from 1 to n."""
        for i in range(1, n + 1):
            yield i

    @registry.tool
    async def flaky_stream() -> AsyncIterator[str]:
        """Two chunks, then a failure."""
        yield "a"
        yield "b"
        raise ConnectionError("peer reset")

    @registry.tool
    async def pause(seconds: float) -> float:
        """Sleep (really) for a little while."""
        await asyncio.sleep(seconds)
        return seconds

    registry.plugin(Notes())

    def search_docs(query: str, k: int) -> list[Document]:
        """Search the documentation."""
        return [Document("guide", f"about {query}", score=1.0)][:k]

    registry.retriever(search_docs, name="docs")
    return registry


TENANT: ExtraKey[str] = ExtraKey("tenant", str)
"""An extra the options tests send with every call of a batch."""


@dataclass
class OptionsBench:
    """A pipeline that routes to another pipeline (so the calls need ``registry=``), with an
    interceptor recording each request's :data:`TENANT`, and a ``work`` tool recording how
    many of its calls ran at once; on a fake clock at 1000.0."""

    registry: LocalRegistry
    pipeline: Pipeline
    seen: list[dict[str, Any]]
    tenants: list[str | None] = field(default_factory=list)
    most_at_once: int = 0
    running: int = 0


def options_bench() -> OptionsBench:
    seen: list[dict[str, Any]] = []
    registry = build_registry(seen)
    clock = FakeClock()
    inner = PipelineBuilder(clock=clock).route(registry).build()

    async def record(request: RequestContext, call_next: Handler) -> ResponseContext:
        bench.tenants.append(request.get(TENANT))
        return await call_next(request)

    outer = PipelineBuilder(clock=clock).use(record).route(inner).build()
    bench = OptionsBench(registry, outer, seen)

    @registry.tool
    async def work(n: int) -> int:
        """Yield to the loop a few times, counting the calls in flight."""
        bench.running += 1
        bench.most_at_once = max(bench.most_at_once, bench.running)
        for _ in range(3):
            await asyncio.sleep(0)
        bench.running -= 1
        return n

    return bench
