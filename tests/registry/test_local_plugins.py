"""Tests for toolware.registry.local: plugin classes and RAG retrievers."""

import pytest

from tests.registry.registry_support import Notes
from toolware import (
    Document,
    Kind,
    LocalRegistry,
    RegistrationError,
    default_pipeline,
)

# -- plugins ---------------------------------------------------------------------------------


def test_plugin_class_each_public_method_is_an_action() -> None:
    """A class registers one entry per public method; private and dunder methods are excluded."""
    registry = LocalRegistry()
    assert registry.plugin(Notes) is Notes
    listed = {d.qualified_name: d for d in registry.list()}
    assert set(listed) == {"notes.add", "notes.show"}
    add = registry.resolve(Kind.PLUGIN, "notes", "add")
    show = registry.resolve(Kind.PLUGIN, "notes", "show")
    assert add.description.kind is Kind.PLUGIN
    assert add.description.action == "add"
    assert add.is_async is False
    assert show.is_async is True
    assert add.description.description == "Add a note; returns how many there are."
    assert show.description.description == "Keep short notes."  # class docstring stands in
    assert set(add.description.args_schema["properties"]) == {"text"}  # no "self"
    assert add.description.result_schema == {"type": "integer"}


def test_plugin_decorator_with_options() -> None:
    """@registry.plugin(name=..., tags=...) applies the options to every action."""
    registry = LocalRegistry()

    @registry.plugin(name="memo", tags={"notes"}, idempotent=True)
    class Memo:
        def read(self) -> str:
            return ""

        def write(self, text: str) -> None:
            return None

    descriptions = registry.list()
    assert {d.qualified_name for d in descriptions} == {"memo.read", "memo.write"}
    assert all(d.tags == frozenset({"notes"}) and d.idempotent for d in descriptions)


async def test_plugin_instance_registration_uses_that_instance() -> None:
    """Registering an instance calls its methods, so its state is the caller's state."""
    registry = LocalRegistry()
    notes = Notes()
    registry.plugin(notes)
    pipeline = default_pipeline(registry)
    first = await pipeline.invoke("notes", {"text": "a"}, kind=Kind.PLUGIN, action="add")
    second = await pipeline.invoke("notes", {"text": "b"}, kind=Kind.PLUGIN, action="add")
    shown = await pipeline.invoke("notes", kind=Kind.PLUGIN, action="show")
    assert (first.unwrap(), second.unwrap()) == (1, 2)
    assert shown.unwrap() == ["a", "b"]
    assert notes.items == ["a", "b"]


def test_plugin_without_public_methods_is_refused() -> None:
    """A plugin must expose at least one action."""
    registry = LocalRegistry()

    class Empty:
        def _hidden(self) -> None:
            return None

    with pytest.raises(RegistrationError, match="no public methods"):
        registry.plugin(Empty)


def test_plugin_class_that_needs_arguments_is_refused_with_a_hint() -> None:
    """A class that cannot be built with no arguments is refused, suggesting an instance."""
    registry = LocalRegistry()

    class Client:
        def __init__(self, url: str) -> None:
            self.url = url

        def get(self) -> str:
            return self.url

    with pytest.raises(RegistrationError, match=r"register an instance instead"):
        registry.plugin(Client)
    registry.plugin(Client("http://x"))
    assert registry.resolve(Kind.PLUGIN, "client", "get").function() == "http://x"


# -- retrievers ------------------------------------------------------------------------------


class KeywordIndex:
    """Search a fixed list of documents."""

    def retrieve(self, query: str, k: int) -> list[Document]:
        """Documents containing the query."""
        return [Document(id="1", text=f"about {query}", score=1.0)][:k]


class AsyncIndex:
    async def retrieve(self, query: str, k: int) -> list[Document]:
        return [Document(id="a", text=query, score=0.5)]


async def test_retriever_object_with_sync_retrieve() -> None:
    """An object with retrieve(query, k) is a RAG entry named after its class, run in a thread."""
    registry = LocalRegistry()
    registry.retriever(KeywordIndex())
    entry = registry.resolve(Kind.RAG, "keyword_index")
    assert entry.description.kind is Kind.RAG
    assert entry.is_async is False
    assert entry.description.description == "Documents containing the query."
    assert entry.description.args_schema["required"] == ["query"]
    response = await default_pipeline(registry).invoke(
        "keyword_index", {"query": "tea"}, kind=Kind.RAG
    )
    assert response.unwrap() == [Document(id="1", text="about tea", score=1.0)]


async def test_retriever_object_with_async_retrieve() -> None:
    """An async retrieve method makes an async entry; default_k and max_k shape the schema."""
    registry = LocalRegistry()
    registry.retriever(AsyncIndex(), name="docs", default_k=3, max_k=7)
    entry = registry.resolve(Kind.RAG, "docs")
    assert entry.is_async is True
    k = entry.description.args_schema["properties"]["k"]
    assert (k["default"], k["minimum"], k["maximum"]) == (3, 1, 7)
    response = await default_pipeline(registry).invoke("docs", {"query": "q"}, kind=Kind.RAG)
    assert response.unwrap() == [Document(id="a", text="q", score=0.5)]


async def test_retriever_plain_function_and_decorator_form() -> None:
    """A (query, k) function registers under its own name, bare or through the decorator."""
    registry = LocalRegistry()

    @registry.retriever(max_k=10, tags={"faq"})
    def faq(query: str, k: int) -> list[Document]:
        """Frequently asked questions."""
        return [Document(id=str(i), text=query, score=float(i)) for i in range(k)]

    entry = registry.resolve(Kind.RAG, "faq")
    assert entry.description.description == "Frequently asked questions."
    assert entry.description.tags == frozenset({"faq"})
    response = await default_pipeline(registry).invoke("faq", {"query": "x", "k": 2}, kind=Kind.RAG)
    assert [d.id for d in response.unwrap()] == ["1", "0"]


@pytest.mark.parametrize(("default_k", "max_k"), [(0, 5), (6, 5)])
def test_retriever_k_bounds_are_checked_at_registration(default_k: int, max_k: int) -> None:
    """default_k must lie within 1..max_k."""
    registry = LocalRegistry()
    with pytest.raises(RegistrationError, match="default_k"):
        registry.retriever(KeywordIndex(), default_k=default_k, max_k=max_k)
