"""Tests for toolware.demo.notes: the in-memory notes plugin."""

from __future__ import annotations

from toolware import Kind, default_pipeline
from toolware.demo import build_registry
from toolware.demo.notes import Notes


async def test_add_returns_the_note_with_an_id() -> None:
    """Ids count from 1; tags are deduplicated and sorted."""
    notes = Notes()
    first = await notes.add("buy milk", tags=["home", "shop", "home"])
    second = await notes.add("call Bob")
    assert first == {"id": 1, "text": "buy milk", "tags": ["home", "shop"]}
    assert second == {"id": 2, "text": "call Bob", "tags": []}


async def test_list_keeps_order_and_filters_by_tag() -> None:
    """list() returns all notes oldest first, or those with the tag."""
    notes = Notes()
    await notes.add("one", tags=["a"])
    await notes.add("two")
    await notes.add("three", tags=["a", "b"])
    assert [n["text"] for n in await notes.list()] == ["one", "two", "three"]
    assert [n["text"] for n in await notes.list(tag="a")] == ["one", "three"]
    assert await notes.list(tag="missing") == []


async def test_search_needs_every_word_in_text_or_tags() -> None:
    """search() is case-insensitive and matches words in the text or the tags."""
    notes = Notes()
    await notes.add("Timeout of the Q3 report", tags=["reports"])
    await notes.add("retry later")
    assert [n["id"] for n in await notes.search("q3 TIMEOUT")] == [1]
    assert [n["id"] for n in await notes.search("reports timeout")] == [1]
    assert await notes.search("timeout later") == []


async def test_instances_do_not_share_notes() -> None:
    """Each Notes instance has its own list."""
    first, second = Notes(), Notes()
    await first.add("mine")
    assert await second.list() == []


async def test_registered_as_plugin_actions() -> None:
    """The registry exposes notes.add, notes.list and notes.search, callable by the pipeline."""
    registry = build_registry()
    actions = sorted(d.action or "" for d in registry.list() if d.kind is Kind.PLUGIN)
    assert actions == ["add", "list", "search"]
    pipeline = default_pipeline(registry)
    added = await pipeline.invoke("notes", {"text": "hello"}, kind=Kind.PLUGIN, action="add")
    listed = await pipeline.invoke("notes", kind=Kind.PLUGIN, action="list")
    assert added.value == {"id": 1, "text": "hello", "tags": []}
    assert listed.value == [added.value]
