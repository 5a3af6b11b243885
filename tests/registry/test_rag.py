"""Tests for toolware.registry.rag: ranking, the bounds of k and result checking."""

import dataclasses
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

from toolware import (
    Document,
    ErrorCategory,
    Kind,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    ToolFailedError,
    default_pipeline,
)
from toolware.errors import InvalidRequestError
from toolware.registry import Entry
from toolware.registry.rag import rank


def doc(id: str, score: float) -> Document:
    return Document(id=id, text=f"text {id}", score=score)


class ScriptedRetriever:
    """Returns whatever it was given, whatever k is; records the k it was asked for."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.asked: list[int] = []

    def retrieve(self, query: str, k: int) -> Sequence[Document]:
        self.asked.append(k)
        return self.result  # type: ignore[no-any-return]


def pipeline_for(retriever: Any, *, default_k: int = 2, max_k: int = 4) -> Pipeline:
    registry = LocalRegistry()
    registry.retriever(retriever, name="docs", default_k=default_k, max_k=max_k)
    return default_pipeline(registry)


async def search(pipeline: Pipeline, **arguments: Any) -> Any:
    return await pipeline.invoke("docs", {"query": "q", **arguments}, kind=Kind.RAG)


async def test_results_ranked_by_descending_score_and_cut_to_k() -> None:
    """Unordered results, more than k of them, come back best first and only k."""
    retriever = ScriptedRetriever([doc("low", 0.1), doc("high", 0.9), doc("mid", 0.5)])
    response = await search(pipeline_for(retriever), k=2)
    assert [d.id for d in response.unwrap()] == ["high", "mid"]
    assert retriever.asked == [2]


async def test_default_k_applies_when_k_is_not_given() -> None:
    """Without k the retriever is asked for default_k and the result is cut to it."""
    retriever = ScriptedRetriever([doc(str(i), i) for i in range(5)])
    response = await search(pipeline_for(retriever, default_k=3), query="q")
    assert [d.id for d in response.unwrap()] == ["4", "3", "2"]
    assert retriever.asked == [3]


async def test_ties_keep_the_retriever_order() -> None:
    """Documents with equal scores stay in the order the retriever gave them."""
    retriever = ScriptedRetriever([doc("a", 1.0), doc("b", 2.0), doc("c", 1.0), doc("d", 1.0)])
    response = await search(pipeline_for(retriever), k=4)
    assert [d.id for d in response.unwrap()] == ["b", "a", "c", "d"]


async def test_a_generator_result_is_ranked_too() -> None:
    """A retriever returning a generator (readable once) still gets ranked, not emptied.

    (A retriever that is itself a generator function streams instead: see below.)
    """

    def generate(query: str, k: int) -> Iterator[Document]:
        return iter([doc("x", 0.2), doc("y", 0.8)])

    registry = LocalRegistry()
    registry.retriever(generate, max_k=5)
    response = await default_pipeline(registry).invoke(
        "generate", {"query": "q", "k": 5}, kind=Kind.RAG
    )
    assert [d.id for d in response.unwrap()] == ["y", "x"]


async def test_async_retriever_is_ranked() -> None:
    """An async retriever's results are ranked the same way."""

    class Async:
        async def retrieve(self, query: str, k: int) -> list[Document]:
            return [doc("a", 0.1), doc("b", 0.3), doc("c", 0.2)]

    response = await search(pipeline_for(Async()), k=2)
    assert [d.id for d in response.unwrap()] == ["b", "c"]


@pytest.mark.parametrize("k", [0, -1, 5])
async def test_k_outside_bounds_is_an_invalid_request(k: int) -> None:
    """k must be within 1..max_k; the retriever is not called otherwise."""
    retriever = ScriptedRetriever([doc("a", 1.0)])
    response = await search(pipeline_for(retriever, max_k=4), k=k)
    assert response.error is not None
    assert response.error.category is ErrorCategory.INVALID_REQUEST
    assert [f.field for f in response.error.fields] == ["k"]  # type: ignore[attr-defined]
    assert response.error.fields[0].expected == "integer >= 1 and <= 4"  # type: ignore[attr-defined]
    assert retriever.asked == []


async def test_k_at_max_is_accepted() -> None:
    """k == max_k is allowed."""
    retriever = ScriptedRetriever([doc("a", 1.0)])
    response = await search(pipeline_for(retriever, max_k=4), k=4)
    assert response.ok
    assert retriever.asked == [4]


async def test_empty_query_is_an_invalid_request() -> None:
    """The query must be a non-empty string."""
    response = await search(pipeline_for(ScriptedRetriever([])), query="")
    assert response.error is not None
    assert [f.field for f in response.error.fields] == ["query"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("result", "returned"),
    [([doc("a", 1.0), {"id": "b", "score": 2.0}], "dict"), (None, "NoneType"), ("a", "str")],
)
async def test_non_document_results_are_refused(result: Any, returned: str) -> None:
    """Anything but Document objects is a tool failure naming what came back."""
    response = await search(pipeline_for(ScriptedRetriever(result)))
    error = response.error
    assert isinstance(error, ToolFailedError)
    assert isinstance(error.__cause__, TypeError)
    assert f"returned {returned}" in error.message
    assert "toolware.Document" in error.message


async def test_sync_retrieve_returning_an_awaitable_is_refused() -> None:
    """A non-async retrieve returning an awaitable is a clear tool failure."""

    class Later:
        def __await__(self) -> Iterator[None]:
            yield from ()

    response = await search(pipeline_for(ScriptedRetriever(Later())))
    assert isinstance(response.error, ToolFailedError)
    assert "not declared 'async def'" in response.error.message


def test_rank_is_usable_directly() -> None:
    """rank() sorts by descending score and cuts to k."""
    assert rank([doc("a", 0.0), doc("b", 1.0)], 1) == [doc("b", 1.0)]
    assert rank([], 3) == []


@pytest.mark.parametrize("k", [0, -1, 5, True, "3"])
async def test_k_is_checked_even_without_the_validation_interceptor(k: Any) -> None:
    """Routed with no interceptors, a bad k is invalid_request and never reaches the retriever."""
    retriever = ScriptedRetriever([doc("a", 1.0)])
    registry = LocalRegistry()
    registry.retriever(retriever, name="docs", default_k=2, max_k=4)
    pipeline = PipelineBuilder().route(registry).build()
    response = await pipeline.invoke("docs", {"query": "q", "k": k}, kind=Kind.RAG)
    assert response.error is not None
    assert response.error.category is ErrorCategory.INVALID_REQUEST
    assert [f.field for f in response.error.fields] == ["k"]  # type: ignore[attr-defined]
    assert retriever.asked == []


# -- streaming retrievers --------------------------------------------------------------------


class Source:
    """Yields the given documents (sync and async), recording how far it got and its close."""

    def __init__(self, documents: list[Any]) -> None:
        self.documents = documents
        self.produced = 0
        self.closed = False
        self.asked: list[int] = []

    def generate(self, query: str, k: int) -> Iterator[Any]:
        self.asked.append(k)
        try:
            for document in self.documents:
                self.produced += 1
                yield document
        finally:
            self.closed = True

    async def agenerate(self, query: str, k: int) -> AsyncIterator[Any]:
        self.asked.append(k)
        try:
            for document in self.documents:
                self.produced += 1
                yield document
        finally:
            self.closed = True


def rag_entry(retriever: Any, *, default_k: int = 2, max_k: int = 4) -> Entry:
    registry = LocalRegistry()
    registry.retriever(retriever, name="docs", default_k=default_k, max_k=max_k)
    return registry.resolve(Kind.RAG, "docs")


async def collect(stream: Any) -> list[Any]:
    return [chunk async for chunk in stream]


UNSORTED = [doc("low", 0.1), doc("high", 0.9), doc("mid", 0.5), doc("top", 1.0)]


async def test_async_streaming_retriever_yields_in_its_own_order_up_to_k() -> None:
    source = Source(UNSORTED)
    entry = rag_entry(source.agenerate)
    assert (entry.streaming, entry.is_async) == (True, True)
    assert [d.id for d in await collect(entry.function(query="q", k=3))] == ["low", "high", "mid"]
    assert source.asked == [3]
    assert source.produced == 3  # the fourth was never asked for
    assert source.closed is True


def test_sync_streaming_retriever_yields_in_its_own_order_up_to_k() -> None:
    source = Source(UNSORTED)
    entry = rag_entry(source.generate)
    assert (entry.streaming, entry.is_async) == (True, False)
    assert [d.id for d in entry.function(query="q", k=2)] == ["low", "high"]
    assert source.produced == 2
    assert source.closed is True


def test_calling_a_streaming_retriever_runs_nothing_until_stepped() -> None:
    source = Source(UNSORTED)
    stream = rag_entry(source.generate).function(query="q")
    assert source.asked == []
    assert next(stream) == UNSORTED[0]
    assert source.asked == [2]  # default_k


async def test_a_short_stream_ends_with_the_source() -> None:
    source = Source(UNSORTED[:1])
    assert await collect(rag_entry(source.agenerate).function(query="q", k=4)) == UNSORTED[:1]
    assert source.closed is True
    assert list(rag_entry(Source(UNSORTED[:1]).generate).function(query="q", k=4)) == [UNSORTED[0]]


async def test_closing_the_stream_early_runs_the_source_finally() -> None:
    async_source, sync_source = Source(UNSORTED), Source(UNSORTED)
    async_stream = rag_entry(async_source.agenerate).function(query="q", k=4)
    assert await anext(async_stream) == UNSORTED[0]
    await async_stream.aclose()
    assert (async_source.produced, async_source.closed) == (1, True)
    sync_stream = rag_entry(sync_source.generate).function(query="q", k=4)
    assert next(sync_stream) == UNSORTED[0]
    sync_stream.close()
    assert (sync_source.produced, sync_source.closed) == (1, True)


async def test_a_non_document_chunk_is_refused_and_the_source_closed() -> None:
    async_source = Source([doc("a", 1.0), {"id": "b"}])
    async_stream = rag_entry(async_source.agenerate).function(query="q", k=4)
    assert await anext(async_stream) == doc("a", 1.0)
    with pytest.raises(TypeError) as caught:
        await anext(async_stream)
    assert str(caught.value) == "a retriever yielded dict; yield toolware.Document objects"
    assert async_source.closed is True
    sync_source = Source(["text"])
    with pytest.raises(TypeError, match=r"a retriever yielded str; yield toolware\.Document"):
        list(rag_entry(sync_source.generate).function(query="q"))
    assert sync_source.closed is True


@pytest.mark.parametrize(("query", "k", "bad"), [("", 2, "query"), ("q", 5, "k"), ("q", 0, "k")])
async def test_streaming_retriever_checks_query_and_k_when_first_stepped(
    query: str, k: int, bad: str
) -> None:
    async_source, sync_source = Source(UNSORTED), Source(UNSORTED)
    with pytest.raises(InvalidRequestError) as caught:
        await anext(rag_entry(async_source.agenerate).function(query=query, k=k))
    assert [f.field for f in caught.value.fields] == [bad]
    with pytest.raises(InvalidRequestError):
        next(rag_entry(sync_source.generate).function(query=query, k=k))
    assert async_source.asked == sync_source.asked == []


def test_streaming_retriever_schemas() -> None:
    class Stream:
        """Search the docs."""

        async def retrieve(self, query: str, k: int) -> AsyncIterator[Document]:
            yield doc("a", 1.0)

    description = rag_entry(Stream(), max_k=4).description
    assert description.streaming is True
    assert description.description == "Search the docs."
    assert description.chunk_schema["title"] == "Document"
    assert set(description.chunk_schema["properties"]) == {
        field.name for field in dataclasses.fields(Document)
    }
    assert description.result_schema == {"type": "array", "items": description.chunk_schema}
    k_schema = description.args_schema["properties"]["k"]
    assert (k_schema["minimum"], k_schema["maximum"], k_schema["default"]) == (1, 4, 2)
    assert description.args_schema["required"] == ["query"]


def test_streaming_retriever_check_result_checks_each_document() -> None:
    registry = LocalRegistry()
    registry.retriever(Source(UNSORTED).generate, name="docs", check_result=True)
    validator = registry.resolve(Kind.RAG, "docs").result_validator
    assert validator is not None
    assert validator(UNSORTED[0]) == UNSORTED[0]
    with pytest.raises(ToolFailedError, match="'docs' yielded None"):
        validator(None)
