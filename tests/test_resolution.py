"""Tests for toolware._resolution: the entry travels with the call, resolved once."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

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
from toolware._resolution import Resolver
from toolware.errors import UnknownEntryError
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


class PendingRegistry(CountingRegistry):
    """A registry that says its plugin ``notes`` and tool ``search`` are still to be imported."""

    def is_pending(self, kind: Kind, name: str) -> bool:
        return (kind, name) in {(Kind.PLUGIN, "notes"), (Kind.TOOL, "search")}


class Blocking:
    """A ``run_blocking`` that records what it is asked to run; ``hold`` keeps it pending."""

    def __init__(self, *, hold: bool = False) -> None:
        self.calls: list[dict[str, object]] = []
        self.hold = hold
        self.pending: asyncio.Future[Entry] | None = None

    def __call__(self, function: Callable[..., Entry], arguments: Mapping[str, Any]) -> Any:
        self.calls.append(dict(arguments))
        if self.hold:
            self.pending = asyncio.get_running_loop().create_future()
            return self.pending

        async def run() -> Entry:
            return function(**arguments)

        return run()


async def resolved(
    registry: Any, target: str, *, run_blocking: Any = None, **options: Any
) -> RequestContext:
    return await Resolver(registry).resolve(
        RequestContext.create(target, **options), run_blocking=run_blocking
    )


async def test_a_dotted_name_is_a_plugin_action_only_for_kind_tool_or_plugin() -> None:
    """'notes.add' as kind plugin becomes target notes, action add; as kind rag it is a miss."""
    registry = tools()
    plugin = await resolved(registry, "notes.add", kind=Kind.PLUGIN)
    assert (plugin.kind, plugin.target, plugin.action) == (Kind.PLUGIN, "notes", "add")
    assert isinstance(plugin.resolution, Entry)
    rag = await resolved(registry, "notes.add", kind=Kind.RAG)
    assert (rag.kind, rag.target, rag.action) == (Kind.RAG, "notes.add", None)
    assert isinstance(rag.resolution, UnknownEntryError)
    given = await resolved(registry, "notes.add", kind=Kind.PLUGIN, action="add")
    assert (given.target, given.action) == ("notes.add", "add")
    assert isinstance(given.resolution, UnknownEntryError)


async def test_the_action_is_the_part_after_the_last_dot() -> None:
    """A namespaced plugin 'kb.notes' is called as 'kb.notes.add'."""
    composite = CompositeRegistry(Source("kb", tools(), namespace="kb"))
    request = await resolved(composite, "kb.notes.add")
    assert (request.kind, request.target, request.action) == (Kind.PLUGIN, "kb.notes", "add")
    assert isinstance(request.resolution, Entry)


async def test_a_known_dotted_tool_name_wins_over_a_plugin_action_of_the_same_name() -> None:
    """Tool 'notes.add' (namespace notes) is called, not action add of plugin notes."""
    composite = CompositeRegistry(
        Source("plugins", tools()), Source("tools", tools(), namespace="notes")
    )
    for registry in (composite, CountingRegistry(composite)):  # with and without fast lookup
        request = await resolved(registry, "notes.other")
        assert (request.kind, request.target, request.action) == (Kind.TOOL, "notes.other", None)
        assert isinstance(request.resolution, Entry)
    unknown = await resolved(composite, "nothing.here")
    assert (unknown.kind, unknown.target, unknown.action) == (Kind.TOOL, "nothing.here", None)


async def test_a_dotted_plugin_action_resolves_through_a_registry_without_fast_lookup() -> None:
    """A remote-style registry (resolve() only) still finds 'notes.add'."""
    request = await resolved(CountingRegistry(tools()), "notes.add")
    assert (request.kind, request.target, request.action) == (Kind.PLUGIN, "notes", "add")
    assert isinstance(request.resolution, Entry)


async def test_loaded_entries_are_found_without_calling_resolve() -> None:
    """With a fast lookup, a dotted plugin name costs one resolve() (the miss as a tool name)."""
    calls: list[tuple[Kind, str, str | None]] = []

    class Recording(LocalRegistry):
        def resolve(self, kind: Kind, name: str, action: str | None = None) -> Entry:
            calls.append((kind, name, action))
            return super().resolve(kind, name, action)

    class Notes:
        def add(self, text: str) -> str:
            return text

    registry = Recording()
    registry.plugin(Notes)
    resolver = Resolver(registry)
    assert resolver.fast((Kind.PLUGIN, "notes", "add")) is not None
    await resolver.resolve(RequestContext.create("notes.add"))
    assert calls == [(Kind.TOOL, "notes.add", None), (Kind.PLUGIN, "notes", "add")]


async def test_a_missed_plugin_action_names_the_action_in_its_error() -> None:
    """The bound not_found error of 'notes.remove' targets 'notes.remove', with the call's id."""
    request = RequestContext.create("notes", kind=Kind.PLUGIN, action="remove")
    error = (await Resolver(tools()).resolve(request)).resolution
    assert isinstance(error, UnknownEntryError)
    assert (error.target, error.request_id) == ("notes.remove", request.id)


async def test_only_pending_entries_are_imported_through_run_blocking() -> None:
    """A registry without is_pending is resolved inline; a pending plugin action on a thread."""
    blocking = Blocking()
    counting = CountingRegistry(tools())
    request = await resolved(counting, "search", run_blocking=blocking)
    assert isinstance(request.resolution, Entry)
    assert blocking.calls == []
    pending = PendingRegistry(tools())
    request = await resolved(pending, "notes.add", run_blocking=blocking)
    assert isinstance(request.resolution, Entry)
    assert blocking.calls == [{"kind": Kind.PLUGIN, "name": "notes", "action": "add"}]
    assert pending.resolves == 2  # the miss as a tool name, then the import (not on the loop)


async def test_an_import_that_outlasts_the_deadline_is_answered_at_the_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At the deadline: a retryable 'not started' timeout naming the action and the budget."""
    clock = FakeClock()
    blocking = Blocking(hold=True)
    resolver = Resolver(PendingRegistry(tools()))
    request = RequestContext.create("notes.add", deadline=clock.monotonic() + 3.0, clock=clock)
    await clock.advance(2.5)
    task = asyncio.create_task(resolver.resolve(request, clock=clock, run_blocking=blocking))
    await clock.advance(0.4)
    assert not task.done()
    await clock.advance(0.1)
    for _ in range(10):
        await asyncio.sleep(0)
    assert task.done()
    error = task.result().resolution
    assert isinstance(error, CallTimeoutError)
    assert error.message == (
        "'notes.add' was not started: importing it did not finish before the call's deadline"
    )
    assert (error.limit, error.started, error.retryable, error.target) == (
        0.5,
        False,
        True,
        "notes.add",
    )
    assert error.hint == (
        "the import goes on in the background; call again, or import the module at start-up"
    )
    assert blocking.pending is not None
    assert blocking.pending.cancelled()
    for _ in range(5):
        await asyncio.sleep(0)
    assert [r for r in caplog.records if r.name == "asyncio"] == []


async def test_an_import_that_finishes_in_time_gives_the_entry() -> None:
    """Within the deadline, the imported entry is the resolution; the timer is not waited for."""
    clock = FakeClock()
    resolver = Resolver(PendingRegistry(tools()))
    request = RequestContext.create("search", deadline=clock.monotonic() + 5.0, clock=clock)
    resolved_request = await asyncio.wait_for(
        resolver.resolve(request, clock=clock, run_blocking=Blocking()), 5
    )
    assert isinstance(resolved_request.resolution, Entry)
    assert resolved_request.resolution.description.name == "search"
