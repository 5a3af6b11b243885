"""Fixtures of the V1 compatibility tests: a host with the three V1 registry shapes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.compat.v1_support import RELEASE, Agent, Handler, PluginShelf
from toolware.compat.v1 import ToolRegistry


@pytest.fixture(autouse=True)
def _release_blocked_handlers() -> Iterator[None]:
    """Handlers blocked on purpose finish when the test ends (they were abandoned)."""
    RELEASE.clear()
    yield
    RELEASE.set()


@pytest.fixture
def agent() -> Agent:
    """RAG registry: a plain dict; tools: a V1 ToolRegistry; plugins: an object with only
    get_plugin. ``shared`` is in all three, ``both`` in tools and plugins."""
    tools = ToolRegistry()
    for handler in (
        Handler("calc"),
        Handler("shared", description="tool"),
        Handler("both", description="tool"),
    ):
        tools.register_tool(handler)
    rags = {"docs": Handler("docs"), "shared": Handler("shared", description="rag")}
    plugins = PluginShelf(
        Handler("notes"),
        Handler("shared", description="plugin"),
        Handler("both", description="plugin"),
    )
    host = Agent(tool_registry=tools, rag_registry=rags, plugin_registry=plugins)
    for registry_handlers in (rags.values(), tools.tools.values()):
        for handler in registry_handlers:
            handler.host = host
    return host
