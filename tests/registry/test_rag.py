"""Tests for toolware.registry.rag: ranking, the bounds of k and result checking."""

from collections.abc import Iterator, Sequence
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

    (A retriever that is itself a generator function streams instead: test_rag_streaming.)
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
