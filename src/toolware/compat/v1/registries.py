"""The V1 registry classes: ``ToolRegistry``, ``RAGRegistry``, ``PluginRegistry``.

Each keeps its handlers in a public dict (``.tools``, ``.rags``, ``.plugins``) keyed by the
handler's ``identifier``, with V1's methods: ``register_*`` (``ValueError`` on a duplicate id
or a missing ``description``), ``get_*`` (the handler or ``None``), ``list_*``
(``["<id> - <brief>"]``), ``count_*``, ``remove_*`` (``ValueError`` if absent) and
``get_*s()`` (function-calling schemas: the handler's ``get_schema()``, or a minimal
``{tool, description, parameters: {input: string}}``).

Deviations, both for bad input V1 crashed on: a handler without a string ``identifier`` is
refused with ``ValueError`` (V1: ``AttributeError``), and ``list_*`` shows an empty brief for a
handler without ``brief`` (V1: ``AttributeError``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["PluginRegistry", "RAGRegistry", "ToolRegistry", "basic_schema"]


def basic_schema(handler_id: str, handler: object) -> dict[str, Any]:
    """V1's fallback function-calling schema for a handler without ``get_schema()``."""
    return {
        "tool": handler_id,
        "description": getattr(handler, "description", f"Tool: {handler_id}"),
        "parameters": {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "Input for the tool"}},
            "required": ["input"],
        },
    }


class _Handlers:
    """The shared body of the three registries; ``_noun`` names the kind in messages."""

    _noun = "Tool"

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}

    def _register(self, handler: Any) -> None:
        handler_id = getattr(handler, "identifier", None)
        if not isinstance(handler_id, str) or not handler_id:
            raise ValueError(
                f"{self._noun} must have an 'identifier' attribute (a non-empty string), got "
                f"{handler_id!r} on {type(handler).__name__}"
            )
        if handler_id in self._items:
            raise ValueError(f"{self._noun} '{handler_id}' is already registered.")
        if not hasattr(handler, "description"):
            raise ValueError(f"{self._noun} '{handler_id}' must have a 'description' attribute.")
        self._items[handler_id] = handler

    def _get(self, name: str) -> Any:
        return self._items.get(name)

    def _list(self) -> list[str]:
        return [f"{k} - {getattr(v, 'brief', '')}" for k, v in self._items.items()]

    def _remove(self, name: str) -> None:
        if name not in self._items:
            raise ValueError(f"{self._noun} '{name}' is not registered.")
        del self._items[name]

    def _schemas(self) -> list[Any]:
        schemas: list[Any] = []
        for handler_id, handler in self._items.items():
            get_schema = getattr(handler, "get_schema", None)
            if callable(get_schema):
                try:
                    schemas.append(get_schema())
                except Exception:  # V1: a failing get_schema() falls back to the basic one
                    schemas.append(basic_schema(handler_id, handler))
            elif hasattr(handler, "description"):
                schemas.append(basic_schema(handler_id, handler))
        return schemas


class ToolRegistry(_Handlers):
    """V1 tool registry; handlers in ``.tools``."""

    _noun = "Tool"

    @property
    def tools(self) -> dict[str, Any]:
        return self._items

    @tools.setter
    def tools(self, value: dict[str, Any]) -> None:
        self._items = value

    def register_tool(self, tool: Any) -> None:
        self._register(tool)

    def get_tool(self, tool_name: str) -> Any:
        return self._get(tool_name)

    def list_tools(self) -> list[str]:
        return self._list()

    def count_tools(self) -> int:
        return len(self._items)

    def remove_tool(self, tool_name: str) -> None:
        self._remove(tool_name)

    def get_tools(self) -> list[Any]:
        return self._schemas()


class RAGRegistry(_Handlers):
    """V1 RAG (retriever) registry; handlers in ``.rags``."""

    _noun = "RAG"

    @property
    def rags(self) -> dict[str, Any]:
        return self._items

    @rags.setter
    def rags(self, value: dict[str, Any]) -> None:
        self._items = value

    def register_rag(self, rag: Any) -> None:
        self._register(rag)

    def get_rag(self, rag_name: str) -> Any:
        return self._get(rag_name)

    def list_rags(self) -> list[str]:
        return self._list()

    def count_rags(self) -> int:
        return len(self._items)

    def remove_rag(self, rag_name: str) -> None:
        self._remove(rag_name)

    def get_rags(self) -> list[Any]:
        return self._schemas()


class PluginRegistry(_Handlers):
    """V1 plugin registry; handlers in ``.plugins``."""

    _noun = "Plugin"

    @property
    def plugins(self) -> dict[str, Any]:
        return self._items

    @plugins.setter
    def plugins(self, value: dict[str, Any]) -> None:
        self._items = value

    def register_plugin(self, plugin: Any) -> None:
        self._register(plugin)

    def get_plugin(self, plugin_name: str) -> Any:
        return self._get(plugin_name)

    def list_plugins(self) -> list[str]:
        return self._list()

    def count_plugins(self) -> int:
        return len(self._items)

    def remove_plugin(self, plugin_name: str) -> None:
        self._remove(plugin_name)

    def get_plugins(self) -> list[Any]:
        return self._schemas()
