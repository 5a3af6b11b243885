"""Remote MCP tool names as toolware entries: ``plugin.action`` from a toolware server
round-trips as a plugin action, ``names=`` exposes the others, collisions after mapping are
refused and reported, and the rule itself."""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp import FastMCP

from toolware import CompositeRegistry, Kind, LocalRegistry, Source, default_pipeline
from toolware._limits import safe_name
from toolware.errors import NotFoundError, RegistrationError, UnavailableError
from toolware.integrations.mcp._client_names import LocalName, check_names_option, local_name
from toolware.integrations.mcp.client import McpRegistry
from toolware.integrations.mcp.server import McpServer
from toolware.registry.base import HealthStatus


def notes_server(**options: Any) -> McpServer:
    """A toolware server with one tool and one plugin of two actions."""
    registry = LocalRegistry("app")

    @registry.tool(idempotent=True)
    def echo(text: str) -> str:
        """Say it back."""
        return text

    @registry.plugin
    class Notes:
        """Notes."""

        def add(self, text: str) -> int:
            """Store a note; returns its length."""
            return len(text)

        def count(self) -> int:
            return 2

    return McpServer(default_pipeline(registry), **options)


@pytest.mark.parametrize("tool_names", ["canonical", "function"])
async def test_plugin_actions_of_a_toolware_server_round_trip(tool_names: Any) -> None:
    """``notes.add`` (or ``notes__add``) is the action ``add`` of the plugin ``notes``."""
    server = notes_server(tool_names=tool_names)
    async with McpRegistry(server, name="app") as registry:
        listing = [(d.kind, d.name, d.action) for d in registry.list()]
        assert listing == [
            (Kind.TOOL, "echo", None),
            (Kind.PLUGIN, "notes", "add"),
            (Kind.PLUGIN, "notes", "count"),
        ]
        add = registry.resolve(Kind.PLUGIN, "notes", "add").description
        assert (add.qualified_name, add.description) == (
            "notes.add",
            "Store a note; returns its length.",
        )
        assert add.args_schema["required"] == ["text"]
        health = await registry.health()
        assert (health.status, health.entries, dict(health.problems)) == (HealthStatus.OK, 3, {})
        async with default_pipeline(registry) as pipeline:
            assert (await pipeline.invoke("notes.add", {"text": "tea"})).unwrap() == 3
            by_kind = await pipeline.invoke("notes", kind=Kind.PLUGIN, action="count")
            assert by_kind.unwrap() == 2
            assert (await pipeline.invoke("echo", {"text": "hi"})).unwrap() == "hi"
            refused = await pipeline.invoke("notes.add", {"text": 5})
        assert refused.error is not None
        assert refused.error.category == "invalid_request"
        assert refused.error.message == "invalid arguments for 'notes.add': text"
        # Published again by a toolware server, the names are the original ones.
        again = McpServer(default_pipeline(registry))
        assert again.tool_names == ("echo", "notes.add", "notes.count")


async def test_a_namespaced_source_exposes_remote_plugin_actions() -> None:
    async with McpRegistry(notes_server(), name="app") as remote:
        composite = CompositeRegistry(Source("remote", remote, namespace="remote"))
        names = [d.qualified_name for d in composite.list()]
        assert names == ["remote.echo", "remote.notes.add", "remote.notes.count"]
        async with default_pipeline(composite) as pipeline:
            response = await pipeline.invoke("remote.notes.add", {"text": "coffee"})
        assert response.unwrap() == 6


LONG = "x" * 70


def fastmcp_server() -> FastMCP[Any]:
    server: FastMCP[Any] = FastMCP("files")

    @server.tool(name="get-weather")
    def weather(city: str) -> str:
        return f"sunny in {city}"

    @server.tool(name="fs.read.file")
    def read(path: str) -> str:
        return f"read {path}"

    @server.tool(name=LONG)
    def long() -> str:
        return "long"

    @server.tool(name="weather")
    def other_weather() -> str:
        return "the other weather"

    return server


async def test_names_without_a_local_form_are_reported_with_the_option_that_fixes_them() -> None:
    async with McpRegistry(fastmcp_server(), name="files") as registry:
        assert [d.name for d in registry.list()] == ["get-weather", "weather"]
        health = await registry.health()
        assert health.status is HealthStatus.DEGRADED
        assert dict(health.problems) == {
            "refused:fs.read.file": (
                "the tool 'fs.read.file' of MCP server 'files' has 2 dots (a toolware name has "
                "at most one: plugin.action), so it cannot be a toolware entry; expose it under "
                "a local name with McpRegistry(..., names={'fs.read.file': 'fs_read_file'})"
            ),
            f"refused:{safe_name(LONG)}": (
                f"the tool {LONG[:40]!r}… (70 characters) of MCP server 'files' is longer than "
                "64 characters, so it cannot be a toolware entry; expose it under a local name "
                f"with McpRegistry(..., names={{{LONG!r}: {'x' * 64!r}}})"
            ),
        }
        async with default_pipeline(registry) as pipeline:
            assert (await pipeline.invoke("get-weather", {"city": "Oslo"})).unwrap() == (
                "sunny in Oslo"
            )
            missing = await pipeline.invoke("fs.read.file", {"path": "a"})
        assert missing.error is not None
        assert missing.error.category == "not_found"


async def test_names_exposes_remote_tools_under_local_names() -> None:
    names = {"fs.read.file": "fs.read_file", LONG: "long", "get-weather": "forecast"}
    async with McpRegistry(fastmcp_server(), name="files", names=names) as registry:
        listing = [(d.kind, d.name, d.action) for d in registry.list()]
        assert listing == [
            (Kind.TOOL, "forecast", None),
            (Kind.PLUGIN, "fs", "read_file"),
            (Kind.TOOL, "long", None),
            (Kind.TOOL, "weather", None),
        ]
        assert dict((await registry.health()).problems) == {}
        async with default_pipeline(registry) as pipeline:
            assert (await pipeline.invoke("fs.read_file", {"path": "a"})).unwrap() == "read a"
            assert (await pipeline.invoke("long")).unwrap() == "long"
            assert (await pipeline.invoke("forecast", {"city": "Rome"})).unwrap() == "sunny in Rome"
            renamed = await pipeline.invoke("get-weather", {"city": "Rome"})
        assert renamed.error is not None
        assert renamed.error.category == "not_found"


async def test_two_remote_names_mapped_to_one_local_name_are_refused_and_reported() -> None:
    names = {"get-weather": "weather", "fs.read.file": "fs.read_file", LONG: "long"}
    async with McpRegistry(fastmcp_server(), name="files", names=names) as registry:
        assert [d.qualified_name for d in registry.list()] == ["fs.read_file", "long"]
        message = (
            "the tools 'get-weather', 'weather' of MCP server 'files' would all be 'weather' "
            "(descriptions '', ''); calls to it are refused until McpRegistry(names=...) maps "
            "them to different local names"
        )
        health = await registry.health()
        assert dict(health.problems) == {"collision:weather": message}
        async with default_pipeline(registry) as pipeline:
            refused = await pipeline.invoke("weather")
        assert refused.error is not None
        assert (refused.error.category, refused.error.message) == ("unavailable", message)
        assert refused.error.retryable is False


async def test_an_action_listed_twice_is_ambiguous_under_its_qualified_name() -> None:
    """``notes.add`` and ``notes__add`` are one action: neither is exposed."""
    server: FastMCP[Any] = FastMCP("twice")

    @server.tool(name="notes.add")
    def dotted() -> str:
        return "dotted"

    @server.tool(name="notes__add")
    def joined() -> str:
        return "joined"

    async with McpRegistry(server, name="twice") as registry:
        assert registry.list() == ()
        assert list((await registry.health()).problems) == ["collision:notes.add"]
        with pytest.raises(UnavailableError, match=r"would all be 'notes\.add'"):
            registry.resolve(Kind.PLUGIN, "notes", "add")
        with pytest.raises(UnavailableError, match=r"would all be 'notes\.add'"):
            registry.resolve(Kind.TOOL, "notes.add")
        with pytest.raises(NotFoundError):
            registry.resolve(Kind.PLUGIN, "notes.add")


@pytest.mark.parametrize(
    ("remote", "local"),
    [
        ("search", LocalName(Kind.TOOL, "search")),
        ("get-weather", LocalName(Kind.TOOL, "get-weather")),
        ("notes.add", LocalName(Kind.PLUGIN, "notes", "add")),
        ("notes__add", LocalName(Kind.PLUGIN, "notes", "add")),
        ("my-plugin.do-it", LocalName(Kind.PLUGIN, "my-plugin", "do-it")),
        ("a" * 64, LocalName(Kind.TOOL, "a" * 64)),
        ("a" * 31 + "." + "b" * 31, LocalName(Kind.PLUGIN, "a" * 31, "b" * 31)),
    ],
)
def test_names_with_a_local_form(remote: str, local: LocalName) -> None:
    assert local_name(remote, {}, "s") == local


@pytest.mark.parametrize(
    ("remote", "reason"),
    [
        ("a.b.c", "has 2 dots (a toolware name has at most one: plugin.action)"),
        (".add", "has a plugin part '' that is empty"),
        ("notes.", "has an action part '' that is empty"),
        ("a__b__c", "contains '__'"),
        ("notes.a__b", "has an action part 'a__b' that contains '__'"),
        ("a" * 65, "is longer than 64 characters"),
        (
            "a" * 32 + "." + "b" * 31,
            f"is exported to LLMs as {'a' * 32 + '__' + 'b' * 6!r}… (65 characters), "
            "longer than 64 characters",
        ),
        ("get weather", "contains characters other than letters, digits, '_' and '-'"),
        ("", "is empty"),
    ],
)
def test_names_without_a_local_form(remote: str, reason: str) -> None:
    with pytest.raises(RegistrationError, match="so it cannot be a toolware entry") as caught:
        local_name(remote, {}, "s")
    assert str(caught.value).startswith(f"the tool {remote[:40]!r}")
    assert f" of MCP server 's' {reason}, so it cannot be a toolware entry; " in str(caught.value)


def test_a_mapped_name_wins_over_the_rule() -> None:
    names = check_names_option({"notes.add": "add_note"})
    assert local_name("notes.add", names, "s") == LocalName(Kind.TOOL, "add_note")
    assert local_name("notes.list", names, "s") == LocalName(Kind.PLUGIN, "notes", "list")


def test_the_names_option_is_checked() -> None:
    assert check_names_option(None) == {}
    assert check_names_option({"a.b.c": "a.bc"}) == {"a.b.c": LocalName(Kind.PLUGIN, "a", "bc")}
    with pytest.raises(TypeError, match=r"names=\.\.\.\) must be a mapping .* got list"):
        check_names_option([("a", "b")])
    with pytest.raises(TypeError, match="maps strings to strings; got str -> int for 'a'"):
        check_names_option({"a": 1})
    with pytest.raises(ValueError, match="a local name is") as caught:
        check_names_option({"a.b.c": "a b"})
    assert str(caught.value) == (
        "McpRegistry(names=...) maps 'a.b.c' to 'a b', which contains characters other than "
        "letters, digits, '_' and '-': a local name is a tool name or plugin.action, each part "
        "of letters, digits, '_' and '-' (at most 64 characters, no '__'); use e.g. 'a_b'"
    )
    with pytest.raises(ValueError, match="McpRegistry"):
        McpRegistry("http://127.0.0.1:1/mcp", names={"x": "a.b.c"})
