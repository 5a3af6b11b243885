"""Tests for toolware.registry._misses: misses are explained cheaply and with bounded output."""

from typing import Any

import pytest

from toolware import CompositeRegistry, Kind, LocalRegistry, UnknownEntryError
from toolware.registry import _misses, local
from toolware.registry.base import close_matches


def many_tools(count: int) -> LocalRegistry:
    registry = LocalRegistry("big")
    for i in range(count):
        registry.add(lambda: None, name=f"tool_{i:04d}")
    registry.add(lambda: None, name="search_documents")
    return registry


def miss(registry: Any, name: str, kind: Kind = Kind.TOOL, action: str | None = None) -> Any:
    with pytest.raises(UnknownEntryError) as caught:
        registry.resolve(kind, name, action)
    return caught.value


def test_a_16_mb_name_gives_a_short_message_and_no_suggestions() -> None:
    """An enormous invented name is not searched and not copied into the error."""
    error = miss(many_tools(10), "a" * 16 * 1024 * 1024)
    assert error.candidates == ()
    assert len(error.message) < 300
    assert "(16777216 characters)" in error.message
    assert len(str(error.to_dict())) < 1_000


def test_a_huge_action_name_is_shortened_too() -> None:
    """A wrong action on a plugin is quoted shortened."""

    class Notes:
        def add(self) -> None: ...

    registry = LocalRegistry()
    registry.plugin(Notes)
    registry.add(lambda: None, name="calc")
    error = miss(registry, "notes", Kind.PLUGIN, "x" * 100_000)
    assert len(error.message) < 200
    error = miss(registry, "calc", Kind.TOOL, "y" * 100_000)
    assert "has no actions" in error.message
    assert len(error.message) < 200


def test_typos_are_still_found_among_5000_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """With 5,000 similar names the right one is suggested, comparing a bounded pool."""
    pools: list[int] = []
    real = _misses.difflib.get_close_matches

    def counting(word: str, possibilities: list[str], **kwargs: Any) -> list[str]:
        pools.append(len(possibilities))
        return real(word, possibilities, **kwargs)

    monkeypatch.setattr(_misses.difflib, "get_close_matches", counting)
    registry = many_tools(5_000)
    assert miss(registry, "tol_1234").candidates[0] == "tool_1234"
    assert miss(registry, "tool_4321x").candidates[0] == "tool_4321"
    assert miss(registry, "serch_documents").candidates == ("search_documents",)
    assert miss(registry, "SEARCH-DOCUMENTS").candidates == ("search_documents",)
    assert miss(registry, "search_doc").candidates == ("search_documents",)
    assert pools
    assert max(pools) <= 64


def test_names_are_indexed_once_per_revision(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many misses build one index; a registration makes the next miss build another."""
    built: list[int] = []

    class Counting(_misses.MissIndex):
        def __init__(self, keys: Any) -> None:
            built.append(1)
            super().__init__(keys)

    monkeypatch.setattr(local, "MissIndex", Counting)
    registry = many_tools(50)
    for i in range(20):
        miss(registry, f"nope_{i}")
    assert len(built) == 1
    registry.add(lambda: None, name="another")
    miss(registry, "anothr")
    assert len(built) == 2


def test_composite_indexes_misses_once_per_reindex(monkeypatch: pytest.MonkeyPatch) -> None:
    """A composite builds its miss index on the first miss after each re-index."""
    from toolware.registry import composite as composite_module

    built: list[int] = []

    class Counting(_misses.MissIndex):
        def __init__(self, keys: Any) -> None:
            built.append(1)
            super().__init__(keys)

    monkeypatch.setattr(composite_module, "MissIndex", Counting)
    inner = many_tools(20)
    registry = CompositeRegistry(inner)
    for _ in range(5):
        assert miss(registry, "tol_0007").candidates[0] == "tool_0007"
    assert len(built) == 1
    inner.add(lambda: None, name="fresh")
    assert miss(registry, "frsh").candidates == ("fresh",)
    assert len(built) == 2


def test_close_matches_handles_empty_and_odd_input() -> None:
    """No candidates, an empty name or a too-long name give no suggestions."""
    assert close_matches("calc", []) == ()
    assert close_matches("", ["calc"]) == ()
    assert close_matches("c" * 200, ["c" * 200]) == ()
    assert close_matches("calc", ["calculator", "convert"]) == ("calculator",)


def test_unknown_entry_builds_the_error_from_keys() -> None:
    """The one-off helper gives the same answer as a registry's cached index."""
    from toolware.registry.base import unknown_entry

    keys = [(Kind.TOOL, "calculator", None), (Kind.PLUGIN, "notes", "add")]
    error = unknown_entry("r", Kind.TOOL, "calculater", None, keys)
    assert error.candidates == ("calculator",)
    assert "no tool named 'calculater' in registry 'r'" in error.message
    assert "exists as kind 'plugin'" in unknown_entry("r", Kind.TOOL, "notes", None, keys).hint
