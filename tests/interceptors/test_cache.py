"""Tests for toolware.interceptors.cache: opt-in, keys, TTL, scopes, bounds, errors, options."""

import logging
from typing import Any

import pytest

from toolware import (
    CallNext,
    Kind,
    LocalRegistry,
    Pipeline,
    PipelineBuilder,
    Principal,
    RequestContext,
    ResponseContext,
)
from toolware.clock import system_clock
from toolware.errors import (
    CallCancelledError,
    CallTimeoutError,
    CircuitOpenError,
    ErrorCategory,
    ForbiddenError,
    InternalError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    ToolFailedError,
    ToolwareError,
    UnauthenticatedError,
    UnavailableError,
)
from toolware.interceptors._cache_keys import cache_key
from toolware.interceptors.cache import CacheInterceptor
from toolware.markers import CACHE_HIT
from toolware.registry.base import CachePolicy
from toolware.state.memory import MemoryState
from toolware.testing import FakeClock, FakeHandler

ALICE = Principal(id="alice")
BOB = Principal(id="bob")


def counting(
    registry: LocalRegistry, name: str = "lookup", runs: list[Any] | None = None, **options: Any
) -> list[Any]:
    """Register ``name(q)`` answering ``{"q": q, "n": <run number>}``; returns the run log."""
    log: list[Any] = [] if runs is None else runs

    async def lookup(q: Any = None) -> dict[str, Any]:
        log.append(q)
        return {"q": q, "n": len(log)}

    registry.tool(lookup, name=name, **options)
    return log


def cached(
    terminal: Any, clock: FakeClock, *inner: Any, **options: Any
) -> tuple[Pipeline, CacheInterceptor]:
    """A pipeline: CacheInterceptor(**options), then ``inner`` interceptors, then ``terminal``."""
    cache = CacheInterceptor(**options)
    builder = PipelineBuilder(clock=clock).use(cache)
    for interceptor in inner:
        builder = builder.use(interceptor)
    return builder.route(terminal).build(), cache


async def test_a_repeated_call_is_answered_from_the_cache() -> None:
    """The second identical call is a hit: handler run once, CACHE_HIT set, hit's own times."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry, cache=True)
    pipeline, _ = cached(registry, clock)
    first = await pipeline.invoke("lookup", {"q": "x"})
    await clock.advance(3.0)
    second = await pipeline.invoke("lookup", {"q": "x"})
    assert first.unwrap() == second.unwrap() == {"q": "x", "n": 1}
    assert runs == ["x"]
    assert first.get(CACHE_HIT) is False
    assert second.get(CACHE_HIT) is True
    assert (second.started_at, second.finished_at) == (1003.0, 1003.0)
    assert second.stream is None


async def test_entries_without_a_cache_policy_pass_straight_through() -> None:
    """No policy, no caching: the handler runs every time and nothing is marked a hit."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry)
    pipeline, cache = cached(registry, clock)
    for _ in range(2):
        response = await pipeline.invoke("lookup", {"q": "x"})
        assert response.get(CACHE_HIT) is False
    assert runs == ["x", "x"]
    assert isinstance(cache.state, MemoryState)
    assert len(cache.state.cache) == 0


async def test_calls_with_no_registry_entry_pass_straight_through() -> None:
    """A terminal that is not a registry gives no entry: every call reaches it."""
    clock = FakeClock()
    handler = FakeHandler(["v"])
    pipeline, _ = cached(handler, clock)
    await pipeline.invoke("x")
    await pipeline.invoke("x")
    assert handler.call_count == 2


async def test_interceptor_ttl_expires_at_the_exact_instant() -> None:
    """With ttl=10 a result is a hit at +9.999 s and a miss at +10 s."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry, cache=True)
    pipeline, _ = cached(registry, clock, ttl=10)
    await pipeline.invoke("lookup", {"q": 1})
    await clock.advance(9.999)
    assert (await pipeline.invoke("lookup", {"q": 1})).get(CACHE_HIT) is True
    await clock.advance(0.001)
    assert (await pipeline.invoke("lookup", {"q": 1})).get(CACHE_HIT) is False
    assert runs == [1, 1]


async def test_default_ttl_is_sixty_seconds() -> None:
    """Without a ttl anywhere a result lives 60 s."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry, cache=True)
    pipeline, cache = cached(registry, clock)
    assert cache.ttl == 60.0
    await pipeline.invoke("lookup")
    await clock.advance(59.999)
    await pipeline.invoke("lookup")
    assert runs == [None]
    await clock.advance(0.001)
    await pipeline.invoke("lookup")
    assert runs == [None, None]


async def test_the_entry_ttl_wins_over_the_interceptor_ttl() -> None:
    """CachePolicy(ttl=2) expires at +2 s although the interceptor says 10."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry, cache=CachePolicy(ttl=2))
    pipeline, _ = cached(registry, clock, ttl=10)
    await pipeline.invoke("lookup", {"q": 1})
    await clock.advance(1.999)
    assert (await pipeline.invoke("lookup", {"q": 1})).get(CACHE_HIT) is True
    await clock.advance(0.001)
    assert (await pipeline.invoke("lookup", {"q": 1})).get(CACHE_HIT) is False
    assert runs == [1, 1]


async def test_argument_order_does_not_matter() -> None:
    """The same arguments in another order are the same key."""
    clock, registry = FakeClock(), LocalRegistry()
    log: list[Any] = []

    @registry.tool(cache=True)
    async def pair(a: int, b: dict[str, int]) -> int:
        log.append(a)
        return a

    pipeline, _ = cached(registry, clock)
    await pipeline.invoke("pair", {"a": 1, "b": {"x": 1, "y": 2}})
    hit = await pipeline.invoke("pair", {"b": {"y": 2, "x": 1}, "a": 1})
    assert hit.get(CACHE_HIT) is True
    assert log == [1]


async def test_different_arguments_miss() -> None:
    """Another argument value is another key."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry, cache=True)
    pipeline, _ = cached(registry, clock)
    await pipeline.invoke("lookup", {"q": 1})
    await pipeline.invoke("lookup", {"q": 2})
    await pipeline.invoke("lookup", {"q": 1})
    assert runs == [1, 2]


async def test_different_targets_miss() -> None:
    """Two entries with the same arguments keep separate results."""
    clock, registry = FakeClock(), LocalRegistry()
    runs: list[Any] = []
    counting(registry, "one", runs, cache=True)
    counting(registry, "two", runs, cache=True)
    pipeline, _ = cached(registry, clock)
    assert (await pipeline.invoke("one", {"q": 1})).unwrap() == {"q": 1, "n": 1}
    assert (await pipeline.invoke("two", {"q": 1})).unwrap() == {"q": 1, "n": 2}
    assert (await pipeline.invoke("one", {"q": 1})).unwrap() == {"q": 1, "n": 1}


async def test_different_actions_of_a_plugin_miss() -> None:
    """notes.a and notes.b with the same arguments keep separate results."""
    clock, registry = FakeClock(), LocalRegistry()
    log: list[str] = []

    class Notes:
        async def a(self, q: int) -> str:
            log.append("a")
            return "a"

        async def b(self, q: int) -> str:
            log.append("b")
            return "b"

    registry.plugin(Notes, cache=True)
    pipeline, _ = cached(registry, clock)
    for action in ("a", "b", "a", "b"):
        response = await pipeline.invoke("notes", {"q": 1}, kind=Kind.PLUGIN, action=action)
        assert response.unwrap() == action
    assert log == ["a", "b"]


async def test_a_new_entry_version_misses() -> None:
    """Two pipelines sharing one store: version 1 and version 2 of a tool do not share."""
    clock, state = FakeClock(), MemoryState()
    runs: list[Any] = []
    old, new = LocalRegistry(), LocalRegistry()
    counting(old, runs=runs, cache=True, version="1")
    counting(new, runs=runs, cache=True, version="2")
    first, _ = cached(old, clock, state=state)
    second, _ = cached(new, clock, state=state)
    await first.invoke("lookup", {"q": 1})
    assert (await second.invoke("lookup", {"q": 1})).get(CACHE_HIT) is False
    assert (await first.invoke("lookup", {"q": 1})).get(CACHE_HIT) is True
    assert runs == [1, 1]


async def test_principal_scope_keeps_each_caller_apart() -> None:
    """Default scope: alice, bob and anonymous each get their own result; repeats hit."""
    clock, registry = FakeClock(), LocalRegistry()
    counting(registry, cache=True)
    pipeline, _ = cached(registry, clock)
    values = [
        (await pipeline.invoke("lookup", {"q": 1}, principal=who)).unwrap()["n"]
        for who in (ALICE, BOB, None, ALICE, BOB, None)
    ]
    assert values == [1, 2, 3, 1, 2, 3]


async def test_anonymous_calls_do_not_share_with_a_principal_named_anonymous() -> None:
    """Anonymous calls share one scope, distinct from every principal's, even 'anonymous'."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry, cache=True)
    pipeline, _ = cached(registry, clock)
    await pipeline.invoke("lookup", {"q": 1})
    named = await pipeline.invoke("lookup", {"q": 1}, principal=Principal(id="anonymous"))
    assert named.get(CACHE_HIT) is False
    assert runs == [1, 1]


async def test_shared_scope_serves_every_caller() -> None:
    """scope='shared': one result for alice, bob and anonymous alike."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry, cache=CachePolicy(scope="shared"))
    pipeline, _ = cached(registry, clock)
    for who in (ALICE, BOB, None):
        assert (await pipeline.invoke("lookup", {"q": 1}, principal=who)).unwrap()["n"] == 1
    assert runs == [1]


async def test_max_entries_bounds_the_private_store_least_recently_used_first() -> None:
    """max_entries=2: a third key evicts the least recently used one."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry, cache=True)
    pipeline, _ = cached(registry, clock, max_entries=2)
    for q in (1, 2, 1, 3):  # 1 is used again, so 2 is the least recently used
        await pipeline.invoke("lookup", {"q": q})
    assert runs == [1, 2, 3]
    assert (await pipeline.invoke("lookup", {"q": 1})).get(CACHE_HIT) is True
    assert (await pipeline.invoke("lookup", {"q": 2})).get(CACHE_HIT) is False
    assert runs == [1, 2, 3, 2]


async def test_a_given_store_keeps_its_own_bound() -> None:
    """With state= the store's bound applies, not max_entries."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry, cache=True)
    state = MemoryState(max_cache_entries=3)
    pipeline, cache = cached(registry, clock, max_entries=1, state=state)
    assert cache.state is state
    for q in (1, 2, 3, 1, 2, 3):
        await pipeline.invoke("lookup", {"q": q})
    assert runs == [1, 2, 3]


ERRORS = [
    InvalidRequestError("bad"),
    NotFoundError("gone"),
    UnauthenticatedError("who"),
    ForbiddenError("no"),
    RateLimitedError("slow down", retry_after=1.0),
    CircuitOpenError("open", retry_after=1.0),
    CallTimeoutError("late", limit=1.0),
    UnavailableError("down"),
    ToolFailedError("broke"),
    CallCancelledError("cancelled"),
    InternalError("bug"),
]


def test_every_error_category_is_tested() -> None:
    """ERRORS covers each category once."""
    assert {type(error).category for error in ERRORS} == set(ErrorCategory)


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: error.category.value)
async def test_errors_are_never_cached(error: ToolwareError) -> None:
    """A failure of any category is answered as it is and not stored: the next call runs."""
    clock, registry = FakeClock(), LocalRegistry()
    counting(registry, cache=True)
    failures = [error]

    async def fail_once(request: RequestContext, call_next: CallNext) -> ResponseContext:
        if failures:
            return ResponseContext.failure(failures.pop())
        return await call_next(request)

    pipeline, cache = cached(registry, clock, fail_once)
    failed = await pipeline.invoke("lookup", {"q": 1})
    assert failed.error is not None
    assert failed.error.category is error.category
    assert isinstance(cache.state, MemoryState)
    assert len(cache.state.cache) == 0
    assert (await pipeline.invoke("lookup", {"q": 1})).unwrap() == {"q": 1, "n": 1}
    assert (await pipeline.invoke("lookup", {"q": 1})).get(CACHE_HIT) is True


async def test_a_caller_mutating_its_result_cannot_change_the_cache() -> None:
    """Miss and hits each get their own object: mutating one leaves the stored value intact."""
    clock, registry = FakeClock(), LocalRegistry()

    @registry.tool(cache=True)
    async def listing() -> dict[str, list[int]]:
        return {"items": [1, 2]}

    pipeline, _ = cached(registry, clock)
    miss = (await pipeline.invoke("listing")).unwrap()
    miss["items"].append(3)
    hit = (await pipeline.invoke("listing")).unwrap()
    assert hit == {"items": [1, 2]}
    hit["items"].clear()
    assert (await pipeline.invoke("listing")).unwrap() == {"items": [1, 2]}


@pytest.mark.parametrize(
    "value",
    [b"aGk=", {"a", "b"}, (1, 2), float("nan"), float("inf"), {1: "int key"}, object()],
    ids=["bytes", "set", "tuple", "nan", "inf", "int-key", "object"],
)
async def test_arguments_with_no_exact_json_form_go_on_uncached(
    value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """bytes, sets, tuples, NaN, int keys, objects: no key, the call runs each time, logged."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry, cache=True)
    pipeline, cache = cached(registry, clock)
    with caplog.at_level(logging.DEBUG, logger="toolware.interceptors.cache"):
        for _ in range(2):
            response = await pipeline.invoke("lookup", {"q": value})
            assert response.ok
            assert response.get(CACHE_HIT) is False
    assert len(runs) == 2
    assert isinstance(cache.state, MemoryState)
    assert len(cache.state.cache) == 0
    events = [record.getMessage().split()[0] for record in caplog.records]
    assert events == ["cache.key_failed", "cache.key_failed"]
    assert caplog.records[0].levelno == logging.DEBUG
    assert caplog.records[0].__dict__["target"] == "lookup"


def test_bytes_do_not_share_a_key_with_their_base64_text() -> None:
    """b'hi' has no key at all, while 'aGk=' (its base64) has one."""
    assert cache_key("t", "0", None, {"q": b"hi"}) is None
    key = cache_key("t", "0", None, {"q": "aGk="})
    assert key is not None
    assert key.startswith("cache:t:")
    assert len(key) == len("cache:t:") + 32


@pytest.mark.parametrize("value", [(1, 2), float("nan"), object()], ids=["tuple", "nan", "object"])
async def test_values_that_do_not_round_trip_are_not_cached(
    value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A tuple (would come back a list), NaN or an object is answered, not stored; warned once."""
    clock, registry = FakeClock(), LocalRegistry()
    runs: list[int] = []

    @registry.tool(cache=True)
    async def odd() -> Any:
        runs.append(1)
        return value

    pipeline, _ = cached(registry, clock)
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.cache"):
        for _ in range(3):
            assert (await pipeline.invoke("odd")).get(CACHE_HIT) is False
    assert len(runs) == 3
    assert [record.getMessage().split()[0] for record in caplog.records] == ["cache.value_skipped"]
    assert caplog.records[0].__dict__["target"] == "odd"


class BrokenStore(MemoryState):
    """A MemoryState whose cache operations raise the given exception."""

    def __init__(self, failing: set[str]) -> None:
        super().__init__()
        self.failing = failing

    async def cache_get(self, key: str, now: float) -> bytes | None:
        if "get" in self.failing:
            raise ConnectionError("store down")
        return await super().cache_get(key, now)

    async def cache_set(self, key: str, value: bytes, ttl: float, now: float) -> None:
        if "set" in self.failing:
            raise ConnectionError("store down")
        await super().cache_set(key, value, ttl, now)


@pytest.mark.parametrize("operation", ["get", "set"])
async def test_a_broken_store_never_fails_the_call(
    operation: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A store that raises on get or set: every call still answers (as a miss), logged."""
    clock, registry = FakeClock(), LocalRegistry()
    runs = counting(registry, cache=True)
    pipeline, _ = cached(registry, clock, state=BrokenStore({operation}))
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.cache"):
        for _ in range(2):
            assert (await pipeline.invoke("lookup", {"q": 1})).unwrap()["q"] == 1
    assert runs == [1, 1]
    record = caplog.records[0]
    assert record.getMessage().startswith(
        f"cache.store_failed operation={operation} target=lookup store=memory error=ConnectionError"
    )
    assert record.__dict__["operation"] == operation
    assert len(caplog.records) == 2


async def test_a_record_the_cache_did_not_write_is_a_miss(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Foreign bytes under a cache key are logged as a bad record and answered as a miss."""
    clock, registry = FakeClock(), LocalRegistry()
    counting(registry, cache=True)
    state = MemoryState()
    key = cache_key("lookup", "0", None, {"q": 1})
    assert key is not None
    await state.cache_set(key, b"xjunk", 60.0, clock.monotonic())
    pipeline, _ = cached(registry, clock, state=state)
    with caplog.at_level(logging.WARNING, logger="toolware.interceptors.cache"):
        response = await pipeline.invoke("lookup", {"q": 1})
    assert response.unwrap() == {"q": 1, "n": 1}
    assert caplog.records[0].getMessage().startswith("cache.store_failed operation=decode")
    assert (await pipeline.invoke("lookup", {"q": 1})).get(CACHE_HIT) is True
    await state.cache_set(key, b"", 60.0, clock.monotonic())
    assert (await pipeline.invoke("lookup", {"q": 1})).get(CACHE_HIT) is False


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("ttl", 0),
        ("ttl", -1.0),
        ("ttl", float("nan")),
        ("ttl", float("inf")),
        ("ttl", True),
        ("ttl", "60"),
        ("ttl", None),
        ("max_entries", 0),
        ("max_entries", True),
        ("max_entries", 1.5),
        ("max_entries", None),
    ],
)
def test_bad_numbers_are_refused_naming_the_option(option: str, value: Any) -> None:
    """ttl and max_entries: a ValueError naming the option and the value."""
    with pytest.raises(ValueError, match=f"^{option} must be .*got {value!r}"):
        CacheInterceptor(**{option: value})


def test_the_smallest_good_values_are_accepted() -> None:
    """ttl just above 0 and max_entries=1 are fine; an int ttl is kept as given."""
    assert CacheInterceptor(ttl=1e-9, max_entries=1).ttl == 1e-9
    assert CacheInterceptor(ttl=5).ttl == 5


def test_a_state_that_is_not_a_store_is_refused() -> None:
    """state= takes a StateStore."""
    with pytest.raises(TypeError, match=r"^state must be a toolware\.state StateStore .*got dict"):
        CacheInterceptor(state={})  # type: ignore[arg-type]


def test_a_clock_that_is_not_a_clock_is_refused() -> None:
    """clock= takes a Clock."""
    with pytest.raises(TypeError, match=r"^clock must implement toolware\.clock\.Clock, got 1$"):
        CacheInterceptor(clock=1)  # type: ignore[arg-type]


async def test_the_pipeline_clock_is_adopted() -> None:
    """Without clock= the interceptor keeps time on the pipeline's clock."""
    clock, registry = FakeClock(), LocalRegistry()
    counting(registry, cache=CachePolicy(ttl=1))
    pipeline, cache = cached(registry, clock)
    assert cache.clock is clock
    await pipeline.invoke("lookup")
    await clock.advance(1.0)
    assert (await pipeline.invoke("lookup")).get(CACHE_HIT) is False


def test_an_unbound_interceptor_reads_the_system_clock() -> None:
    """Before build() it has the system clock."""
    assert CacheInterceptor().clock is system_clock


def test_a_different_pipeline_clock_is_refused() -> None:
    """Given its own clock, it refuses a pipeline on another one; the same one is fine."""
    mine = FakeClock()
    cache = CacheInterceptor(clock=mine)
    cache.bind_clock(mine)
    with pytest.raises(ValueError, match=r"^CacheInterceptor was given clock"):
        PipelineBuilder(clock=FakeClock()).use(cache).route(FakeHandler()).build()


def test_name_and_repr() -> None:
    """The stage is called 'cache'; the repr shows ttl and store."""
    cache = CacheInterceptor(ttl=5)
    assert cache.name == "cache"
    assert repr(cache) == "CacheInterceptor(ttl=5, state=MemoryState())"
