"""Tests for streaming entries (toolware.registry._streams): detection, schemas, check_result."""

import functools
import typing
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from typing import Any

import pydantic
import pytest

from toolware import Kind, LocalRegistry, RegistrationError, ToolFailedError
from toolware._callables import is_async_generator_callable, is_generator_callable
from toolware.registry import Entry


async def chunks() -> AsyncIterator[int]:
    yield 1
    yield 2


def sync_chunks() -> Iterator[int]:
    yield 1
    yield 2


async def collect(stream: Any) -> list[Any]:
    return [chunk async for chunk in stream]


def tool_entry(function: Callable[..., Any], name: str = "f", **options: Any) -> Entry:
    registry = LocalRegistry()
    registry.add(function, name=name, **options)
    return registry.resolve(Kind.TOOL, name)


# -- detection ------------------------------------------------------------------------------


async def test_async_generator_function_is_a_streaming_async_entry() -> None:
    entry = tool_entry(chunks)
    assert entry.streaming is True
    assert entry.description.streaming is True
    assert entry.is_async is True
    assert await collect(entry.function()) == [1, 2]


def test_sync_generator_function_is_a_streaming_sync_entry() -> None:
    entry = tool_entry(sync_chunks)
    assert entry.streaming is True
    assert entry.description.streaming is True
    assert entry.is_async is False
    assert list(entry.function()) == [1, 2]


def test_calling_a_sync_streaming_entry_runs_none_of_its_body() -> None:
    """The router steps the generator in worker threads: calling must not do the work."""
    ran: list[str] = []

    def stream() -> Iterator[int]:
        ran.append("body")
        yield 1

    generator = tool_entry(stream).function()
    assert ran == []
    assert next(generator) == 1
    assert ran == ["body"]


def test_plain_functions_do_not_stream() -> None:
    def plain() -> list[int]:
        return [1]

    async def coroutine() -> list[int]:
        return [1]

    for function in (plain, coroutine):
        entry = tool_entry(function)
        assert entry.streaming is False
        assert entry.description.streaming is False
        assert entry.description.chunk_schema == {}


class Streams:
    async def chunks(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    def sync_chunks(self, n: int) -> Iterator[int]:
        yield from range(n)

    def plain(self) -> int:
        return 1


class AsyncCallable:
    async def __call__(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i


class SyncCallable:
    def __call__(self, n: int) -> Iterator[int]:
        yield from range(n)


def _wraps(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return wrapper


async def count_to(n: int, start: int = 0) -> AsyncIterator[int]:
    for i in range(start, n):
        yield i


def sync_count_to(n: int, start: int = 0) -> Iterator[int]:
    yield from range(start, n)


ASYNC_SHAPES: list[Callable[..., Any]] = [
    count_to,
    Streams().chunks,
    functools.partial(count_to, start=0),
    AsyncCallable(),
    _wraps(count_to),
]
SYNC_SHAPES: list[Callable[..., Any]] = [
    sync_count_to,
    Streams().sync_chunks,
    functools.partial(sync_count_to, start=0),
    SyncCallable(),
    _wraps(sync_count_to),
]
SHAPE_IDS = ["function", "method", "partial", "callable object", "wraps"]


@pytest.mark.parametrize("function", ASYNC_SHAPES, ids=SHAPE_IDS)
async def test_every_async_generator_shape_is_detected(function: Callable[..., Any]) -> None:
    assert is_async_generator_callable(function) is True
    assert is_generator_callable(function) is False
    entry = tool_entry(function)
    assert (entry.streaming, entry.is_async) == (True, True)
    assert entry.description.chunk_schema == {"type": "integer"}
    assert await collect(entry.function(n=3)) == [0, 1, 2]


@pytest.mark.parametrize("function", SYNC_SHAPES, ids=SHAPE_IDS)
def test_every_sync_generator_shape_is_detected(function: Callable[..., Any]) -> None:
    assert is_generator_callable(function) is True
    assert is_async_generator_callable(function) is False
    entry = tool_entry(function)
    assert (entry.streaming, entry.is_async) == (True, False)
    assert entry.description.chunk_schema == {"type": "integer"}
    assert list(entry.function(n=3)) == [0, 1, 2]


def test_non_generators_are_not_generator_callables() -> None:
    async def coroutine() -> int:
        return 1

    for function in (len, Streams().plain, coroutine, functools.partial(coroutine)):
        assert is_async_generator_callable(function) is False
        assert is_generator_callable(function) is False


def test_an_async_wrapper_around_a_generator_is_a_coroutine_not_a_stream() -> None:
    """The outermost function decides: an async def collecting the chunks returns a list."""

    def decorate(function: Callable[..., Iterator[int]]) -> Callable[..., Any]:
        @functools.wraps(function)
        async def collected(*args: Any, **kwargs: Any) -> list[int]:
            return list(function(*args, **kwargs))

        return collected

    wrapped = decorate(sync_count_to)
    assert is_generator_callable(wrapped) is False
    entry = tool_entry(wrapped)
    assert (entry.streaming, entry.is_async) == (False, True)


async def test_plugin_generator_methods_are_streaming_actions() -> None:
    registry = LocalRegistry()
    registry.plugin(Streams)
    async_action = registry.resolve(Kind.PLUGIN, "streams", "chunks")
    sync_action = registry.resolve(Kind.PLUGIN, "streams", "sync_chunks")
    plain = registry.resolve(Kind.PLUGIN, "streams", "plain")
    assert (async_action.streaming, async_action.is_async) == (True, True)
    assert (sync_action.streaming, sync_action.is_async) == (True, False)
    assert plain.streaming is False
    assert await collect(async_action.function(n=2)) == [0, 1]
    assert list(sync_action.function(n=2)) == [0, 1]


# -- schemas ---------------------------------------------------------------------------------


async def agen_collections() -> AsyncGenerator[str, None]:
    yield "a"


async def aiterable_collections() -> AsyncIterable[str]:
    yield "a"


async def aiterator_typing() -> typing.AsyncIterator[str]:
    yield "a"


async def aiterable_typing() -> typing.AsyncIterable[str]:
    yield "a"


async def agen_typing() -> typing.AsyncGenerator[str, None]:
    yield "a"


def gen_collections() -> Generator[str, None, None]:
    yield "a"


def iterable_collections() -> Iterable[str]:
    yield "a"


def iterator_typing() -> typing.Iterator[str]:
    yield "a"


def iterable_typing() -> typing.Iterable[str]:
    yield "a"


def gen_typing() -> typing.Generator[str, None, None]:
    yield "a"


async def aiterator_collections() -> AsyncIterator[str]:
    yield "a"


def iterator_collections() -> Iterator[str]:
    yield "a"


@pytest.mark.parametrize(
    "function",
    [
        aiterator_collections,
        aiterable_collections,
        agen_collections,
        aiterator_typing,
        aiterable_typing,
        agen_typing,
        iterator_collections,
        iterable_collections,
        gen_collections,
        iterator_typing,
        iterable_typing,
        gen_typing,
    ],
)
def test_every_iterator_form_gives_the_chunk_schema(function: Callable[..., Any]) -> None:
    description = tool_entry(function).description
    assert description.chunk_schema == {"type": "string"}
    assert description.result_schema == {"type": "array", "items": {"type": "string"}}


def test_model_chunks_have_their_object_schema() -> None:
    class Point(pydantic.BaseModel):
        x: int

    def points() -> Iterator[Point]:
        yield Point(x=1)

    description = tool_entry(points).description
    assert description.chunk_schema["properties"] == {"x": {"title": "X", "type": "integer"}}
    assert description.result_schema["type"] == "array"
    assert description.result_schema["items"] is description.chunk_schema


class Opaque:
    pass


def unannotated():  # type: ignore[no-untyped-def]
    yield 1


async def bare() -> AsyncIterator:  # type: ignore[type-arg]
    yield 1


def opaque() -> Iterator[Opaque]:
    yield Opaque()


def anything() -> Iterator[Any]:
    yield 1


@pytest.mark.parametrize("function", [unannotated, bare, opaque, anything])
def test_unknown_chunk_types_have_empty_schemas(function: Callable[..., Any]) -> None:
    description = tool_entry(function).description
    assert description.streaming is True
    assert description.chunk_schema == {}
    assert description.result_schema == {}


def test_a_generator_annotated_with_a_non_iterator_is_refused() -> None:
    def listed() -> list[int]:  # type: ignore[misc]
        yield 1

    with pytest.raises(RegistrationError) as caught:
        tool_entry(listed, name="listed")
    message = str(caught.value)
    assert "'listed' is a generator function annotated '-> list[int]'" in message
    assert "'-> Iterator[T]'" in message


def test_an_async_generator_annotated_with_a_sync_form_is_refused() -> None:
    async def mismatched() -> Iterator[int]:  # type: ignore[misc]
        yield 1

    with pytest.raises(RegistrationError) as caught:
        tool_entry(mismatched, name="mismatched")
    assert "'mismatched' is an async generator function" in str(caught.value)
    assert "'-> AsyncIterator[T]'" in str(caught.value)


def test_a_sync_generator_annotated_with_an_async_form_is_refused() -> None:
    def mismatched() -> AsyncIterator[int]:  # type: ignore[misc]
        yield 1

    with pytest.raises(RegistrationError, match=r"'-> Iterator\[T\]'"):
        tool_entry(mismatched)


def test_to_dict_carries_the_streaming_fields() -> None:
    data = tool_entry(chunks, idle_timeout=2.0, first_chunk_timeout=1.5).description.to_dict()
    assert data["streaming"] is True
    assert data["chunk_schema"] == {"type": "integer"}
    assert data["result_schema"] == {"type": "array", "items": {"type": "integer"}}
    assert data["first_chunk_timeout"] == 1.5
    assert data["idle_timeout"] == 2.0


# -- check_result ----------------------------------------------------------------------------


def test_check_result_checks_one_chunk_and_converts_it() -> None:
    validator = tool_entry(chunks, check_result=True).result_validator
    assert validator is not None
    assert validator("3") == 3
    assert validator(4) == 4


def test_check_result_refuses_a_bad_chunk_naming_the_declared_type() -> None:
    validator = tool_entry(sync_chunks, name="counts", check_result=True).result_validator
    assert validator is not None
    with pytest.raises(ToolFailedError) as caught:
        validator(None)
    assert caught.value.message == "'counts' yielded None, but its declared chunk type is int"
    assert "yield what it declares" in (caught.value.hint or "")


def test_check_result_does_not_take_the_whole_list() -> None:
    """The validator is for one chunk: a list of them is not an int."""
    validator = tool_entry(chunks, check_result=True).result_validator
    assert validator is not None
    with pytest.raises(ToolFailedError, match="yielded a list"):
        validator([1, 2])


def test_without_check_result_there_is_no_validator() -> None:
    assert tool_entry(chunks).result_validator is None


@pytest.mark.parametrize("function", [unannotated, bare])
def test_check_result_needs_a_declared_chunk_type(function: Callable[..., Any]) -> None:
    with pytest.raises(RegistrationError) as caught:
        tool_entry(function, name="s", check_result=True)
    assert "needs a declared chunk type" in str(caught.value)
    form = "AsyncIterator[T]" if function is bare else "Iterator[T]"
    assert f"annotate 's' with '-> {form}'" in str(caught.value)


def test_check_result_on_a_plain_function_still_needs_a_return_type() -> None:
    def plain():  # type: ignore[no-untyped-def]
        return 1

    with pytest.raises(RegistrationError) as caught:
        tool_entry(plain, name="p", check_result=True)
    assert str(caught.value) == (
        "check_result=True needs a declared return type: annotate 'p' with '-> T'"
    )


def test_check_result_refuses_an_uncheckable_chunk_type() -> None:
    with pytest.raises(RegistrationError, match="cannot check 'f''s chunk type Opaque"):
        tool_entry(opaque, check_result=True)
