"""The MCP tool list built from a registry: names, schemas, hints, collisions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from toolware import Document, Kind, LocalRegistry
from toolware.integrations.mcp._server_catalogue import (
    ToolNameCollisionError,
    ToolSpec,
    build_catalogue,
)


@pytest.fixture
def registry() -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool(idempotent=True)
    def scale(x: float, factor: float = 2.0) -> float:
        """Multiply x."""
        return x * factor

    @registry.tool
    def card(name: str) -> dict[str, str]:
        return {"name": name}

    @registry.tool
    def words(text: str) -> Iterator[str]:
        yield from text.split()

    @registry.plugin
    class Notes:
        def add(self, text: str) -> int:
            return 1

    def search(query: str, k: int) -> list[Document]:
        return []

    registry.retriever(search, name="docs")
    return registry


def test_listing_is_exact(registry: LocalRegistry) -> None:
    """One tool dict per entry, in order; the list carries resultType for 2026 clients."""
    catalogue = build_catalogue(registry)
    assert catalogue.revision == registry.revision
    assert catalogue.listing["resultType"] == "complete"
    scale = catalogue.listing["tools"][0]
    assert scale == {
        "name": "scale",
        "inputSchema": dict(registry.list()[0].args_schema),
        "description": "Multiply x.",
        "outputSchema": {
            "type": "object",
            "properties": {"result": {"type": "number"}},
            "required": ["result"],
            "x-fastmcp-wrap-result": True,
        },
        "annotations": {"idempotentHint": True},
    }
    assert [tool["name"] for tool in catalogue.listing["tools"]] == [
        "scale", "card", "words", "notes.add", "docs",
    ]  # fmt: skip


def test_specs_say_what_each_name_calls(registry: LocalRegistry) -> None:
    """Kind, name, action, streaming, and whether the result is wrapped."""
    tools = build_catalogue(registry).tools

    def shape(spec: ToolSpec) -> tuple[object, ...]:
        return (spec.kind, spec.name, spec.action, spec.streaming, spec.wrap_result)

    assert shape(tools["scale"]) == (Kind.TOOL, "scale", None, False, True)
    assert shape(tools["card"]) == (Kind.TOOL, "card", None, False, False)
    assert shape(tools["words"]) == (Kind.TOOL, "words", None, True, True)
    assert shape(tools["notes.add"]) == (Kind.PLUGIN, "notes", "add", False, True)
    assert shape(tools["docs"]) == (Kind.RAG, "docs", None, False, True)
    assert tools["card"].listing["outputSchema"] == {
        "additionalProperties": {"type": "string"},
        "type": "object",
    }
    assert "annotations" not in tools["card"].listing
    assert tools["docs"].listing["annotations"] == {"readOnlyHint": True}


def test_defs_move_to_the_wrapper_root(registry: LocalRegistry) -> None:
    """A wrapped schema keeps $defs at the root, where its $refs point."""
    docs = build_catalogue(registry).tools["docs"].listing["outputSchema"]
    assert list(docs) == ["type", "properties", "required", "x-fastmcp-wrap-result", "$defs"]
    assert docs["properties"]["result"] == {"items": {"$ref": "#/$defs/Document"}, "type": "array"}
    assert set(docs["$defs"]) == {"Document"}
    assert "$defs" in registry.list()[-1].result_schema  # the registry's own is untouched


def test_function_names_and_prefix(registry: LocalRegistry) -> None:
    """notes__add for LLM-bound hosts; the prefix applies to retrievers only."""
    catalogue = build_catalogue(registry, names="function", rag_prefix="rag_")
    assert list(catalogue.tools) == ["scale", "card", "words", "notes__add", "rag_docs"]
    assert catalogue.tools["rag_docs"].name == "docs"


def test_collision_names_both_entries(registry: LocalRegistry) -> None:
    """A tool named like the retriever: refused, naming kinds, names and the fix."""

    @registry.tool
    def docs(query: str) -> str:
        return query

    with pytest.raises(ToolNameCollisionError) as caught:
        build_catalogue(registry)
    assert str(caught.value) == (
        "two entries would be the MCP tool 'docs': the rag 'docs' and the tool 'docs'; rename "
        "one, or publish retrievers under a prefix with McpServer(rag_prefix=...)"
    )
    assert isinstance(caught.value, ValueError)


def test_plugin_action_collision_names_the_action() -> None:
    """A prefix can make a retriever meet a plugin action: both named in full."""
    registry = LocalRegistry()

    @registry.plugin
    class Notes:
        def add(self, text: str) -> int:
            return 1

    @registry.retriever(name="add")
    def clash(query: str, k: int) -> list[Document]:
        return []

    with pytest.raises(ToolNameCollisionError) as caught:
        build_catalogue(registry, names="function", rag_prefix="notes__")
    assert str(caught.value).startswith(
        "two entries would be the MCP tool 'notes__add': the plugin 'notes.add' and the rag 'add'"
    )
