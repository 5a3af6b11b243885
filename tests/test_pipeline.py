"""Tests for toolware.pipeline: build order, interceptor powers, conditions, crashes, invoke."""

from __future__ import annotations

import asyncio
import functools
import math
from typing import Any

import pytest

from tests.pipeline_support import N, Recorder, echo, passthrough, recording_handler
from toolware.context import (
    Extras,
    Kind,
    Principal,
    RequestContext,
    ResponseContext,
    TraceContext,
)
from toolware.errors import (
    ErrorCategory,
    ForbiddenError,
)
from toolware.pipeline import Pipeline, PipelineBuilder, Stage
from toolware.registry import LocalRegistry
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext

# --- order and interceptor powers ----------------------------------------------------------


async def test_first_added_runs_outermost() -> None:
    """Interceptors run in the order added on the way in and in reverse on the way out."""
    log: list[str] = []
    pipeline = (
        PipelineBuilder()
        .use(Recorder("a", log))
        .use(Recorder("b", log))
        .use(Recorder("c", log))
        .route(recording_handler(log))
        .build()
    )
    response = await pipeline.invoke("search")
    assert response.value == "search"
    assert log == ["a:in", "b:in", "c:in", "handler", "c:out", "b:out", "a:out"]


async def test_short_circuit_never_reaches_the_handler() -> None:
    """An interceptor that does not call call_next answers alone; inner stages never run."""
    log: list[str] = []
    handler = FakeHandler(["from handler"])

    async def cache(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return ResponseContext.success("cached")

    pipeline = PipelineBuilder().use(cache).use(Recorder("inner", log)).route(handler).build()
    response = await pipeline.invoke("search")
    assert response.value == "cached"
    assert handler.call_count == 0
    assert log == []


async def test_interceptor_may_call_next_several_times() -> None:
    """A retry-like interceptor calls call_next until it succeeds and reports the attempts."""
    handler = FakeHandler([ConnectionError("down"), ConnectionError("down"), "ok"])

    async def retry(request: RequestContext, call_next: CallNext) -> ResponseContext:
        for attempt in range(1, 6):
            response = await call_next(request)
            if response.ok:
                return response.with_attempts(attempt)
        return response

    pipeline = PipelineBuilder().use(retry).route(handler).build()
    response = await pipeline.invoke("search")
    assert response.value == "ok"
    assert response.attempts == 3
    assert handler.call_count == 3
    assert len({call.id for call in handler.calls}) == 1


async def test_interceptor_transforms_the_request() -> None:
    """A changed request is what inner stages and the handler receive."""

    async def add_default(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request.with_arguments({**request.arguments, "limit": 10}))

    pipeline = PipelineBuilder().use(add_default).route(echo).build()
    response = await pipeline.invoke("search", {"query": "tea"})
    assert response.value == {"query": "tea", "limit": 10}


async def test_interceptor_transforms_the_response() -> None:
    """An interceptor can replace the value or turn a failure into a fallback value."""

    async def upper(request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        return response.with_value(response.value.upper()) if response.ok else response

    async def fallback(request: RequestContext, call_next: CallNext) -> ResponseContext:
        response = await call_next(request)
        return response if response.ok else response.with_value("fallback")

    ok = PipelineBuilder().use(upper).route(FakeHandler(["tea"])).build()
    assert (await ok.invoke("search")).value == "TEA"
    failing = PipelineBuilder().use(fallback).route(FakeHandler([OSError("x")])).build()
    recovered = await failing.invoke("search")
    assert recovered.ok
    assert recovered.value == "fallback"


async def test_callable_objects_partials_and_bound_methods_are_interceptors() -> None:
    """Any callable with the right shape works: object, functools.partial, bound method."""
    log: list[str] = []

    async def tagged(tag: str, request: RequestContext, call_next: CallNext) -> ResponseContext:
        log.append(tag)
        return await call_next(request)

    class Holder:
        async def method(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
            log.append("method")
            return await call_next(request)

    pipeline = (
        PipelineBuilder()
        .use(Recorder("object", log))
        .use(functools.partial(tagged, "partial"))
        .use(Holder().method)
        .route(FakeHandler(["ok"]))
        .build()
    )
    assert (await pipeline.invoke("search")).value == "ok"
    assert log == ["object:in", "partial", "method", "object:out"]


# --- when= -----------------------------------------------------------------------------------


async def test_when_predicate_selects_calls() -> None:
    """A predicate condition runs the interceptor only for matching requests."""
    log: list[str] = []
    pipeline = (
        PipelineBuilder()
        .use(Recorder("audit", log), when=lambda r: r.arguments.get("audit") is True)
        .route(echo)
        .build()
    )
    await pipeline.invoke("search", {"audit": True})
    await pipeline.invoke("search", {"audit": False})
    assert log == ["audit:in", "audit:out"]


async def test_when_kinds_selects_calls() -> None:
    """A set of Kind runs the interceptor only for those kinds."""
    log: list[str] = []
    pipeline = (
        PipelineBuilder()
        .use(Recorder("rag-only", log), when={Kind.RAG})
        .route(FakeHandler(["ok"]))
        .build()
    )
    await pipeline.invoke("docs", kind=Kind.RAG)
    await pipeline.invoke("search", kind=Kind.TOOL)
    await pipeline.invoke("notes", kind=Kind.PLUGIN, action="add")
    assert log == ["rag-only:in", "rag-only:out"]


async def test_when_targets_selects_calls() -> None:
    """A set of target names runs the interceptor only for those targets."""
    log: list[str] = []
    pipeline = (
        PipelineBuilder()
        .use(Recorder("named", log), when={"search", "fetch"})
        .route(FakeHandler(["ok"]))
        .build()
    )
    for target in ("search", "other", "fetch"):
        await pipeline.invoke(target)
    assert log == ["named:in", "named:out", "named:in", "named:out"]


async def test_skipped_interceptor_still_lets_the_call_through() -> None:
    """A skipped stage passes the call on untouched: inner stages and the handler still run."""
    log: list[str] = []

    async def block(request: RequestContext, call_next: CallNext) -> ResponseContext:
        raise ForbiddenError("blocked")

    handler = FakeHandler(["ok"])
    pipeline = (
        PipelineBuilder()
        .use(block, when={"admin"})
        .use(Recorder("inner", log))
        .route(handler)
        .build()
    )
    response = await pipeline.invoke("search", {"q": 1})
    assert response.value == "ok"
    assert log == ["inner:in", "inner:out"]
    assert handler.calls[0].arguments == {"q": 1}
    blocked = await pipeline.invoke("admin")
    assert blocked.error is not None
    assert blocked.error.category is ErrorCategory.FORBIDDEN
    assert handler.call_count == 1


# --- composition ---------------------------------------------------------------------------


async def test_pipeline_as_the_terminal_of_another() -> None:
    """A pipeline is a handler: the outer stages wrap the whole inner pipeline."""
    log: list[str] = []
    inner = PipelineBuilder(name="inner").use(Recorder("inner", log)).route(echo).build()
    outer = PipelineBuilder(name="outer").use(Recorder("outer", log)).route(inner).build()
    response = await outer.invoke("search", {"q": 1})
    assert response.value == {"q": 1}
    assert log == ["outer:in", "inner:in", "inner:out", "outer:out"]
    assert outer.describe() == ("outer", "inner")


async def test_branching_handler() -> None:
    """A terminal that picks a sub-pipeline by kind sends each call down its own branch."""
    log: list[str] = []
    tools = PipelineBuilder(name="tools").use(Recorder("tools", log)).route(echo).build()
    rag = PipelineBuilder(name="rag").use(Recorder("rag", log)).route(FakeHandler(["doc"])).build()

    async def branch(request: RequestContext) -> ResponseContext:
        return await (rag if request.kind is Kind.RAG else tools)(request)

    pipeline = PipelineBuilder().use(Recorder("outer", log)).route(branch).build()
    assert (await pipeline.invoke("docs", kind=Kind.RAG)).value == "doc"
    assert (await pipeline.invoke("search", {"q": 1})).value == {"q": 1}
    assert log == [
        *("outer:in", "rag:in", "rag:out", "outer:out"),
        *("outer:in", "tools:in", "tools:out", "outer:out"),
    ]


# --- invoke ----------------------------------------------------------------------------------


async def test_invoke_builds_the_request() -> None:
    """invoke() passes every field into the request the handler sees."""
    clock = FakeClock(wall=1_700_000_000.0)
    handler = FakeHandler(["ok"])
    pipeline = PipelineBuilder(clock=clock).route(handler).build()
    principal = Principal(id="u1")
    trace = TraceContext(traceparent="00-a-b-01")
    extras = Extras().with_value(N, 7)
    await pipeline.invoke(
        "notes",
        {"text": "hi"},
        kind=Kind.PLUGIN,
        action="add",
        principal=principal,
        trace=trace,
        extras=extras,
    )
    request = handler.calls[0]
    assert (request.target, request.kind, request.action) == ("notes", Kind.PLUGIN, "add")
    assert request.arguments == {"text": "hi"}
    assert request.principal is principal
    assert request.trace is trace
    assert request.get(N) == 7
    assert request.deadline is None
    assert int(request.id[:12], 16) == 1_700_000_000_000


async def test_invoke_timeout_sets_a_deadline_on_the_pipeline_clock() -> None:
    """timeout= becomes clock.monotonic() + timeout."""
    clock = FakeClock(start=50.0)
    handler = FakeHandler(["ok"])
    pipeline = PipelineBuilder(clock=clock).route(handler).build()
    await pipeline.invoke("search", timeout=2.5)
    assert handler.calls[0].deadline == 52.5


@pytest.mark.parametrize(
    ("seconds", "deadline", "expected"),
    [(None, 60.0, 60.0), (5.0, 60.0, 55.0), (20.0, 60.0, 60.0)],
)
async def test_invoke_timeout_and_deadline_earlier_wins(
    seconds: float | None, deadline: float, expected: float
) -> None:
    """Given both timeout and deadline, the earlier one becomes the request deadline."""
    clock = FakeClock(start=50.0)
    handler = FakeHandler(["ok"])
    pipeline = PipelineBuilder(clock=clock).route(handler).build()
    await pipeline.invoke("search", timeout=seconds, deadline=deadline)
    assert handler.calls[0].deadline == expected


@pytest.mark.parametrize("seconds", [0, -1.0, math.nan])
async def test_invoke_refuses_a_non_positive_timeout(seconds: float) -> None:
    """A timeout that is not > 0 (including NaN) is refused before anything runs."""
    handler = FakeHandler(["ok"])
    pipeline = PipelineBuilder().route(handler).build()
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds > 0"):
        await pipeline.invoke("search", timeout=seconds)
    assert handler.call_count == 0


async def test_invoke_refuses_a_bad_target() -> None:
    """invoke() with an empty target raises before anything runs."""
    pipeline = PipelineBuilder().route(echo).build()
    with pytest.raises(ValueError, match="target must be a non-empty string"):
        await pipeline.invoke("")


async def test_calling_the_pipeline_with_a_request() -> None:
    """await pipeline(request) runs a prebuilt request."""
    pipeline = PipelineBuilder().route(echo).build()
    request = RequestContext.create("search", {"q": 2})
    assert (await pipeline(request)).value == {"q": 2}


# --- concurrency -----------------------------------------------------------------------------


async def test_thousands_of_concurrent_calls_get_their_own_responses() -> None:
    """Concurrent calls through one pipeline never mix up requests or responses."""

    async def tag(request: RequestContext, call_next: CallNext) -> ResponseContext:
        n = request.arguments["n"]
        await asyncio.sleep(0)
        response = await call_next(request.with_extra(N, n))
        return response.with_extra(N, n)

    async def handler(request: RequestContext) -> ResponseContext:
        await asyncio.sleep(0)
        return ResponseContext.success((request.arguments["n"] * 2, request.get(N), request.id))

    pipeline = PipelineBuilder().use(tag).use(passthrough).route(handler).build()
    requests = [RequestContext.create("double", {"n": n}) for n in range(3000)]
    responses = await asyncio.gather(*(pipeline(request) for request in requests))
    for n, (request, response) in enumerate(zip(requests, responses, strict=True)):
        assert response.value == (2 * n, n, request.id)
        assert response.get(N) == n


# --- introspection ---------------------------------------------------------------------------


def test_describe_and_repr() -> None:
    """describe() lists stages in call order with their conditions, then the terminal."""
    pipeline = (
        PipelineBuilder(name="main")
        .use(Recorder("stats", []))
        .use(passthrough, when={Kind.RAG, Kind.TOOL})
        .use(Recorder("named", []), when={"search"})
        .route(FakeHandler(name="handler"))
        .build()
    )
    assert pipeline.describe() == (
        "stats",
        "passthrough when kind in {rag, tool}",
        "named when target in {search}",
        "handler",
    )
    assert repr(pipeline) == (
        "Pipeline('main': stats -> passthrough when kind in {rag, tool} -> "
        "named when target in {search} -> handler)"
    )


def test_describe_names_a_predicate() -> None:
    """A predicate condition is described by its qualified name."""

    def is_admin(request: RequestContext) -> bool:
        return request.target == "admin"

    pipeline = PipelineBuilder().use(passthrough, when=is_admin).route(echo).build()
    first, terminal = pipeline.describe()
    assert first.startswith("passthrough when ")
    assert first.endswith("is_admin(request)")
    assert terminal == "echo"


def test_pipeline_exposes_its_parts() -> None:
    """A built pipeline exposes its stages, terminal, name and clock."""
    clock = FakeClock()
    interceptor = Recorder("r", [])
    pipeline = PipelineBuilder(clock=clock, name="p").use(interceptor).route(echo).build()
    assert isinstance(pipeline, Pipeline)
    assert pipeline.stages == (Stage("r", interceptor),)
    assert pipeline.terminal is echo
    assert pipeline.name == "p"
    assert pipeline.clock is clock


async def test_close_releases_the_router_and_sub_pipelines() -> None:
    """close() reaches the router through a sub-pipeline; sync calls are refused afterwards."""
    registry = LocalRegistry()

    @registry.tool
    def add(a: int, b: int) -> int:
        return a + b

    inner = PipelineBuilder().route(registry).build()
    outer = PipelineBuilder().use(passthrough).route(inner).build()
    assert (await outer.invoke("add", {"a": 1, "b": 2})).unwrap() == 3
    outer.close()
    error = (await outer.invoke("add", {"a": 1, "b": 2})).error
    assert error is not None
    assert error.category == "unavailable"
    PipelineBuilder().route(echo).build().close()  # a terminal without close() is fine


@pytest.mark.parametrize(
    "when",
    [{"picked"}, {Kind.PLUGIN}, lambda request: request.target == "picked"],
    ids=["targets", "kinds", "predicate"],
)
async def test_conditional_stages_hand_on_the_very_request(when: Any) -> None:
    """Applied, the stage gets the request; skipped, the next stage gets it unchanged."""
    seen: list[RequestContext] = []

    async def stage(request: RequestContext, call_next: CallNext) -> ResponseContext:
        seen.append(request)
        return await call_next(request)

    handler = FakeHandler(["a", "b"])
    pipeline = PipelineBuilder().use(stage, when=when).route(handler).build()
    picked = RequestContext.create("picked", kind=Kind.PLUGIN, action="go")
    skipped = RequestContext.create("other")
    assert (await pipeline(picked)).value == "a"
    assert (await pipeline(skipped)).value == "b"
    assert seen == [picked]
    assert handler.calls == [picked, skipped]


async def test_prebinding_handles_optional_extras_and_keyword_only_defaults() -> None:
    """Interceptors with an extra optional positional or keyword-only defaults run correctly."""
    log: list[str] = []

    async def extra(
        request: RequestContext, call_next: CallNext, tag: str = "extra"
    ) -> ResponseContext:
        log.append(tag)
        return await call_next(request)

    async def keyword(
        request: RequestContext, call_next: CallNext, *, tag: str = "keyword"
    ) -> ResponseContext:
        log.append(tag)
        return await call_next(request)

    class Method:
        async def __call__(
            self, request: RequestContext, call_next: CallNext, *, tag: str = "method"
        ) -> ResponseContext:
            log.append(tag)
            return await call_next(request)

    pipeline = (
        PipelineBuilder().use(extra).use(keyword).use(Method()).route(FakeHandler(["v"])).build()
    )
    assert (await pipeline.invoke("x")).value == "v"
    assert log == ["extra", "keyword", "method"]


class ClosableHandler:
    """A handler that counts close() and aclose() calls."""

    def __init__(self) -> None:
        self.closed = 0

    async def __call__(self, request: RequestContext) -> ResponseContext:
        return ResponseContext.success(request.target)

    async def aclose(self) -> None:
        self.closed += 1

    def close(self) -> None:
        self.closed += 1


async def test_close_twice_closes_the_owned_handler_once() -> None:
    """close() and aclose() are no-ops the second time, in either order."""
    handler = ClosableHandler()
    pipeline = PipelineBuilder().route(handler).build()
    pipeline.close()
    pipeline.close()
    await pipeline.aclose()
    assert handler.closed == 1


async def test_a_pipeline_made_directly_owns_its_terminal() -> None:
    """Pipeline(...) without owns_terminal= closes its terminal on aclose()."""
    handler = ClosableHandler()
    pipeline = Pipeline(stages=(), terminal=handler, clock=FakeClock(), name="direct")
    async with pipeline:
        assert (await pipeline.invoke("x")).unwrap() == "x"
    assert handler.closed == 1


async def test_kind_given_as_a_string_is_the_kind_member() -> None:
    """invoke(kind='plugin') reaches the stages as Kind.PLUGIN, and the plugin action runs."""
    seen: list[object] = []

    async def spy(request: RequestContext, call_next: CallNext) -> ResponseContext:
        seen.append(request.kind)
        return await call_next(request)

    registry = LocalRegistry()

    class Notes:
        def add(self, text: str) -> str:
            return f"noted {text}"

    registry.plugin(Notes)
    pipeline = PipelineBuilder().use(spy).route(registry).build()
    response = await pipeline.invoke("notes", {"text": "x"}, kind="plugin", action="add")  # type: ignore[arg-type]
    assert response.unwrap() == "noted x"
    assert seen == [Kind.PLUGIN]
    assert type(seen[0]) is Kind


async def test_loaded_entries_are_found_by_the_fast_lookup_without_resolve() -> None:
    """invoke() and a request sent straight to the pipeline reach a loaded tool with no
    registry.resolve() call (a dictionary read), and the stages see the resolved entry."""
    calls: list[str] = []
    seen: list[object] = []

    class Recording(LocalRegistry):
        def resolve(self, kind: Kind, name: str, action: str | None = None) -> Any:
            calls.append(name)
            return super().resolve(kind, name, action)

    async def spy(request: RequestContext, call_next: CallNext) -> ResponseContext:
        seen.append(request.resolution)
        return await call_next(request)

    registry = Recording()

    @registry.tool
    async def search(query: str) -> str:
        return query

    pipeline = PipelineBuilder().use(spy).route(registry).build()
    assert (await pipeline.invoke("search", {"query": "a"})).unwrap() == "a"
    assert (await pipeline(RequestContext.create("search", {"query": "b"}))).unwrap() == "b"
    assert calls == []
    entry = registry.lookup((Kind.TOOL, "search", None))
    assert entry is not None
    assert seen == [entry, entry]
