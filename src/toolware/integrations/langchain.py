"""LangChain and LangGraph: registry entries as LangChain tools, LangChain tools as a registry.

    tools = langchain_tools(pipeline, registry)          # for model.bind_tools / ToolNode
    graph_node = ToolNode(tools)                         # every call runs through `pipeline`

    source = LangChainRegistry([search, calculator])     # LangChain tools as entries
    registry = CompositeRegistry(local, source)

Needs ``langchain-core`` (``pip install 'toolware[langchain]'``); LangGraph is optional.
Entries → tools: :mod:`toolware.integrations._langchain_tools`; tools → entries:
:mod:`toolware.integrations._langchain_registry`.
"""

from __future__ import annotations

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - langchain-core is a dev dependency here
    raise ImportError(
        "toolware.integrations.langchain needs langchain-core: pip install 'toolware[langchain]'"
    ) from exc

from toolware.integrations._langchain_registry import LangChainRegistry
from toolware.integrations._langchain_tools import (
    PipelineTool,
    ToolwareToolException,
    langchain_tool,
    langchain_tools,
)
from toolware.registry.local import EntryOptions

__all__ = [
    "EntryOptions",
    "LangChainRegistry",
    "PipelineTool",
    "ToolwareToolException",
    "langchain_tool",
    "langchain_tools",
]
