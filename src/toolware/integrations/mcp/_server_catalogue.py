"""The MCP tool list of a registry, built once per registry revision.

Every entry becomes one MCP tool: tools, plugin actions and RAG retrievers alike (retrievers
are tools rather than resources because an agent's model decides when to search and with
which query, and MCP resources are chosen by the host application, not by the model).

The listing is computed here as plain JSON-ready dicts, once, so ``tools/list`` and
``tools/call`` cost a dict lookup and no model building of our own; it is rebuilt only when
the registry's ``revision`` changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from toolware.context import Kind
from toolware.registry.base import EntryDescription, Registry
from toolware.registry.names import function_name

__all__ = ["Catalogue", "ToolNameCollisionError", "ToolNames", "ToolSpec", "build_catalogue"]

ToolNames = Literal["canonical", "function"]
"""How plugin actions are named on MCP: ``"canonical"`` (``notes.add``; MCP allows dots in tool
names since 2025-11-25) or ``"function"`` (``notes__add``, the form LLM function-calling APIs
accept, for hosts that pass MCP names to a model unchanged)."""

RESULT_KEY = "result"
"""The ``structuredContent`` key holding a result whose schema is not a JSON object: MCP
2025-11-25 requires an object there (and an ``outputSchema`` of type object)."""

WRAP_MARKER = "x-fastmcp-wrap-result"
"""Said in a wrapped ``outputSchema``: clients that know it (FastMCP's, toolware's
``McpRegistry``) give back the value under ``result``, not the wrapper."""


class ToolNameCollisionError(ValueError):
    """Two registry entries would be published under one MCP tool name."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """What an MCP tool name calls: the entry's kind, name and action, whether it streams,
    and whether its result is wrapped as ``{"result": value}`` in ``structuredContent``."""

    mcp_name: str
    kind: Kind
    name: str
    action: str | None
    streaming: bool
    wrap_result: bool
    listing: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The published tools: by MCP name, and the ``tools/list`` result, for one revision."""

    revision: int
    tools: Mapping[str, ToolSpec]
    listing: dict[str, Any]
    """Never changed once built: the SDK copies a handler's result before shaping it."""


def build_catalogue(
    registry: Registry, *, names: ToolNames = "canonical", rag_prefix: str = ""
) -> Catalogue:
    """The catalogue of ``registry`` at its current revision.

    Raises :class:`ToolNameCollisionError` when two entries map to one MCP name (a tool and
    a retriever both called ``search``, say): the message names both and the fix.
    """
    revision = registry.revision
    tools: dict[str, ToolSpec] = {}
    for description in registry.list():
        spec = _spec(description, names, rag_prefix)
        previous = tools.get(spec.mcp_name)
        if previous is not None:
            raise ToolNameCollisionError(
                f"two entries would be the MCP tool {spec.mcp_name!r}: the {previous.kind.value} "
                f"{_entry_name(previous)!r} and the {spec.kind.value} {_entry_name(spec)!r}; "
                "rename one, or publish retrievers under a prefix with McpServer(rag_prefix=...)"
            )
        tools[spec.mcp_name] = spec
    listing = {"tools": [dict(spec.listing) for spec in tools.values()], "resultType": "complete"}
    return Catalogue(revision=revision, tools=tools, listing=listing)


def _entry_name(spec: ToolSpec) -> str:
    return spec.name if spec.action is None else f"{spec.name}.{spec.action}"


def _spec(description: EntryDescription, names: ToolNames, rag_prefix: str) -> ToolSpec:
    mcp_name = function_name(description) if names == "function" else description.qualified_name
    if description.kind is Kind.RAG:
        mcp_name = rag_prefix + mcp_name
    tool: dict[str, Any] = {"name": mcp_name, "inputSchema": _input_schema(description)}
    if description.description:
        tool["description"] = description.description
    tool["outputSchema"], wrap = _output_schema(description)
    annotations = _annotations(description)
    if annotations:
        tool["annotations"] = annotations
    return ToolSpec(
        mcp_name=mcp_name,
        kind=description.kind,
        name=description.name,
        action=description.action,
        streaming=description.streaming,
        wrap_result=wrap,
        listing=tool,
    )


def _input_schema(description: EntryDescription) -> dict[str, Any]:
    schema = dict(description.args_schema)
    # A lazy entry not imported yet has no schema: any object, checked when it is called.
    if schema.get("type") != "object":
        schema["type"] = "object"
    return schema


def _output_schema(description: EntryDescription) -> tuple[dict[str, Any], bool]:
    """The ``outputSchema`` to publish and whether results are wrapped under ``result``."""
    schema = dict(description.result_schema)
    if not description.loaded or not schema:
        # The value's shape is unknown (no return annotation, a lazy entry): it is still
        # wrapped, and the schema says so, so that clients give back the value itself.
        schema = {}
    elif schema.get("type") == "object":
        return schema, False
    # Not an object (a number, a list, a union): wrap it. ``$defs`` stay at the root, where
    # the ``$ref``s inside the schema ("#/$defs/Note") point.
    defs = schema.pop("$defs", None)
    wrapper: dict[str, Any] = {
        "type": "object",
        "properties": {RESULT_KEY: schema},
        "required": [RESULT_KEY],
        WRAP_MARKER: True,
    }
    if defs is not None:
        wrapper["$defs"] = defs
    return wrapper, True


def _annotations(description: EntryDescription) -> dict[str, Any]:
    annotations: dict[str, Any] = {}
    if description.kind is Kind.RAG:
        annotations["readOnlyHint"] = True
    if description.idempotent:
        annotations["idempotentHint"] = True
    return annotations
