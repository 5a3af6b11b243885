"""A registry for the tool-calling tests: plain, plugin, RAG, streaming and failing entries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from toolware import Document, LocalRegistry, RequestContext
from toolware.integrations.openai import TOOL_CALL_ID


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
