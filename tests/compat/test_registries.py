"""The V1 registry classes: register, get, list, count, remove, schemas."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.v1_support import Handler
from toolware.compat.v1 import PluginRegistry, RAGRegistry, ToolRegistry
from toolware.compat.v1.registries import basic_schema

# (registry class, noun in messages, attribute, method suffix)
SHAPES = [
    (ToolRegistry, "Tool", "tools", "tool"),
    (RAGRegistry, "RAG", "rags", "rag"),
    (PluginRegistry, "Plugin", "plugins", "plugin"),
]


def call(registry: Any, verb: str, suffix: str, *args: Any) -> Any:
    name = f"{verb}_{suffix}s" if verb in ("list", "count", "get_all") else f"{verb}_{suffix}"
    if verb == "get_all":
        name = f"get_{suffix}s"
    return getattr(registry, name)(*args)


@pytest.mark.parametrize(("cls", "noun", "attribute", "suffix"), SHAPES)
def test_v1_api(cls: type, noun: str, attribute: str, suffix: str) -> None:
    """register → get/list/count → remove, with V1's texts."""
    registry = cls()
    first, second = Handler("alpha", brief="first one"), Handler("beta", brief="second")
    call(registry, "register", suffix, first)
    call(registry, "register", suffix, second)
    assert call(registry, "get", suffix, "alpha") is first
    assert call(registry, "get", suffix, "missing") is None
    assert call(registry, "list", suffix) == ["alpha - first one", "beta - second"]
    assert call(registry, "count", suffix) == 2
    assert getattr(registry, attribute) == {"alpha": first, "beta": second}
    with pytest.raises(ValueError, match=f"^{noun} 'alpha' is already registered.$"):
        call(registry, "register", suffix, Handler("alpha"))
    call(registry, "remove", suffix, "alpha")
    assert call(registry, "count", suffix) == 1
    with pytest.raises(ValueError, match=f"^{noun} 'alpha' is not registered.$"):
        call(registry, "remove", suffix, "alpha")


@pytest.mark.parametrize(("cls", "noun", "attribute", "suffix"), SHAPES)
def test_register_refuses_bad_handlers(cls: type, noun: str, attribute: str, suffix: str) -> None:
    """No description: V1's ValueError; no string identifier: a ValueError saying so."""

    class NoDescription:
        identifier = "x"

    class NoIdentifier:
        description = "d"

    registry = cls()
    with pytest.raises(ValueError, match=f"^{noun} 'x' must have a 'description' attribute.$"):
        call(registry, "register", suffix, NoDescription())
    with pytest.raises(
        ValueError,
        match=f"^{noun} must have an 'identifier' attribute \\(a non-empty string\\), got None "
        "on NoIdentifier$",
    ):
        call(registry, "register", suffix, NoIdentifier())
    assert getattr(registry, attribute) == {}


@pytest.mark.parametrize(("cls", "noun", "attribute", "suffix"), SHAPES)
def test_schemas(cls: type, noun: str, attribute: str, suffix: str) -> None:
    """get_schema() when a handler has one (the basic schema when it raises), else basic."""

    class WithSchema(Handler):
        def get_schema(self) -> dict[str, Any]:
            return {"name": self.identifier, "custom": True}

    class BrokenSchema(Handler):
        def get_schema(self) -> dict[str, Any]:
            raise RuntimeError("no schema")

    registry = cls()
    call(registry, "register", suffix, WithSchema("a"))
    call(registry, "register", suffix, BrokenSchema("b", description="B tool"))
    call(registry, "register", suffix, Handler("c", description="C tool"))
    getattr(registry, attribute)["d"] = object()  # put in the dict by hand: no description
    assert call(registry, "get_all", suffix) == [
        {"name": "a", "custom": True},
        basic_schema("b", registry.__dict__["_items"]["b"]),
        basic_schema("c", registry.__dict__["_items"]["c"]),
    ]


def test_basic_schema() -> None:
    """V1's minimal function-calling schema."""
    assert basic_schema("calc", Handler("calc", description="Adds")) == {
        "tool": "calc",
        "description": "Adds",
        "parameters": {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "Input for the tool"}},
            "required": ["input"],
        },
    }
    assert basic_schema("bare", object())["description"] == "Tool: bare"


def test_list_without_brief() -> None:
    """A handler without brief lists with an empty one (V1: AttributeError)."""

    class Briefless:
        identifier = "x"
        description = "d"

    registry = ToolRegistry()
    registry.register_tool(Briefless())
    assert registry.list_tools() == ["x - "]


def test_the_dict_can_be_replaced() -> None:
    """V1 code assigns .tools directly; the registry follows."""
    registry = ToolRegistry()
    handler = Handler("calc")
    registry.tools = {"calc": handler}
    assert registry.get_tool("calc") is handler
    rags, plugins = RAGRegistry(), PluginRegistry()
    rags.rags = {"r": handler}
    plugins.plugins = {"p": handler}
    assert (rags.get_rag("r"), plugins.get_plugin("p")) == (handler, handler)
