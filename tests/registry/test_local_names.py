"""Tests for toolware.registry.local: duplicate names, removal, revisions, misses."""

import sys
from typing import Any

import pytest

from tests.registry.registry_support import Notes
from toolware import (
    Kind,
    LocalRegistry,
    NotFoundError,
    RegistrationError,
    UnknownEntryError,
    default_pipeline,
)

# -- duplicates, removal, revision -----------------------------------------------------------


def test_duplicate_name_is_refused_unless_replace() -> None:
    """A second entry with the same kind and name is refused; replace=True swaps it."""
    registry = LocalRegistry("main")

    def first() -> int:
        return 1

    def second() -> int:
        return 2

    registry.add(first, name="f")
    with pytest.raises(RegistrationError, match=r"'f' is already registered in 'main'"):
        registry.add(second, name="f")
    assert registry.resolve(Kind.TOOL, "f").function() == 1
    registry.add(second, name="f", replace=True)
    assert registry.resolve(Kind.TOOL, "f").function() == 2


def test_second_plugin_with_the_same_name_is_refused_not_merged() -> None:
    """Another class under a taken plugin name is refused even if its actions differ."""
    registry = LocalRegistry()
    registry.plugin(Notes)

    class Other:
        def archive(self) -> None:
            return None

    with pytest.raises(RegistrationError, match="'notes' is already registered"):
        registry.plugin(Other, name="notes")
    assert {d.qualified_name for d in registry.list()} == {"notes.add", "notes.show"}


def test_replacing_a_plugin_drops_its_old_actions() -> None:
    """replace=True swaps the whole plugin: actions the new one lacks are gone."""
    registry = LocalRegistry()
    registry.plugin(Notes)

    class Other:
        def archive(self) -> None:
            return None

    registry.add(Other, kind=Kind.PLUGIN, name="notes", replace=True)
    assert [d.qualified_name for d in registry.list()] == ["notes.archive"]


def test_eager_entry_over_a_lazy_one_needs_replace() -> None:
    """A lazy entry holds its name: add() refuses it unless replace=True, which wins."""
    registry = LocalRegistry()
    registry.add_lazy("toolware_no_such_module_w:dumps")

    def dumps(obj: Any) -> str:
        return "mine"

    with pytest.raises(RegistrationError, match="already registered"):
        registry.tool(dumps)
    registry.add(dumps, replace=True)
    assert registry.resolve(Kind.TOOL, "dumps").function(obj=1) == "mine"
    assert repr(registry) == "LocalRegistry('local', entries=1, lazy=0)"


def test_same_name_may_exist_as_different_kinds() -> None:
    """Names are unique per kind, not across kinds."""
    registry = LocalRegistry()

    def notes(text: str) -> str:
        return text

    registry.tool(notes)
    registry.plugin(Notes)
    assert registry.resolve(Kind.TOOL, "notes").function is notes
    assert registry.resolve(Kind.PLUGIN, "notes", "add").description.action == "add"


def test_remove_drops_a_tool_and_every_action_of_a_plugin() -> None:
    """remove() forgets all entries of that kind and name; unknown names are not found."""
    registry = LocalRegistry()

    @registry.tool
    def keep() -> None:
        return None

    registry.plugin(Notes)
    registry.remove(Kind.PLUGIN, "notes")
    assert [d.qualified_name for d in registry.list()] == ["keep"]
    with pytest.raises(NotFoundError):
        registry.resolve(Kind.PLUGIN, "notes", "add")
    with pytest.raises(NotFoundError):
        registry.remove(Kind.PLUGIN, "notes")


def test_revision_increments_on_every_change() -> None:
    """add, add_lazy and remove each move the revision forward."""
    registry = LocalRegistry()
    revisions = [registry.revision]

    def f() -> None:
        return None

    registry.add(f)
    revisions.append(registry.revision)
    registry.add(f, replace=True)
    revisions.append(registry.revision)
    registry.add_lazy("json:dumps")
    revisions.append(registry.revision)
    registry.remove(Kind.TOOL, "f")
    revisions.append(registry.revision)
    assert revisions == sorted(set(revisions))
    assert len(revisions) == 5


# -- not found -------------------------------------------------------------------------------


def test_not_found_lists_close_matches() -> None:
    """A typo gets 'did you mean' with the close names, and no far ones."""
    registry = LocalRegistry("main")

    @registry.tool
    def search_docs() -> None:
        return None

    @registry.tool
    def translate() -> None:
        return None

    with pytest.raises(NotFoundError) as caught:
        registry.resolve(Kind.TOOL, "search_doc")
    error = caught.value
    assert error.candidates == ("search_docs",)
    assert "did you mean 'search_docs'" in error.hint
    assert "no tool named 'search_doc' in registry 'main'" in error.message


def test_not_found_says_when_the_name_exists_as_another_kind() -> None:
    """Calling a tool as a RAG entry points at the right kind."""
    registry = LocalRegistry()

    @registry.tool
    def docs(query: str) -> str:
        return query

    with pytest.raises(NotFoundError) as caught:
        registry.resolve(Kind.RAG, "docs")
    assert "exists as kind 'tool'" in caught.value.hint


def test_not_found_for_a_plugin_lists_its_actions() -> None:
    """A plugin called without an action, or with a wrong one, lists the actions it has."""
    registry = LocalRegistry()
    registry.plugin(Notes)
    with pytest.raises(NotFoundError) as no_action:
        registry.resolve(Kind.PLUGIN, "notes")
    assert "needs an action; it has: add, show" in no_action.value.message
    assert no_action.value.candidates == ("add", "show")

    with pytest.raises(NotFoundError) as wrong_action:
        registry.resolve(Kind.PLUGIN, "notes", "ad")
    assert "has no action 'ad'; it has: add, show" in wrong_action.value.message
    assert wrong_action.value.candidates == ("add",)


def test_not_found_for_an_action_on_a_tool() -> None:
    """A tool called with an action says tools have none."""
    registry = LocalRegistry()

    @registry.tool
    def ping() -> str:
        return "pong"

    with pytest.raises(NotFoundError, match="has no actions"):
        registry.resolve(Kind.TOOL, "ping", "now")


def test_repr_counts_entries() -> None:
    """repr shows the name, entries and lazy entries."""
    registry = LocalRegistry("r")
    registry.add_lazy("json:dumps")
    assert repr(registry) == "LocalRegistry('r', entries=0, lazy=1)"


def test_not_found_suggests_a_name_the_request_is_a_prefix_of() -> None:
    """An agent shortening 'calculator' to 'calc' is pointed at the real name."""
    registry = LocalRegistry()
    registry.add(lambda expression: expression, name="calculator")
    with pytest.raises(UnknownEntryError) as caught:
        registry.resolve(Kind.TOOL, "calc")
    assert caught.value.candidates == ("calculator",)


@pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="pydantic accepts typing.TypedDict on 3.12+"
)
def test_result_type_pydantic_cannot_use_is_refused_with_its_fix() -> None:
    """A typing.TypedDict result (unsupported before 3.12) is a RegistrationError, not a crash."""
    import typing

    class Row(typing.TypedDict):
        id: int

    def rows() -> list[Row]:
        return []

    with pytest.raises(RegistrationError, match="cannot build a result schema for 'rows'"):
        LocalRegistry().add(rows)


async def test_callable_objects_and_partials_are_tools() -> None:
    """An object with async or sync __call__ and a functools.partial register and run."""
    import functools

    class Search:
        """Search the catalogue."""

        async def __call__(self, query: str) -> str:
            return query.upper()

    class Double:
        def __call__(self, n: int) -> int:
            return n * 2

    async def suffixed(query: str, suffix: str) -> str:
        """Append a suffix."""
        return query + suffix

    registry = LocalRegistry()
    registry.add(Search(), name="search")
    registry.add(Double())
    registry.add(functools.partial(suffixed, suffix="!"), name="bang")
    search = registry.resolve(Kind.TOOL, "search")
    assert search.is_async
    assert search.description.description == "Search the catalogue."
    assert search.description.args_schema["required"] == ["query"]
    assert not registry.resolve(Kind.TOOL, "double").is_async
    bang = registry.resolve(Kind.TOOL, "bang").description
    assert bang.description == "Append a suffix."
    assert bang.args_schema["properties"]["suffix"]["default"] == "!"
    pipeline = default_pipeline(registry)
    assert (await pipeline.invoke("search", {"query": "tea"})).unwrap() == "TEA"
    assert (await pipeline.invoke("double", {"n": "4"})).unwrap() == 8
    assert (await pipeline.invoke("bang", {"query": "hi"})).unwrap() == "hi!"
