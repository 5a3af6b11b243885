"""Every action is a toolware call: contexts, pipelines, timeouts, threads, recursion."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.compat.v1_support import Agent, Handler
from toolware import (
    CallNext,
    Kind,
    PipelineBuilder,
    Principal,
    RequestContext,
    ResponseContext,
    StatsRecorder,
    default_builder,
)
from toolware.compat.v1 import V1Source
from toolware.compat.v1._runtime import MAX_NESTING, host_timeout, nesting_depth

BLOCK = {"calc": {"method": "block", "params": {}}}
TIMED_OUT = '"The action timed out."'
# Generous: the machine is shared and loaded; the handler would block for 10 s.
ON_TIME = 4.0


class Recorder:
    """An interceptor keeping every request it sees."""

    name = "recorder"

    def __init__(self) -> None:
        self.requests: list[RequestContext] = []

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        self.requests.append(request)
        return await call_next(request)


def test_each_action_is_a_request_context(agent: Agent) -> None:
    """kind from the registry found in, target = id, action = method, arguments = params,
    principal from the host, a deadline from its timeout."""
    recorder = Recorder()
    agent.middleware_pipeline = PipelineBuilder().use(recorder).route(V1Source({})).build()
    agent.principal = Principal(id="alice")
    agent.timeout = 30
    status, _ = agent.to_middleware(
        {
            "docs": {"method": "who", "params": {"q": "x"}},
            "calc": {"method": "echo", "params": {"a": 1}},
            "notes": {"method": "who", "params": {}},
        }
    )
    assert status == 201
    seen = [(r.kind, r.target, r.action, dict(r.arguments)) for r in recorder.requests]
    assert seen == [
        (Kind.RAG, "docs", "who", {"q": "x"}),
        (Kind.TOOL, "calc", "echo", {"a": 1}),
        (Kind.PLUGIN, "notes", "who", {}),
    ]
    first = recorder.requests[0]
    assert first.principal == Principal(id="alice")
    assert first.deadline is not None
    assert 29.0 < first.deadline - agent.middleware_pipeline.clock.monotonic() <= 30.0
    assert first.entry is not None
    assert first.entry.description == "Adds numbers\n\nInstructions: Use add"


def test_a_principal_attribute_of_another_type_is_the_hosts_own(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    """Not a Principal nor an id: the call runs anonymous; a DEBUG record says why."""
    recorder = Recorder()
    agent.middleware_pipeline = PipelineBuilder().use(recorder).route(V1Source({})).build()
    agent.principal = {"user": "carol"}
    with caplog.at_level("DEBUG", logger="toolware.compat.v1"):
        assert agent.to_middleware({"calc": {"method": "plain", "params": {}}})[0] == 201
    assert recorder.requests[0].principal is None
    assert caplog.records[0].getMessage() == "compat.v1.principal_ignored type=dict"
    assert caplog.records[0].levelname == "DEBUG"
    assert caplog.records[0].__dict__["type"] == "dict"


def test_principal_given_as_an_id(agent: Agent) -> None:
    """A string principal on the host is a Principal with that id."""
    recorder = Recorder()
    agent.middleware_pipeline = PipelineBuilder().use(recorder).route(V1Source({})).build()
    agent.principal = "bob"
    agent.to_middleware({"calc": {"method": "plain", "params": {}}})
    assert recorder.requests[0].principal == Principal(id="bob")


@pytest.mark.parametrize(
    ("attribute", "value", "body"),
    [
        (
            "timeout",
            "soon",
            "[ERROR] the host's timeout must be a number of seconds (or None for no limit), "
            "got str",
        ),
        (
            "timeout",
            -1,
            "[ERROR] the host's timeout must be a finite number of seconds > 0, got -1",
        ),
        (
            "timeout",
            math.inf,
            "[ERROR] the host's timeout must be a finite number of seconds > 0, got inf",
        ),
        (
            "timeout",
            True,
            "[ERROR] the host's timeout must be a number of seconds (or None for no limit), "
            "got bool",
        ),
        (
            "middleware_pipeline",
            "not a pipeline",
            "[ERROR] middleware_pipeline must be a toolware Pipeline, got str; build one with "
            "default_builder(...).build()",
        ),
    ],
)
def test_bad_host_options(agent: Agent, attribute: str, value: Any, body: str) -> None:
    """A bad host option is a 500 naming it, and logged; nothing raises."""
    setattr(agent, attribute, value)
    assert agent.to_middleware({"calc": {"method": "plain", "params": {}}}) == (500, body)
    assert agent.events[-1] == ("error", f"Agent tester: Tool calc error: {body[8:]}")


def test_false_is_not_a_timeout(agent: Agent) -> None:
    """False is a bool, not 0 seconds: refused like True."""
    agent.timeout = False
    assert agent.to_middleware({"calc": {"method": "plain", "params": {}}}) == (
        500,
        "[ERROR] the host's timeout must be a number of seconds (or None for no limit), got bool",
    )


@pytest.mark.parametrize(("value", "expected"), [(None, None), (0, None), (2, 2.0), (0.5, 0.5)])
def test_host_timeout(value: Any, expected: float | None) -> None:
    """None and 0 mean no limit (V1's alarm(0)); numbers are seconds."""
    assert host_timeout(Agent(timeout=value)) == expected


def test_host_timeout_defaults_to_60() -> None:
    """A host without ``timeout`` gets V1's 60 s."""
    assert host_timeout(object()) == 60.0


def test_no_timeout_still_runs(agent: Agent) -> None:
    """timeout=None: the call has no deadline and completes."""
    agent.timeout = None
    assert agent.to_middleware({"calc": {"method": "plain", "params": {}}}) == (201, '"plain"')


def test_the_default_pipeline_keeps_statistics(agent: Agent) -> None:
    """A host-supplied default builder with a recorder sees the V1 calls by qualified name."""
    recorder = StatsRecorder()
    agent.middleware_pipeline = (
        default_builder(V1Source({}), recorder=recorder).route(V1Source({})).build()
    )
    agent.to_middleware(
        {"calc": {"method": "plain", "params": {}}, "docs": {"method": "fail", "params": {}}}
    )
    stats = recorder.snapshot()
    assert stats.get("calc", action="plain").calls == 1
    assert stats.get("docs", kind=Kind.RAG, action="fail").errors == {"tool_failed": 1}


def test_the_default_pipeline_is_rebuilt_when_the_timeout_changes(agent: Agent) -> None:
    """The pipeline follows the host's timeout."""
    agent.to_middleware({"calc": {"method": "plain", "params": {}}})
    first = agent._runtime().pipeline(60.0)
    assert agent._runtime().pipeline(60.0) is first
    assert agent._runtime().pipeline(5.0) is not first


def run_blocking_call(agent: Agent) -> tuple[tuple[int, Any], float]:
    started = time.monotonic()
    answer = agent.to_middleware(BLOCK)
    return answer, time.monotonic() - started


def test_timeout_in_the_main_thread(agent: Agent) -> None:
    """A handler blocking past the timeout: the caller gets V1's timeout body on time."""
    agent.timeout = 0.2
    answer, took = run_blocking_call(agent)
    assert answer == (201, TIMED_OUT)
    assert 0.2 <= took < ON_TIME
    assert agent.events[-1] == ("error", "Agent tester: Action execution timed out")


def test_timeout_in_a_worker_thread(agent: Agent) -> None:
    """Fix: no SIGALRM; the timeout works off the main thread too."""
    agent.timeout = 0.2
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: run_blocking_call(agent), range(2)))
    for answer, took in answers:
        assert answer == (201, TIMED_OUT)
        assert took < ON_TIME


def test_strict_timeout_is_504(agent: Agent) -> None:
    """strict: the timeout carries 504."""
    agent.timeout = 0.2
    agent.middleware_strict = True
    assert run_blocking_call(agent)[0] == (504, TIMED_OUT)


def test_called_from_inside_a_running_event_loop(agent: Agent) -> None:
    """An async agent calling the synchronous API: it works, and its timeout too."""

    async def main() -> tuple[Any, Any, float]:
        answer = agent.to_middleware({"calc": {"method": "add", "params": {"a": 1, "b": 2}}})
        agent.timeout = 0.2
        blocked, took = run_blocking_call(agent)
        return answer, blocked, took

    answer, blocked, took = asyncio.run(main())
    assert answer == (201, "3")
    assert blocked == (201, TIMED_OUT)
    assert took < ON_TIME


def test_many_threads_at_once(agent: Agent) -> None:
    """Concurrent callers each get their own answer."""

    def call(n: int) -> tuple[int, Any]:
        return agent.to_middleware({"calc": {"method": "add", "params": {"a": n, "b": 1}}})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, range(40)))
    assert answers == [(201, str(n + 1)) for n in range(40)]


def test_handlers_run_on_worker_threads(agent: Agent) -> None:
    """Sync handlers run on the pipeline's workers, never in the caller's thread."""
    agent.to_middleware({"calc": {"method": "plain", "params": {}}})
    assert agent.tool_registry.get_tool("calc").threads[0].startswith("toolware-worker-")


def test_a_handler_calling_to_middleware_on_its_host(agent: Agent) -> None:
    """Recursion: the inner call runs and the outer one gets its answer; no deadlock."""
    inner = {"docs": {"method": "who", "params": {}}}
    status, body = agent.to_middleware({"calc": {"method": "nested", "params": {"input": inner}}})
    assert (status, body) == (201, '[\n  201,\n  "\\"docs\\""\n]')


def test_unbounded_recursion_is_refused(agent: Agent) -> None:
    """A handler that always recurses is stopped at MAX_NESTING levels, quickly."""
    started = time.monotonic()
    status, body = agent.to_middleware({"calc": {"method": "recurse", "params": {}}})
    assert status == 201
    assert f"to_middleware nested {MAX_NESTING} calls deep" in body
    assert time.monotonic() - started < 10
    refusal = (
        f"to_middleware nested {MAX_NESTING} calls deep (handlers calling to_middleware from "
        "inside a call): refused, to stop unbounded recursion"
    )
    answer, levels = [status, body], 0
    while answer[0] == 201:  # each level's body is the JSON of the answer one level down
        answer, levels = json.loads(answer[1]), levels + 1
    assert answer == [500, f"[ERROR] {refusal}"]
    assert levels == MAX_NESTING  # calls at depths 1 to 8 ran; the ninth was refused
    assert ("error", f"Agent tester: {refusal}") in agent.events
    assert nesting_depth() == 0


def test_inner_calls_never_outlive_the_outer_deadline(agent: Agent) -> None:
    """A nested call inherits the outer call's deadline."""
    agent.timeout = 0.5
    started = time.monotonic()
    status, body = agent.to_middleware({"calc": {"method": "nested", "params": {"input": BLOCK}}})
    assert status == 201
    assert body in (TIMED_OUT, '[\n  201,\n  "\\"The action timed out.\\""\n]')
    assert time.monotonic() - started < ON_TIME


def test_a_thousand_actions_in_one_input() -> None:
    """1,000 actions run in order; 999 found, one not; joined bodies; status 404."""
    handler = Handler("t")
    tools = {f"t{n}": handler for n in range(999)}
    host = Agent(tool_registry=tools)
    agent_input: dict[str, Any] = {
        f"t{n}": {"method": "add", "params": {"a": n, "b": 0}} for n in range(999)
    }
    agent_input["missing"] = {"method": "x", "params": {}}
    started = time.monotonic()
    status, body = host.to_middleware(agent_input)
    assert status == 404
    parts = body.split("\n\n")
    assert parts[:999] == [str(n) for n in range(999)]
    assert parts[999] == "Missing 'x' not found."
    assert len(handler.payloads) == 999
    assert time.monotonic() - started < 30


def test_the_default_pipeline_routes_to_the_hosts_registries(agent: Agent) -> None:
    """Its registry holds the host's three registries by kind (what a re-targeted call, or
    a listing, sees)."""
    pipeline = agent._runtime().pipeline(60.0)
    registry = pipeline.terminal.registry  # type: ignore[attr-defined]
    names = [(d.kind, d.name) for d in registry.list()]
    assert names == [
        (Kind.RAG, "docs"),
        (Kind.RAG, "shared"),
        (Kind.TOOL, "calc"),
        (Kind.TOOL, "shared"),
        (Kind.TOOL, "both"),
    ]
    before = registry.revision
    agent.tool_registry.register_tool(Handler("new"))
    assert registry.revision != before
    entry = registry.resolve(Kind.TOOL, "calc", "plain")
    assert entry.function.handler is agent.tool_registry.get_tool("calc")
    health = asyncio.run(registry.health())
    assert (health.status.value, health.entries) == ("degraded", 6)
    assert list(health.problems) == ["plugin_registry"]


def test_a_retargeted_call_is_resolved_in_the_hosts_registries(agent: Agent) -> None:
    """An interceptor sending the call elsewhere: the default router finds the new target."""

    async def reroute(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request.with_target("docs", kind=Kind.RAG, action="who"))

    router = agent._runtime().pipeline(60.0).terminal
    agent.middleware_pipeline = PipelineBuilder().use(reroute).route(router, owned=False).build()
    assert agent.to_middleware({"calc": {"method": "plain", "params": {}}}) == (201, '"docs"')


def test_a_pipeline_without_a_timeout_stage_is_still_bounded(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's own bound (deadline + GRACE) answers the timeout."""
    from toolware.compat.v1 import _runtime

    monkeypatch.setattr(_runtime, "GRACE", 0.1)
    agent.middleware_pipeline = PipelineBuilder().route(V1Source({})).build()
    agent.timeout = 0.2
    answer, took = run_blocking_call(agent)
    assert answer == (201, TIMED_OUT)
    assert took < ON_TIME
    # the error the caller's bound makes: the limit is the time the call had
    runtime = agent._runtime()
    handler = agent.tool_registry.get_tool("calc")
    entry = runtime.source(Kind.TOOL).entry(handler, "calc", "block")
    error = runtime.call(Kind.TOOL, "calc", "block", {}, entry).error
    assert error is not None
    assert error.message == "'calc.block' did not answer within 0.2 s"
    assert error.limit == pytest.approx(0.2, abs=1e-6)  # type: ignore[attr-defined]
    assert (error.request_id is not None, error.target) == (True, "calc.block")


async def refuse(request: RequestContext, call_next: CallNext) -> ResponseContext:
    from toolware import RateLimitedError

    return ResponseContext.failure(RateLimitedError("slow down", retry_after=2.0))


def test_other_failures_carry_their_http_status(agent: Agent) -> None:
    """A category V1 never had (a rate limit the host added): its HTTP status, [ERROR]."""
    agent.middleware_pipeline = PipelineBuilder().use(refuse).route(V1Source({})).build()
    assert agent.to_middleware({"calc": {"method": "plain", "params": {}}}) == (
        429,
        "[ERROR] slow down",
    )
    assert agent.events[-1] == ("error", "Agent tester: Tool calc error: slow down")


def test_a_miss_in_the_hosts_pipeline_is_v1s_404(agent: Agent) -> None:
    """A host pipeline answering not_found (its own routing) gets V1's 404 text."""

    async def elsewhere(request: RequestContext, call_next: CallNext) -> ResponseContext:
        return await call_next(request.with_target("nowhere", action="x"))

    agent.middleware_pipeline = PipelineBuilder().use(elsewhere).route(V1Source({})).build()
    assert agent.to_middleware({"calc": {"method": "plain", "params": {}}}) == (
        404,
        "Calc 'plain' not found.",
    )
    assert agent.events[-1] == ("error", "Agent tester: Action not found: calc - plain")


def test_options_in_the_constructor() -> None:
    """pipeline=, intent_resolver=, transport= set the host's attributes."""
    pipeline = PipelineBuilder().route(V1Source({})).build()

    def resolver(tool_id: str, handler: object, intent: str, context: str) -> str:
        return intent

    def transport(url: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"url": url, **payload}

    host = Agent(pipeline=pipeline, intent_resolver=resolver, transport=transport)
    assert host.middleware_pipeline is pipeline
    assert host.middleware_intent_resolver is resolver
    assert host.middleware_transport is transport


def test_the_default_pipeline_times_out_at_the_hosts_timeout(agent: Agent) -> None:
    """Its timeout stage carries the host's timeout (not the stage's own default)."""
    pipeline = agent._runtime().pipeline(45.0)
    timeouts = [s.interceptor for s in pipeline.stages if s.name == "timeout"]
    assert [t.timeout for t in timeouts] == [45.0]  # type: ignore[attr-defined]
    assert agent._runtime().pipeline(45.0) is pipeline
    assert agent._runtime().pipeline(None) is not pipeline


def test_callers_racing_for_the_first_pipeline_share_one(agent: Agent) -> None:
    """Threads that all missed the cached pipeline wait on the lock; the first builds it and
    the others take that one rather than building (and leaking) their own."""
    runtime = agent._runtime()
    got: list[object] = []
    ready = [threading.Event() for _ in range(3)]

    def build(index: int) -> None:
        ready[index].set()
        got.append(runtime.pipeline(12.0))

    with runtime._lock:
        threads = [threading.Thread(target=build, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for event in ready:
            assert event.wait(10)
        time.sleep(0.2)  # let them reach the lock (a late one takes the cached pipeline anyway)
    for thread in threads:
        thread.join(10)
    assert len(got) == 3
    assert got[0] is got[1] is got[2]


@pytest.mark.parametrize(("outer_timeout", "inner_timeout"), [(5.0, 30.0), (30.0, 5.0)])
def test_a_nested_call_has_the_earlier_of_the_two_deadlines(
    outer_timeout: float, inner_timeout: float
) -> None:
    """A handler calling another host's to_middleware from inside a call (same pipeline, same
    clock): the inner call ends by the outer deadline, or by its own when that is earlier."""
    recorder = Recorder()
    pipeline = PipelineBuilder().use(recorder).route(V1Source({})).build()
    inner = Agent(tool_registry={"calc": Handler("calc")}, pipeline=pipeline)
    inner.timeout = inner_timeout
    nesting = Handler("nest", host=inner)
    outer = Agent(tool_registry={"nest": nesting}, pipeline=pipeline)
    outer.timeout = outer_timeout
    inner_input = {"calc": {"method": "plain", "params": {}}}
    status, _ = outer.to_middleware(
        {"nest": {"method": "nested", "params": {"input": inner_input}}}
    )
    assert status == 201
    first, second = recorder.requests
    assert (first.target, second.target) == ("nest", "calc")
    assert first.deadline is not None
    assert second.deadline is not None
    if outer_timeout < inner_timeout:
        assert second.deadline == first.deadline
    else:
        assert second.deadline < first.deadline - 20


def test_a_call_builds_the_default_pipeline_for_the_hosts_timeout(agent: Agent) -> None:
    agent.timeout = 45
    assert agent.to_middleware({"calc": {"method": "plain", "params": {}}}) == (201, '"plain"')
    built = agent._runtime()._built
    assert built is not None
    assert built[0] == 45.0


@pytest.mark.parametrize("timeout", [None, 1.0])
def test_a_hosts_pipeline_without_a_timeout_stage_answers(agent: Agent, timeout: Any) -> None:
    """No limit (None): the caller waits without a bound; a limit: it waits the limit plus a
    grace second, so a quick answer is never cut short."""
    agent.middleware_pipeline = PipelineBuilder().route(V1Source({})).build()
    agent.timeout = timeout
    assert agent.to_middleware({"calc": {"method": "plain", "params": {}}}) == (201, '"plain"')


def test_a_source_per_registry_kept_until_the_registry_is_replaced(agent: Agent) -> None:
    runtime = agent._runtime()
    tools = runtime.source(Kind.TOOL)
    assert runtime.source(Kind.TOOL) is tools
    assert tools.registry is agent.tool_registry
    assert (tools.kind, tools.name) == (Kind.TOOL, "tool_registry")
    agent.tool_registry = {"calc": Handler("calc")}
    replaced = runtime.source(Kind.TOOL)
    assert replaced is not tools
    assert replaced.registry is agent.tool_registry
    assert runtime.source(Kind.TOOL) is replaced


def test_a_missing_or_none_registry_is_an_empty_one() -> None:
    """A host that never ran the mixin's __init__ (no registries), or set one to None: those
    registries hold nothing, and the action is V1's 404."""
    from toolware.compat.v1 import MiddlewareMixin

    class Bare(MiddlewareMixin):
        def __init__(self) -> None:  # V1 hosts did not always call the mixin's __init__
            pass

    assert Bare().to_middleware({"calc": {"method": "add", "params": {}}}) == (
        404,
        "Calc 'add' not found.",
    )
    host = Agent(plugin_registry={"calc": Handler("calc")})
    host.tool_registry = None
    host.rag_registry = None
    assert host.to_middleware({"calc": {"method": "plain", "params": {}}}) == (201, '"plain"')
