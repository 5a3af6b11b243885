"""V1 compatibility: the legacy synchronous ``MiddlewareMixin`` and its registries, on toolware.

Code written against the V1 middleware keeps working unchanged; every call runs through a
toolware pipeline underneath. See ``docs/migration.md``.

- :class:`MiddlewareMixin`: the V1 mixin (``to_middleware``, ``set_workflow_context``,
  ``use_mcp_direct``, ``use_mcp_workflow``).
- :class:`ToolRegistry`, :class:`RAGRegistry`, :class:`PluginRegistry`: the V1 registries.
- :class:`V1Source`: any V1 registry (a dict, or an object with ``get_tool``...) as a toolware
  registry source, for a ``CompositeRegistry`` next to native entries.
- :class:`NativeHandler`: a native entry handed to V1 code (a V1 handler object whose
  ``run(payload)`` calls it through a pipeline).
- :class:`McpCalls`, :data:`Transport`, :class:`IntentResolver`: the MCP side.
"""

from __future__ import annotations

from .mcp import IntentResolver, McpCalls, Transport
from .mixin import MiddlewareMixin
from .native import NativeHandler
from .registries import PluginRegistry, RAGRegistry, ToolRegistry
from .sources import V1Source

__all__ = [
    "IntentResolver",
    "McpCalls",
    "MiddlewareMixin",
    "NativeHandler",
    "PluginRegistry",
    "RAGRegistry",
    "ToolRegistry",
    "Transport",
    "V1Source",
]
