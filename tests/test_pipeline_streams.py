"""Streamed calls through whole pipelines: the default stages, interceptors that wrap streams,
sub-pipelines, conditions, plugins and retrievers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from toolware import (
    Document,
    ErrorCategory,
    Kind,
    LocalRegistry,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    StreamOutcome,
    ToolFailedError,
    default_builder,
    default_pipeline,
)
from toolware.types import CallNext


def streaming_registry() -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    async def words(text: str) -> AsyncIterator[str]:
        """Each word of a text, one per chunk."""
        for word in text.split():
            yield word

    @registry.tool(check_result=True)
    async def counts(values: list[Any]) -> AsyncIterator[int]:
        for value in values:
            yield value

    @registry.tool
    def lines(count: int) -> Iterator[str]:
        for n in range(count):
            time.sleep(0)
            yield f"line {n}"

    @registry.tool
    async def plain(text: str) -> str:
        return text

    return registry


async def test_the_default_pipeline_streams_chunks_in_order() -> None:
    registry = streaming_registry()
    async with default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("words", {"text": "a quick fox"})
        assert response.ok
        assert response.value is None
        assert response.stream is not None
        assert [word async for word in response.stream] == ["a", "quick", "fox"]
        plain = await pipeline.invoke("plain", {"text": "x"})
        assert plain.stream is None
        assert plain.value == "x"
        lines = await (await pipeline.invoke("lines", {"count": 3})).collect()
        assert lines.value == ["line 0", "line 1", "line 2"]


async def test_bad_arguments_are_an_ordinary_error_with_no_stream() -> None:
    async with default_pipeline(streaming_registry()) as pipeline:
        response = await pipeline.invoke("words", {"text": 3, "extra": 1})
        assert response.stream is None
        assert response.error is not None
        assert response.error.category is ErrorCategory.INVALID_REQUEST
        missing = await pipeline.invoke("wordz", {"text": "x"})
        assert missing.error is not None
        assert missing.error.category is ErrorCategory.NOT_FOUND


async def test_a_chunk_failing_its_check_ends_the_stream_with_tool_failed() -> None:
    """check_result=True validates each chunk: "3" becomes 3, None is refused mid-stream."""
    async with default_pipeline(streaming_registry()) as pipeline:
        response = await pipeline.invoke("counts", {"values": [1, "3", None, 4]})
        assert response.stream is not None
        received: list[int] = []

        async def consume() -> None:
            async for chunk in response.stream:  # type: ignore[union-attr]
                received.append(chunk)

        with pytest.raises(ToolFailedError) as caught:
            await consume()
        assert received == [1, 3]
        assert caught.value.target == "counts"
        assert "yielded None" in caught.value.message
        assert "int" in caught.value.message


class Uppercase:
    """An interceptor that wraps streams (and plain values) the documented way."""

    name = "uppercase"

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        if response.stream is not None:
            return response.with_stream(response.stream.map(str.upper))
        if isinstance(response.value, str):
            return response.with_value(response.value.upper())
        return response


async def test_an_interceptor_wraps_the_stream_outside_the_default_stages() -> None:
    registry = streaming_registry()
    pipeline = default_builder(registry).use(Uppercase(), first=True).route(registry).build()
    async with pipeline:
        response = await pipeline.invoke("words", {"text": "to be"})
        assert [chunk async for chunk in response.stream] == ["TO", "BE"]  # type: ignore[union-attr]
        assert (await pipeline.invoke("plain", {"text": "x"})).value == "X"


async def test_a_pipeline_routed_to_a_pipeline_streams_end_to_end() -> None:
    """The outer pipeline's stages see the inner pipeline's stream and wrap it in turn."""
    registry = streaming_registry()
    inner = default_pipeline(registry)
    seen: list[str] = []
    outer = (
        PipelineBuilder()
        .use(Uppercase())
        .use(lambda request, call_next: _tap(request, call_next, seen))
        .route(inner)
        .build()
    )
    async with outer:
        response = await outer.invoke("words", {"text": "end to end"})
        stream = response.stream
        assert stream is not None
        assert [chunk async for chunk in stream] == ["END", "TO", "END"]
        assert seen == ["end", "to", "end"]
        assert stream.outcome is StreamOutcome.COMPLETED


async def _tap(request: RequestContext, call_next: CallNext, seen: list[str]) -> ResponseContext:
    response = await call_next(request)
    if response.stream is None:
        return response
    return response.with_stream(response.stream.observe(on_chunk=seen.append))


async def test_a_conditional_stage_wraps_only_the_streams_it_matches() -> None:
    registry = streaming_registry()

    @registry.tool
    async def other(text: str) -> AsyncIterator[str]:
        yield text

    pipeline = (
        default_builder(registry)
        .use(Uppercase(), when={"words"}, first=True)
        .route(registry)
        .build()
    )
    async with pipeline:
        words = await (await pipeline.invoke("words", {"text": "a b"})).collect()
        other_response = await (await pipeline.invoke("other", {"text": "c"})).collect()
    assert words.value == ["A", "B"]
    assert other_response.value == ["c"]


async def test_plugin_actions_stream() -> None:
    registry = LocalRegistry()

    class Feed:
        async def items(self, count: int) -> AsyncIterator[int]:
            for n in range(count):
                yield n

        def name(self) -> str:
            return "feed"

    registry.plugin(Feed())
    async with default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("feed.items", {"count": 3}, kind=Kind.PLUGIN)
        assert (await response.collect()).value == [0, 1, 2]
        plain = await pipeline.invoke("feed.name", kind=Kind.PLUGIN)
        assert plain.stream is None
        assert plain.value == "feed"


async def test_a_streaming_retriever_yields_documents_up_to_k() -> None:
    registry = LocalRegistry()

    @registry.retriever
    async def hits(query: str, k: int) -> AsyncIterator[Document]:
        for n in range(10):
            await asyncio.sleep(0)
            yield Document(id=f"d{n}", text=f"{query} {n}", score=1.0 / (n + 1))

    async with default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("hits", {"query": "fox", "k": 3}, kind=Kind.RAG)
        documents = (await response.collect()).value
    assert [d.id for d in documents] == ["d0", "d1", "d2"]
    assert registry.list()[0].streaming is True


async def test_stream_errors_name_the_outer_call() -> None:
    """Errors raised mid-stream carry the id of the call the consumer made."""
    registry = LocalRegistry()

    @registry.tool
    async def flaky() -> AsyncIterator[int]:
        yield 1
        raise ConnectionError("peer reset")

    async with default_pipeline(registry) as pipeline:
        response = await pipeline.invoke("flaky")
        collected = await response.collect()
    error = collected.error
    assert isinstance(error, ToolFailedError)
    assert error.target == "flaky"
    assert error.request_id is not None
    assert len(error.request_id) == 32
    assert "ConnectionError" in error.message
    assert "after 1 chunk(s)" in error.message
    assert isinstance(error.__cause__, ConnectionError)
