"""Tests for toolware._resolution: the entry travels with the call, resolved once."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from toolware import (
    CallTimeoutError,
    CompositeRegistry,
    Entry,
    EntryDescription,
    Kind,
    LocalRegistry,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    Source,
    default_pipeline,
)
from toolware.registry.base import HealthStatus, RegistryHealth
from toolware.testing import FakeClock
from toolware.types import CallNext


class CountingRegistry:
    """A registry without a fast lookup that counts resolve() calls (a remote-style source)."""

    def __init__(self, inner: LocalRegistry) -> None:
        self.inner = inner
        self.resolves = 0

    @property
    def revision(self) -> int:
        return self.inner.revision

    def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
        self.resolves += 1
        return self.inner.resolve(kind, name, action)

    def list(self) -> tuple[EntryDescription, ...]:
        return self.inner.list()

    async def health(self) -> RegistryHealth:
        return RegistryHealth(status=HealthStatus.OK, entries=0)


def tools() -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool(idempotent=True, tags={"search"}, version="2", timeout=4.0)
    async def search(query: str) -> str:
        return query

    @registry.tool
    async def other() -> str:
        return "other"

    class Notes:
        def add(self, text: str) -> str:
            return f"noted {text}"

    registry.plugin(Notes)
    return registry


async def test_the_default_pipeline_resolves_each_call_once() -> None:
    """stats, timeout, validation and the router share one resolve(), for hits and misses."""
    registry = CountingRegistry(tools())
    pipeline = default_pipeline(registry)
    assert (await pipeline.invoke("search", {"query": "q"})).unwrap() == "q"
    assert registry.resolves == 1
    missing = await pipeline.invoke("serch", {"query": "q"})
    assert missing.error is not None
    assert missing.error.category == "not_found"
    assert missing.error.candidates == ("search",)  # type: ignore[attr-defined]
    assert registry.resolves == 2


async def test_interceptors_read_the_entry_metadata_from_the_request() -> None:
    """request.entry gives idempotent, tags, version and timeout without a lookup."""
    seen: list[EntryDescription | None] = []

    async def spy(request: RequestContext, call_next: CallNext) -> ResponseContext:
        seen.append(request.entry)
        return await call_next(request)

    pipeline = PipelineBuilder().use(spy).route(tools()).build()
    await pipeline.invoke("search", {"query": "q"})
    await pipeline.invoke("nothing")
    first, missing = seen
    assert first is not None
    assert (first.idempotent, first.tags, first.version, first.timeout) == (
        True,
        frozenset({"search"}),
        "2",
        4.0,
    )
    assert missing is None


async def test_an_interceptor_that_changes_the_target_gets_the_new_entry() -> None:
    """with_target() drops the resolution; the router and validation resolve the new target."""

    async def redirect(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request.with_target("other").with_arguments({}))

    registry = tools()
    pipeline = default_pipeline(registry)
    builder = PipelineBuilder().use(redirect).route(registry)
    assert (await builder.build().invoke("search", {"query": "q"})).unwrap() == "other"
    inner = default_pipeline(registry)
    outer = PipelineBuilder().use(redirect).route(inner).build()
    assert (await outer.invoke("search", {"query": "q"})).unwrap() == "other"
    assert (await pipeline.invoke("search", {"query": "q"})).unwrap() == "q"


async def test_a_plugin_action_is_called_by_its_canonical_name() -> None:
    """invoke('notes.add') reaches kind plugin, target notes, action add; stages see that."""
    seen: list[tuple[Kind, str, str | None]] = []

    async def spy(request: RequestContext, call_next: CallNext) -> ResponseContext:
        seen.append((request.kind, request.target, request.action))
        return await call_next(request)

    pipeline = PipelineBuilder().use(spy).route(tools()).build()
    assert (await pipeline.invoke("notes.add", {"text": "x"})).unwrap() == "noted x"
    assert seen == [(Kind.PLUGIN, "notes", "add")]
    response = await pipeline.invoke("notes.remove")
    assert response.error is not None
    assert response.error.category == "not_found"


async def test_a_namespaced_composite_name_is_not_taken_for_a_plugin_action() -> None:
    """'web.search' exposed by a namespaced source stays a tool name."""
    composite = CompositeRegistry(Source("web", tools(), namespace="web"))
    pipeline = default_pipeline(composite)
    assert (await pipeline.invoke("web.search", {"query": "q"})).unwrap() == "q"
    action = await pipeline.invoke("web.notes", {"text": "x"}, kind=Kind.PLUGIN, action="add")
    assert action.unwrap() == "noted x"


async def test_plugin_actions_behind_a_composite_keep_their_entry_options() -> None:
    """Through the default pipeline, a composite plugin action's timeout and idempotent apply."""
    clock = FakeClock()
    registry = LocalRegistry()

    class Jobs:
        async def wait(self) -> str:
            await clock.sleep(10)
            return "done"

    registry.plugin(Jobs, timeout=2.0, idempotent=True)
    pipeline = default_pipeline(
        CompositeRegistry(Source("local", registry)), clock=clock, timeout=30
    )
    task = asyncio.create_task(pipeline.invoke("jobs.wait"))
    await clock.advance(2.0)
    assert task.done()
    error = (await task).error
    assert isinstance(error, CallTimeoutError)
    assert (error.limit, error.retryable, error.target) == (2.0, True, "jobs.wait")


@pytest.fixture
def slow_module(tmp_path: Path) -> Iterator[tuple[str, threading.Event]]:
    """A module whose import blocks until the test releases it."""
    gate = threading.Event()
    name = f"toolware_slow_import_{id(gate)}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import threading
            GATE: threading.Event = __import__("builtins").toolware_test_gate
            GATE.wait(10)

            def slow(text: str) -> str:
                return text
            """
        )
    )
    sys.path.insert(0, str(tmp_path))
    import builtins

    builtins.toolware_test_gate = gate  # type: ignore[attr-defined]
    yield name, gate
    gate.set()
    sys.path.remove(str(tmp_path))
    sys.modules.pop(name, None)
    del builtins.toolware_test_gate  # type: ignore[attr-defined]


async def test_a_slow_lazy_import_runs_off_the_loop_within_the_deadline(
    slow_module: tuple[str, threading.Event],
) -> None:
    """While a lazy module imports, other calls are answered, and the call's deadline holds."""
    name, gate = slow_module
    registry = tools()
    registry.add_lazy(f"{name}:slow")
    pipeline = default_pipeline(registry)
    lazy = asyncio.create_task(pipeline.invoke("slow", {"text": "x"}, timeout=0.2))
    other = await pipeline.invoke("other")
    assert other.unwrap() == "other"
    assert not lazy.done() or not gate.is_set()
    response = await lazy  # answered by its 0.2 s deadline while the import still waits
    assert not gate.is_set()
    error = response.error
    assert isinstance(error, CallTimeoutError)
    assert error.started is False  # the import's own timeout, or the deadline it exhausted
    assert "was not started" in error.message
    gate.set()
    for _ in range(200):  # the import finishes in the background; the next call finds it
        response = await pipeline.invoke("slow", {"text": "y"})
        if response.ok:
            break
        await asyncio.sleep(0.01)
    assert response.unwrap() == "y"


async def test_a_lazy_import_without_a_deadline_completes(
    slow_module: tuple[str, threading.Event],
) -> None:
    """With no deadline at all, the call waits for the import (still off the loop)."""
    name, gate = slow_module
    registry = LocalRegistry()
    registry.add_lazy(f"{name}:slow")
    pipeline = PipelineBuilder().route(registry).build()
    task = asyncio.create_task(pipeline.invoke("slow", {"text": "z"}))
    await asyncio.sleep(0.05)
    assert not task.done()
    gate.set()
    assert (await task).unwrap() == "z"


def test_request_entry_is_none_for_an_error_resolution() -> None:
    """A resolution that is an error has no metadata to offer."""
    from toolware.errors import UnknownEntryError

    request = RequestContext.create("x")
    assert request.entry is None
    failed = RequestContext(
        id="1", kind=Kind.TOOL, target="x", arguments={}, resolution=UnknownEntryError("no")
    )
    assert failed.entry is None


def test_with_target_checks_and_drops_the_resolution() -> None:
    """with_target() refuses an empty name and clears what was resolved for the old target."""
    request = RequestContext(id="1", kind=Kind.TOOL, target="a", arguments={}, resolution=object())
    moved = request.with_target("notes", kind=Kind.PLUGIN, action="add")
    assert (moved.kind, moved.target, moved.action, moved.resolution) == (
        Kind.PLUGIN,
        "notes",
        "add",
        None,
    )
    assert request.with_target("b").kind is Kind.TOOL
    with pytest.raises(ValueError, match="non-empty string"):
        request.with_target("")
