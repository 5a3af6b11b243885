"""Tests for toolware.builder: placing stages by name, one clock, when= target checks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipeline_support import echo
from toolware import (
    Kind,
    LocalRegistry,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    StatsInterceptor,
    TimeoutInterceptor,
    UnauthenticatedError,
    default_builder,
)
from toolware.defaults import DEFAULT_STAGES
from toolware.errors import BuilderFrozenError
from toolware.testing import FakeClock, FakeHandler
from toolware.types import CallNext


def named(name: str, log: list[str]) -> Any:
    async def stage(request: RequestContext, call_next: CallNext) -> ResponseContext:
        log.append(name)
        return await call_next(request)

    stage.__qualname__ = stage.__name__ = name
    return stage


def order(builder: PipelineBuilder) -> list[str]:
    return [stage.name for stage in builder.route(FakeHandler(["ok"])).build().stages]


def test_before_and_after_place_a_stage_next_to_its_anchor() -> None:
    """before= goes right before the anchor, after= right after, whatever the order of use()."""
    log: list[str] = []
    builder = (
        PipelineBuilder()
        .use(named("x", log), before="b")
        .use(named("a", log))
        .use(named("b", log))
        .use(named("c", log))
        .use(named("y", log), after="a")
    )
    assert builder.stage_names == ("a", "y", "x", "b", "c")
    assert order(builder) == ["a", "y", "x", "b", "c"]


def test_stages_placed_at_one_anchor_keep_the_order_they_were_added_in() -> None:
    """Two before='b' stay in use() order, and so do two after='a'."""
    log: list[str] = []
    builder = PipelineBuilder().use(named("a", log)).use(named("b", log))
    builder.use(named("b1", log), before="b").use(named("b2", log), before="b")
    builder.use(named("a1", log), after="a").use(named("a2", log), after="a")
    assert order(builder) == ["a", "a1", "a2", "b1", "b2", "b"]


def test_first_makes_a_stage_outermost_and_the_latest_first_wins() -> None:
    """first=True puts the stage in front of everything added so far."""
    log: list[str] = []
    builder = PipelineBuilder().use(named("a", log)).use(named("auth", log), first=True)
    builder.use(named("trace", log), first=True)
    assert order(builder) == ["trace", "auth", "a"]


def test_an_anchor_may_be_a_placed_stage_itself() -> None:
    """after= a stage that was itself placed with before= resolves in two steps."""
    log: list[str] = []
    builder = PipelineBuilder().use(named("z", log), after="x").use(named("a", log))
    builder.use(named("x", log), before="a")
    assert order(builder) == ["x", "z", "a"]


def test_unknown_anchor_is_refused_at_build_with_a_suggestion() -> None:
    """A misspelt anchor names the stage, the anchor, a close match and every stage."""
    builder = default_builder(LocalRegistry()).use(named("auth", []), before="validaton")
    with pytest.raises(ValueError, match=r"'auth' is placed before='validaton'.*'validation'\?"):
        builder.route(LocalRegistry()).build()


def test_a_loop_of_anchors_is_refused() -> None:
    """a before b and b before a can never be satisfied."""
    builder = PipelineBuilder().use(named("a", []), before="b").use(named("b", []), before="a")
    with pytest.raises(ValueError, match="stage placements form a loop"):
        builder.route(FakeHandler(["x"])).build()


def test_duplicate_stage_names_are_refused_or_numbered() -> None:
    """An explicit duplicate name= is refused; the same interceptor unnamed is numbered."""
    stage = named("a", [])
    builder = PipelineBuilder().use(stage).use(stage).use(stage)
    with pytest.raises(ValueError, match=r"'a#2' is already in this pipeline.*name='\.\.\.'"):
        builder.use(named("b", []), name="a#2")
    builder.use(named("a", []), name="z")
    assert builder.stage_names == ("a", "a#2", "a#3", "z")


@pytest.mark.parametrize("options", [{"before": "a", "after": "a"}, {"before": "a", "first": True}])
def test_only_one_placement_per_stage(options: dict[str, Any]) -> None:
    """before=, after= and first= exclude each other."""
    with pytest.raises(ValueError, match="at most one of before=, after= and first=True"):
        PipelineBuilder().use(named("b", []), **options)


def test_placement_names_must_be_strings() -> None:
    """before=3 is a mistake, not a position."""
    with pytest.raises(TypeError, match="before= takes a stage name"):
        PipelineBuilder().use(named("b", []), before=3)  # type: ignore[arg-type]


def test_default_stages_are_named() -> None:
    """The default builder's stages carry the names the guide uses as anchors."""
    assert default_builder(LocalRegistry()).stage_names == DEFAULT_STAGES


async def test_authentication_first_answers_before_validation_can_leak_anything() -> None:
    """An unauthenticated caller gets 'unauthenticated', not not_found or argument errors."""
    registry = LocalRegistry()

    @registry.tool
    async def secret(code: int) -> int:
        return code

    log: list[str] = []

    async def authenticate(request: RequestContext, call_next: CallNext) -> ResponseContext:
        log.append("auth")
        if request.principal is None:
            return ResponseContext.failure(UnauthenticatedError("who are you?"))
        return await call_next(request)

    pipeline = default_builder(registry).use(authenticate, first=True).route(registry).build()
    assert next(stage.name for stage in pipeline.stages) == "authenticate"
    for target, arguments in (("secret", {"code": "not a number"}), ("secrets", {})):
        response = await pipeline.invoke(target, arguments)
        assert response.error is not None
        assert response.error.category == "unauthenticated"
        assert response.error.request_id is not None
    assert log == ["auth", "auth"]


# --- one clock -------------------------------------------------------------------------------


async def test_interceptors_without_a_clock_adopt_the_pipelines() -> None:
    """PipelineBuilder(clock=fake).use(TimeoutInterceptor(timeout=5)): the deadline is fake time."""
    clock = FakeClock()
    registry = LocalRegistry()
    seen: list[float | None] = []

    @registry.tool
    async def probe(ctx: RequestContext) -> str:
        seen.append(ctx.deadline)
        return "ok"

    timeout, stats = TimeoutInterceptor(timeout=5), StatsInterceptor()
    pipeline = PipelineBuilder(clock=clock).use(stats).use(timeout).route(registry).build()
    assert (await pipeline.invoke("probe")).unwrap() == "ok"
    assert seen == [clock.monotonic() + 5]
    assert timeout.clock is clock


@pytest.mark.parametrize("make", [TimeoutInterceptor, StatsInterceptor])
def test_a_stage_with_another_clock_is_refused_at_build(make: Any) -> None:
    """Two timelines in one pipeline are refused, naming both clocks and the fix."""
    mine, other = FakeClock(), FakeClock()
    builder = PipelineBuilder(clock=mine).use(make(clock=other)).route(LocalRegistry())
    with pytest.raises(ValueError, match=r"was given clock.* but its pipeline uses .*same clock"):
        builder.build()


def test_the_same_clock_given_twice_is_fine() -> None:
    """Passing the pipeline's own clock to an interceptor is allowed."""
    clock = FakeClock()
    stage = TimeoutInterceptor(timeout=1, clock=clock)
    PipelineBuilder(clock=clock).use(stage).route(LocalRegistry()).build()
    assert stage.clock is clock


def test_a_sub_pipeline_on_another_clock_is_refused() -> None:
    """Routing to a pipeline built on another clock would mix timelines in one call."""
    inner = PipelineBuilder(clock=FakeClock()).route(LocalRegistry()).build()
    with pytest.raises(ValueError, match="build both with the same PipelineBuilder"):
        PipelineBuilder(clock=FakeClock()).route(inner).build()


def test_a_non_clock_is_refused() -> None:
    """clock= takes a Clock; a number is a mistake caught at once."""
    with pytest.raises(TypeError, match="clock must implement"):
        PipelineBuilder(clock=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock must implement"):
        TimeoutInterceptor(clock=3)  # type: ignore[arg-type]


# --- when= targets ---------------------------------------------------------------------------


def plugin_registry() -> LocalRegistry:
    registry = LocalRegistry()

    class Notes:
        def add(self, text: str) -> str:
            return text

        def count(self) -> int:
            return 0

    registry.plugin(Notes)
    return registry


async def test_when_matches_a_plugin_action_by_its_canonical_name() -> None:
    """when={'notes.add'} applies to notes.add and not to notes.count."""
    registry = plugin_registry()
    log: list[str] = []
    pipeline = (
        PipelineBuilder().use(named("only_add", log), when={"notes.add"}).route(registry).build()
    )
    await pipeline.invoke("notes.count")
    assert log == []
    assert (await pipeline.invoke("notes.add", {"text": "x"})).unwrap() == "x"
    assert log == ["only_add"]


def test_when_targets_the_registry_lacks_are_refused_at_build() -> None:
    """A target that matches nothing is a silent no-op stage: refused with a suggestion."""
    builder = PipelineBuilder().use(named("s", []), when={"notes.ad"}).route(plugin_registry())
    with pytest.raises(ValueError, match=r"'notes.ad' → \('notes.add',"):
        builder.build()


def test_when_kinds_are_not_checked_against_the_registry() -> None:
    """Kinds are never 'unknown': an empty registry still accepts when={Kind.RAG}."""
    PipelineBuilder().use(named("s", []), when={Kind.RAG}).route(LocalRegistry()).build()


def refusal(error: type[Exception], action: Any) -> str:
    with pytest.raises(error) as caught:
        action()
    return str(caught.value)


def test_use_and_route_refusals_say_what_was_wrong_and_what_to_write() -> None:
    """Wrong shapes, clashing placements, bad names and a second terminal: exact messages."""
    log: list[str] = []
    builder = PipelineBuilder().use(named("a", log)).use(named("b", log))
    one = refusal(TypeError, lambda: builder.use(lambda request: request))
    assert one.startswith("use() must accept 2 positional argument(s), but ")
    assert one.endswith("<lambda>(request) does not; e.g. async def log(request, call_next): ...")
    two = refusal(TypeError, lambda: PipelineBuilder().route(lambda a, b: a))
    assert two.startswith("route() must accept 1 positional argument(s), but ")
    assert two.endswith(
        "<lambda>(a, b) does not; e.g. route(registry) or route(async def handler(request))"
    )
    assert refusal(ValueError, lambda: builder.use(named("c", log), first=True, after="a")) == (
        "use() takes at most one of before=, after= and first=True"
    )
    assert refusal(TypeError, lambda: builder.use(named("c", log), name=7)) == (  # type: ignore[arg-type]
        "name= takes a stage name (a non-empty str), got 7"
    )
    assert refusal(TypeError, lambda: builder.use(named("c", log), after="")) == (
        "after= takes a stage name (a non-empty str), got ''"
    )
    assert refusal(ValueError, lambda: builder.use(named("c", log), name="b")) == (
        "a stage named 'b' is already in this pipeline; give this one another name with "
        "use(..., name='...'). Stages: a, b"
    )
    assert refusal(ValueError, lambda: PipelineBuilder().route(echo, workers=2)) == (
        "workers= and max_queued= only apply when routing to a registry"
    )
    routed = PipelineBuilder().route(echo)
    assert refusal(ValueError, lambda: routed.route(echo)) == (
        "route() was already called; a pipeline has one terminal. To send calls to several, "
        "route to a CompositeRegistry or to a pipeline that branches"
    )
    assert refusal(ValueError, PipelineBuilder().build) == (
        "build() needs a terminal: call .route(registry) or .route(handler) first"
    )
    routed.build()
    assert refusal(BuilderFrozenError, lambda: routed.use(named("c", log))) == (
        "use() called on a builder that was already built into a pipeline; pipelines are "
        "immutable: start a new PipelineBuilder() for a different pipeline"
    )


def test_a_missing_or_looping_anchor_is_refused_with_the_placements() -> None:
    """after= a missing stage names after= and the stages; a loop lists every placement."""
    log: list[str] = []
    missing = PipelineBuilder().use(named("a", log)).use(named("b", log))
    missing.use(named("x", log), after="zzz")
    assert refusal(ValueError, missing.route(echo).build) == (
        "stage 'x' is placed after='zzz', but no stage has that name; stages: a, b, x"
    )
    looping = PipelineBuilder().use(named("a", log), before="b").use(named("b", log), before="a")
    assert refusal(ValueError, looping.route(echo).build) == (
        "stage placements form a loop: 'a' → 'b', 'b' → 'a'; anchor one of them elsewhere"
    )


def test_when_names_missing_from_the_registry_are_listed_with_suggestions() -> None:
    """Every unknown when= target is named, with its close matches, and the fix."""
    registry = LocalRegistry()

    @registry.tool
    async def search(query: str) -> str:
        return query

    builder = PipelineBuilder().use(named("a", []), when={"serch", "nothing"}).route(registry)
    assert refusal(ValueError, builder.build) == (
        "stage 'a' has when= targets that the registry does not have: 'nothing' → (), "
        "'serch' → ('search',); a plugin action is named 'plugin.action'. Fix the names, or "
        "use a predicate for targets registered later"
    )


def test_default_names_for_a_bound_method_stage_and_the_pipeline() -> None:
    """A bound method stage is named after the method; an unnamed pipeline is 'pipeline'."""

    class Auth:
        async def check(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
            return await call_next(request)

    builder = PipelineBuilder().use(Auth().check)
    assert builder.stage_names == ("check",)
    assert builder.route(echo).build().name == "pipeline"
