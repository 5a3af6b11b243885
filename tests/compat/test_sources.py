"""V1 registries as toolware sources, next to native entries in a CompositeRegistry."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.v1_support import BrokenToolRegistry, Handler, PluginShelf
from toolware import (
    CompositeRegistry,
    Kind,
    LocalRegistry,
    NotFoundError,
    Source,
    default_pipeline,
)
from toolware.compat.v1 import ToolRegistry, V1Source
from toolware.errors import UnknownEntryError
from toolware.registry.base import HealthStatus


def v1_tools() -> ToolRegistry:
    registry = ToolRegistry()
    registry.register_tool(Handler("calc", description="Adds numbers", instruction="Use add"))
    return registry


def native() -> LocalRegistry:
    registry = LocalRegistry("native")

    @registry.tool
    def double(x: int) -> int:
        """Double a number."""
        return 2 * x

    return registry


async def test_native_code_calls_a_v1_registry_in_a_composite() -> None:
    """A V1 tool registry next to native entries: both callable through one pipeline."""
    composite = CompositeRegistry(Source("native", native()), Source("v1", V1Source(v1_tools())))
    async with default_pipeline(composite) as pipeline:
        assert (await pipeline.invoke("double", {"x": 4})).unwrap() == 8
        added = await pipeline.invoke("calc.add", {"a": 1, "b": 2})
        assert added.unwrap() == 3
        same = await pipeline.invoke("calc", {"a": 5, "b": 5}, kind=Kind.PLUGIN, action="add")
        assert same.unwrap() == 10
        failed = await pipeline.invoke("calc.fail")
        assert failed.error is not None
        assert failed.error.category == "tool_failed"
        assert failed.error.message == "'calc.fail' raised ValueError: bad input"
        missing = await pipeline.invoke("ghost.run")
        assert missing.error is not None
        assert missing.error.category == "not_found"
        bad = await pipeline.invoke("calc.echo", {"x": iter([])})
        assert bad.error is not None
        assert bad.error.category == "invalid_request"


def test_listing() -> None:
    """One entry per handler: a plugin with open actions, its texts as the description."""
    composite = CompositeRegistry(Source("native", native()), Source("v1", V1Source(v1_tools())))
    listed = {d.name: d for d in composite.list()}
    calc = listed["calc"]
    assert (calc.kind, calc.action, calc.loaded) == (Kind.PLUGIN, None, False)
    assert calc.description == "Adds numbers\n\nInstructions: Use add"
    assert calc.args_schema == {"type": "object"}
    assert calc.tags == frozenset({"v1"})


@pytest.mark.parametrize(
    ("attributes", "description"),
    [
        ({"description": "D", "brief": "B", "instruction": "I"}, "D\n\nInstructions: I"),
        ({"description": "", "brief": "B", "instruction": ""}, "B"),
        ({"description": None, "brief": None, "instruction": "I"}, "Instructions: I"),
        ({"description": "  D  ", "brief": "B", "instruction": None}, "D"),
    ],
)
def test_description_from_the_handler(attributes: dict[str, Any], description: str) -> None:
    """description (else brief), then the instruction."""
    handler = Handler("h")
    for name, value in attributes.items():
        setattr(handler, name, value)
    source = V1Source({"h": handler})
    assert source.resolve(Kind.PLUGIN, "h", "x").description.description == description


def test_resolve_and_lookup() -> None:
    """Any method of a known handler resolves; misses explain themselves."""
    source = V1Source({"calc": Handler("calc")}, Kind.TOOL)
    entry = source.resolve(Kind.TOOL, "calc", "anything")
    assert entry.description.qualified_name == "calc.anything"
    assert source.lookup((Kind.TOOL, "calc", "anything")) is entry  # cached per handler
    assert source.lookup((Kind.TOOL, "calc", None)) is None
    assert source.lookup((Kind.RAG, "calc", "x")) is None
    assert source.lookup((Kind.TOOL, "ghost", "x")) is None
    with pytest.raises(UnknownEntryError, match=r"tool 'ghost\.x' not found in V1 source 'v1'"):
        source.resolve(Kind.TOOL, "ghost", "x")
    with pytest.raises(UnknownEntryError, match="V1 source 'v1' holds tool entries"):
        source.resolve(Kind.PLUGIN, "calc", "x")
    with pytest.raises(
        NotFoundError, match=r"V1 handler 'calc' needs a method: call 'calc.<method>'"
    ):
        source.resolve(Kind.TOOL, "calc")


def test_resolve_misses_say_what_to_do() -> None:
    source = V1Source({"calc": Handler("calc")}, Kind.TOOL)
    with pytest.raises(UnknownEntryError) as ghost:
        source.resolve(Kind.TOOL, "ghost", "x")
    assert ghost.value.message == "tool 'ghost.x' not found in V1 source 'v1'"
    assert ghost.value.hint == "list the entries with registry.list()"
    with pytest.raises(UnknownEntryError) as other_kind:
        source.resolve(Kind.RAG, "calc", "x")
    assert other_kind.value.message == ("rag 'calc.x' not found: V1 source 'v1' holds tool entries")
    assert other_kind.value.hint == "address its handlers as kind 'tool'"
    with pytest.raises(NotFoundError) as no_method:
        source.resolve(Kind.TOOL, "calc")
    assert no_method.value.message == (
        "V1 handler 'calc' needs a method: call 'calc.<method>' (its run() dispatches on the "
        "method)"
    )
    assert no_method.value.hint == "e.g. invoke('calc.search', params)"


def test_a_replaced_handler_gets_a_new_entry() -> None:
    """The entry cache follows the handler object under an id."""
    handlers = {"calc": Handler("calc")}
    source = V1Source(handlers)
    first = source.resolve(Kind.PLUGIN, "calc", "m")
    handlers["calc"] = Handler("calc")
    second = source.resolve(Kind.PLUGIN, "calc", "m")
    assert second is not first
    assert second.function.handler is handlers["calc"]


def test_the_cache_is_bounded() -> None:
    """Invented method names do not grow the cache forever."""
    source = V1Source({"calc": Handler("calc")})
    for n in range(1100):
        source.resolve(Kind.PLUGIN, "calc", f"m{n}")
    assert len(source._cache) <= 1024


def test_revision_moves_with_the_ids() -> None:
    """Adding or removing a handler moves the revision; replacing one does not."""
    handlers: dict[str, Any] = {"a": Handler("a")}
    source = V1Source(handlers)
    before = source.revision
    handlers["a"] = Handler("a")
    assert source.revision == before
    handlers["b"] = Handler("b")
    assert source.revision != before


def test_any_v1_registry_as_any_kind() -> None:
    """A ToolRegistry addressed as plugins (the default) or as RAG uses its get_tool."""
    tools = v1_tools()
    assert V1Source(tools).resolve(Kind.PLUGIN, "calc", "m").description.kind is Kind.PLUGIN
    as_rag = V1Source(tools, Kind.RAG)
    assert as_rag.resolve(Kind.RAG, "calc", "m").function.handler is tools.get_tool("calc")
    assert [d.name for d in as_rag.list()] == ["calc"]


def test_a_registry_without_a_listing() -> None:
    """get_plugin only: resolves by name, lists nothing, health says why."""
    source = V1Source(PluginShelf(Handler("notes")))
    assert source.resolve(Kind.PLUGIN, "notes", "x").description.name == "notes"
    assert source.list() == ()
    assert source.revision == 0


async def test_health() -> None:
    """OK with the handler count; degraded when it cannot list."""
    ok = await V1Source(v1_tools(), Kind.TOOL).health()
    assert (ok.status, ok.entries) == (HealthStatus.OK, 1)
    shelf = await V1Source(PluginShelf(), name="shelf").health()
    assert shelf.status is HealthStatus.DEGRADED
    assert shelf.problems == {
        "shelf": "cannot list its handlers: no dict and no .plugins dict (they resolve by "
        "name only)"
    }


async def test_a_registry_whose_lookup_raises_in_a_composite() -> None:
    """The composite answers unavailable naming the source; its other sources keep working."""
    broken = BrokenToolRegistry()
    broken.tools["calc"] = Handler("calc")
    source = V1Source(broken, Kind.TOOL, name="legacy")
    assert source.lookup((Kind.TOOL, "calc", "x")) is None
    assert source.list()[0].description == ""
    composite = CompositeRegistry(Source("native", native()), Source("legacy", source))
    async with default_pipeline(composite) as pipeline:
        answer = await pipeline.invoke("calc", {}, action="x")
        assert answer.error is not None
        assert answer.error.category == "unavailable"
        assert "registry source 'legacy' failed (RuntimeError)" in answer.error.message
        assert (await pipeline.invoke("double", {"x": 1})).unwrap() == 2


def test_bad_arguments() -> None:
    """Refused with what to pass instead."""
    with pytest.raises(TypeError, match="kind must be a toolware Kind"):
        V1Source({}, "tool")  # type: ignore[arg-type]
    with pytest.raises(
        TypeError,
        match=r"V1Source takes a dict of id -> handler or an object with get_tool\(name\), "
        r"get_rag\(name\) or get_plugin\(name\), got list",
    ):
        V1Source([], Kind.RAG)
    with pytest.raises(ValueError, match="name must be a non-empty string, got ''"):
        V1Source({}, name="")
    assert repr(V1Source({}, Kind.RAG, name="docs")) == "V1Source('docs', kind=rag)"


def test_find_handler_refuses_other_shapes() -> None:
    """A registry of neither shape is a TypeError naming the method it needs."""
    from toolware.compat.v1.sources import find_handler

    with pytest.raises(
        TypeError, match=r"a V1 tool registry must be a dict or have get_tool\(name\), got int"
    ):
        find_handler(3, Kind.TOOL, "x")


async def test_mcp_type_handlers_run_as_intents_by_default() -> None:
    """An MCP-type handler in a native pipeline: handle_intent gets V1's input string."""

    class Remote(Handler):
        type = "MCP-remote"

        def handle_intent(self, intent: str, context: str) -> str:
            return f"{intent}|{context}"

    async with default_pipeline(V1Source({"gh": Remote("gh")})) as pipeline:
        answer = await pipeline.invoke("gh.read", {"path": "/x"})
    assert answer.unwrap() == "Tool use input: read and {'path': '/x'}|"


async def test_mcp_type_handler_failures_are_the_tools() -> None:
    """Without intent handling the call fails as the tool's error, logged by the source."""

    class Remote(Handler):
        type = "mcp"

    async with default_pipeline(V1Source({"gh": Remote("gh")})) as pipeline:
        answer = await pipeline.invoke("gh.read", {})
    assert answer.error is not None
    assert answer.error.category == "tool_failed"
    assert answer.error.message.startswith("Tool 'gh'")


async def test_a_handler_raising_a_toolware_error_is_the_tools_failure() -> None:
    """A ToolwareError from run() is tool_failed, the error as its cause."""

    class Raising(Handler):
        def run(self, payload: dict[str, Any]) -> Any:
            raise NotFoundError("no such row")

    async with default_pipeline(V1Source({"db": Raising("db")})) as pipeline:
        answer = await pipeline.invoke("db.get", {})
    assert answer.error is not None
    assert answer.error.category == "tool_failed"
    assert answer.error.message == "no such row"
    assert isinstance(answer.error.__cause__, NotFoundError)


@pytest.mark.parametrize("kind", [Kind.TOOL, Kind.PLUGIN])
def test_lookup_in_a_registry_object(kind: Kind) -> None:
    """The in-memory path finds handlers of a registry object through its getter (a
    ToolRegistry addressed as plugins uses get_tool), without resolve()."""
    source = V1Source(v1_tools(), kind)
    entry = source.lookup((kind, "calc", "add"))
    assert entry is not None
    assert entry.description.qualified_name == "calc.add"
    assert entry.description.kind is kind
    assert source.lookup((kind, "ghost", "add")) is None


def test_a_registry_with_several_getters_uses_the_one_of_its_kind() -> None:
    class Both:
        def get_tool(self, name: str) -> Handler:
            return Handler(name, description="the tool")

        def get_plugin(self, name: str) -> Handler:
            return Handler(name, description="the plugin")

    as_plugins = V1Source(Both(), Kind.PLUGIN)
    assert as_plugins.resolve(Kind.PLUGIN, "x", "m").description.description == (
        "the plugin\n\nInstructions: Use add"
    )
    as_rags = V1Source(Both(), Kind.RAG)  # no get_rag: the first getter it has, get_tool
    assert as_rags.resolve(Kind.RAG, "x", "m").description.description == (
        "the tool\n\nInstructions: Use add"
    )
