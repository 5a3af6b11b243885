"""Tests for the streaming-only options: first_chunk_timeout, idle_timeout, read_ahead."""

import math
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from toolware import Kind, LocalRegistry, RegistrationError, UnavailableError
from toolware.registry._options import MAX_READ_AHEAD, EntryOptions


async def stream() -> AsyncIterator[int]:
    yield 1


def plain() -> int:
    return 1


@pytest.mark.parametrize("option", ["first_chunk_timeout", "idle_timeout"])
@pytest.mark.parametrize("value", [0.25, 1, 3600.0])
def test_timeouts_are_carried_to_the_description(option: str, value: float) -> None:
    registry = LocalRegistry()
    (description,) = registry.add(stream, **{option: value})
    assert getattr(description, option) == value
    other = "idle_timeout" if option == "first_chunk_timeout" else "first_chunk_timeout"
    assert getattr(description, other) is None


@pytest.mark.parametrize("value", [0, 1, 16, MAX_READ_AHEAD])
def test_read_ahead_is_carried_to_the_entry(value: int) -> None:
    registry = LocalRegistry()
    registry.add(stream, read_ahead=value)
    assert registry.resolve(Kind.TOOL, "stream").read_ahead == value


def test_streaming_options_default_to_none_and_zero() -> None:
    registry = LocalRegistry()
    registry.add(stream)
    entry = registry.resolve(Kind.TOOL, "stream")
    assert entry.read_ahead == 0
    assert entry.description.first_chunk_timeout is None
    assert entry.description.idle_timeout is None
    assert MAX_READ_AHEAD == 1024


@pytest.mark.parametrize("option", ["first_chunk_timeout", "idle_timeout"])
@pytest.mark.parametrize("value", [True, False, 0, 0.0, -1, -0.5, math.nan, math.inf, "5", [1]])
def test_bad_timeouts_are_refused(option: str, value: Any) -> None:
    with pytest.raises(RegistrationError) as caught:
        EntryOptions(**{option: value})
    assert str(caught.value) == (
        f"{option} must be a finite number of seconds > 0, or None, got {value!r}"
    )


@pytest.mark.parametrize("value", [True, False, -1, MAX_READ_AHEAD + 1, 1.0, "2", None])
def test_bad_read_ahead_is_refused(value: Any) -> None:
    with pytest.raises(RegistrationError) as caught:
        EntryOptions(read_ahead=value)
    assert str(caught.value) == (
        "read_ahead must be a whole number of chunks from 0 to 1024 (0: fetch only when "
        f"asked), got {value!r}"
    )


def test_bad_options_are_refused_by_the_decorator_too() -> None:
    registry = LocalRegistry()
    with pytest.raises(RegistrationError, match="idle_timeout must be"):
        registry.tool(idle_timeout=-1)(stream)
    assert registry.list() == ()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"first_chunk_timeout": 1.0}, "first_chunk_timeout"),
        ({"idle_timeout": 1.0}, "idle_timeout"),
        ({"read_ahead": 1}, "read_ahead"),
        ({"idle_timeout": 1.0, "read_ahead": 2}, "idle_timeout, read_ahead"),
    ],
)
def test_streaming_options_on_a_plain_tool_are_refused(options: Any, named: str) -> None:
    registry = LocalRegistry()
    with pytest.raises(RegistrationError) as caught:
        registry.add(plain, **options)
    assert str(caught.value) == (
        f"{named} only applies to streaming entries (async or sync generator functions), and "
        "'plain' is not one; leave it out, or make the handler yield its chunks"
    )
    assert registry.list() == ()


def test_defaults_passed_explicitly_are_fine_on_a_plain_tool() -> None:
    registry = LocalRegistry()
    (description,) = registry.add(plain, first_chunk_timeout=None, idle_timeout=None, read_ahead=0)
    assert description.streaming is False


class Mixed:
    async def feed(self) -> AsyncIterator[str]:
        yield "x"

    def count(self) -> int:
        return 1


class Flat:
    def count(self) -> int:
        return 1


def test_plugin_streaming_options_go_to_its_streaming_actions_only() -> None:
    registry = LocalRegistry()
    registry.plugin(Mixed, idle_timeout=2.0, read_ahead=3)
    feed = registry.resolve(Kind.PLUGIN, "mixed", "feed")
    count = registry.resolve(Kind.PLUGIN, "mixed", "count")
    assert (feed.description.idle_timeout, feed.read_ahead) == (2.0, 3)
    assert (count.description.idle_timeout, count.read_ahead) == (None, 0)


def test_plugin_without_streaming_actions_refuses_streaming_options() -> None:
    registry = LocalRegistry()
    with pytest.raises(RegistrationError) as caught:
        registry.plugin(Flat, first_chunk_timeout=1.0)
    assert "first_chunk_timeout only applies to streaming entries" in str(caught.value)
    assert "plugin 'flat' has no streaming action" in str(caught.value)


def test_retriever_streaming_options() -> None:
    def search(query: str, k: int) -> Iterator[Any]:
        yield from ()

    def ranked(query: str, k: int) -> list[Any]:
        return []

    registry = LocalRegistry()
    registry.retriever(search, idle_timeout=0.5)
    (description,) = registry.list()
    assert (description.streaming, description.idle_timeout) == (True, 0.5)
    with pytest.raises(RegistrationError, match="'ranked' is not one"):
        registry.retriever(ranked, read_ahead=4)


LAZY_SOURCE = """
from collections.abc import Iterator


def ticks(n: int) -> Iterator[int]:
    yield from range(n)


def flat() -> int:
    return 1
"""


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"stream_tools_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(LAZY_SOURCE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_lazy_entries_carry_the_options_and_stream_once_loaded(module: str) -> None:
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:ticks", first_chunk_timeout=1.0, idle_timeout=2.0, read_ahead=5)
    (before,) = registry.list()
    assert (before.loaded, before.streaming) == (False, False)
    assert (before.first_chunk_timeout, before.idle_timeout) == (1.0, 2.0)
    entry = registry.resolve(Kind.TOOL, "ticks")
    assert entry.streaming is True
    assert entry.read_ahead == 5
    (after,) = registry.list()
    assert (after.loaded, after.streaming) == (True, True)
    assert (after.first_chunk_timeout, after.idle_timeout) == (1.0, 2.0)
    assert list(entry.function(n=2)) == [0, 1]


def test_lazy_option_validation_happens_at_registration(module: str) -> None:
    registry = LocalRegistry()
    with pytest.raises(RegistrationError, match="read_ahead must be"):
        registry.add_lazy(f"{module}:ticks", read_ahead=-1)


def test_lazy_plain_entry_with_streaming_options_fails_to_load(module: str) -> None:
    registry = LocalRegistry()
    registry.add_lazy(f"{module}:flat", idle_timeout=1.0)
    with pytest.raises(UnavailableError) as caught:
        registry.resolve(Kind.TOOL, "flat")
    assert "idle_timeout only applies to streaming entries" in str(caught.value)
