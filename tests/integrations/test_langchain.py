"""Registry entries as LangChain tools, run by a LangGraph ToolNode through a pipeline."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig

from tests.integrations.langgraph_support import ScriptedChatModel, agent_graph, tool_call
from toolware import (
    CallNext,
    Kind,
    LocalRegistry,
    PipelineBuilder,
    Principal,
    RequestContext,
    ResponseContext,
    ValidationInterceptor,
    default_pipeline,
)
from toolware.clock import system_clock
from toolware.context import TraceContext
from toolware.integrations.langchain import (
    PipelineTool,
    ToolwareToolException,
    langchain_tool,
    langchain_tools,
)
from toolware.testing import FakeClock

HINT = "(hint: the tool reported an error; check its arguments or its service)"
FIX = "(hint: fix the arguments named in 'fields' and call again)"
TRACE = TraceContext(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")


def make_registry() -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool(tags={"math"})
    async def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    @registry.tool
    def lookup(key: str) -> dict[str, str]:
        """Look a key up."""
        if key == "missing":
            raise KeyError(key)
        return {"key": key, "value": key.upper()}

    @registry.plugin
    class Notes:
        def add(self, text: str) -> str:
            """Store a note."""
            return f"noted: {text}"

    @registry.tool
    async def count(upto: int) -> AsyncIterator[int]:
        """Count."""
        for number in range(upto):
            yield number

    return registry


class Seen:
    """An interceptor recording what each call carried."""

    def __init__(self) -> None:
        self.requests: list[RequestContext] = []
        self.threads: list[int] = []

    async def __call__(self, request: RequestContext, call_next: CallNext) -> ResponseContext:
        self.requests.append(request)
        self.threads.append(threading.get_ident())
        return await call_next(request)

    def calls(self) -> list[tuple[Kind, str, str | None, dict[str, Any]]]:
        return [(r.kind, r.target, r.action, dict(r.arguments)) for r in self.requests]


def recording_pipeline(registry: LocalRegistry, seen: Seen, **options: Any) -> Any:
    return (
        PipelineBuilder(**options)
        .use(seen)
        .use(ValidationInterceptor(registry))
        .route(registry)
        .build()
    )


def test_tools_publish_the_entries_names_descriptions_and_schemas() -> None:
    """bind_tools sees function-calling names, the docstring summaries and the JSON Schemas."""
    registry = make_registry()
    tools = langchain_tools(default_pipeline(registry), registry)
    assert [tool.name for tool in tools] == ["add", "lookup", "notes__add", "count"]
    assert all(isinstance(tool, PipelineTool) for tool in tools)
    assert tools[2].entry.qualified_name == "notes.add"
    assert tools[0].tags == ["math"]
    assert tools[1].tags is None
    model = ScriptedChatModel(responses=[AIMessage("hi")])
    model.bind_tools(tools)
    assert model.bound[0] == {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two numbers.",
            "parameters": {
                "additionalProperties": False,
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"],
                "type": "object",
            },
        },
    }
    assert model.bound[2]["function"]["name"] == "notes__add"
    assert model.bound[2]["function"]["description"] == "Store a note."


async def test_a_langgraph_agent_calls_entries_through_the_pipeline() -> None:
    """Each ToolNode call is one pipeline call with the entry's target, action and arguments;
    the answers come back as ToolMessages with the value as content and artifact."""
    registry = make_registry()
    seen = Seen()
    tools = langchain_tools(recording_pipeline(registry, seen), registry)
    model = ScriptedChatModel(
        responses=[
            AIMessage(
                "",
                tool_calls=[
                    tool_call("add", {"a": 1, "b": 2.5}, "c1"),
                    tool_call("lookup", {"key": "tea"}, "c2"),
                    tool_call("notes__add", {"text": "hi"}, "c3"),
                    tool_call("count", {"upto": 3}, "c4"),
                ],
            ),
            AIMessage("all done"),
        ]
    )
    result = await agent_graph(model, tools).ainvoke({"messages": [HumanMessage("go")]})
    assert seen.calls() == [
        (Kind.TOOL, "add", None, {"a": 1, "b": 2.5}),
        (Kind.TOOL, "lookup", None, {"key": "tea"}),
        (Kind.PLUGIN, "notes", "add", {"text": "hi"}),
        (Kind.TOOL, "count", None, {"upto": 3}),
    ]
    answers = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.name, m.content, m.status) for m in answers] == [
        ("c1", "add", "3.5", "success"),
        ("c2", "lookup", '{"key": "tea", "value": "TEA"}', "success"),
        ("c3", "notes__add", "noted: hi", "success"),
        ("c4", "count", "[0, 1, 2]", "success"),
    ]
    assert [m.artifact for m in answers] == [
        3.5,
        {"key": "tea", "value": "TEA"},
        "noted: hi",
        [0, 1, 2],
    ]
    assert result["messages"][-1].content == "all done"
    # The second model turn saw the four tool answers.
    assert [type(m).__name__ for m in model.seen[1]] == ["HumanMessage", "AIMessage"] + [
        "ToolMessage"
    ] * 4


def test_a_graph_run_synchronously_calls_through_the_pipeline() -> None:
    """graph.invoke from a thread without a loop: each tool runs the pipeline on its own loop."""
    registry = make_registry()
    seen = Seen()
    tools = langchain_tools(recording_pipeline(registry, seen), registry)
    model = ScriptedChatModel(
        responses=[
            AIMessage("", tool_calls=[tool_call("add", {"a": 2, "b": 3}, "c1")]),
            AIMessage("five"),
        ]
    )
    result = agent_graph(model, tools).invoke({"messages": [HumanMessage("go")]})
    assert seen.calls() == [(Kind.TOOL, "add", None, {"a": 2, "b": 3})]
    answer = result["messages"][2]
    assert (answer.content, answer.artifact, answer.status) == ("5.0", 5.0, "success")


async def test_failures_reach_the_model_as_error_tool_messages() -> None:
    """A typed error becomes a ToolMessage with status="error" naming the category, the
    message and the hint; the graph goes on and the model sees it."""
    registry = make_registry()
    tools = langchain_tools(default_pipeline(registry), registry)
    model = ScriptedChatModel(
        responses=[
            AIMessage(
                "",
                tool_calls=[
                    tool_call("lookup", {"key": "missing"}, "c1"),
                    tool_call("add", {"a": "x", "b": 1}, "c2"),
                ],
            ),
            AIMessage("sorry"),
        ]
    )
    result = await agent_graph(model, tools).ainvoke({"messages": [HumanMessage("go")]})
    failed = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [(m.content, m.status) for m in failed] == [
        (f"tool_failed: 'lookup' raised KeyError: 'missing' {HINT}", "error"),
        (f"invalid_request: invalid arguments for 'add': a {FIX}", "error"),
    ]
    assert result["messages"][-1].content == "sorry"


async def test_without_handling_the_typed_error_reaches_the_tool_node() -> None:
    """handle_tool_error=False: ToolNode's default policy re-raises the ToolException, which
    carries the typed error; handle_tool_errors=True turns it into LangGraph's error text."""
    registry = make_registry()
    tools = langchain_tools(default_pipeline(registry), registry, handle_tool_error=False)
    script = [AIMessage("", tool_calls=[tool_call("lookup", {"key": "missing"}, "c1")])]
    with pytest.raises(ToolwareToolException) as raised:
        await agent_graph(ScriptedChatModel(responses=script), tools).ainvoke(
            {"messages": [HumanMessage("go")]}
        )
    error = raised.value.error
    assert (error.category, error.target) == ("tool_failed", "lookup")
    assert str(raised.value) == f"tool_failed: 'lookup' raised KeyError: 'missing' {HINT}"

    graph = agent_graph(
        ScriptedChatModel(responses=[*script, AIMessage("ok")]), tools, handle_tool_errors=True
    )
    result = await graph.ainvoke({"messages": [HumanMessage("go")]})
    message = result["messages"][2]
    assert message.status == "error"
    assert message.content == (
        f"Error: ToolwareToolException(\"tool_failed: 'lookup' raised KeyError: 'missing' "
        f'{HINT}")\n Please fix your mistakes.'
    )


async def test_principal_and_trace_fixed_or_from_the_runnable_config() -> None:
    registry = make_registry()
    seen = Seen()
    pipeline = recording_pipeline(registry, seen)
    fixed = langchain_tools(
        pipeline, registry, names=["add"], principal=Principal(id="alice"), trace=TRACE
    )[0]
    await fixed.ainvoke({"a": 1, "b": 1})

    def user(config: RunnableConfig) -> Principal:
        return Principal(id=config["configurable"]["user"])

    def trace(config: RunnableConfig) -> TraceContext | None:
        return config["configurable"].get("trace")

    derived = langchain_tools(pipeline, registry, names=["add"], principal=user, trace=trace)[0]
    await derived.ainvoke({"a": 1, "b": 1}, config={"configurable": {"user": "bob"}})
    await derived.ainvoke(
        {"a": 1, "b": 1}, config={"configurable": {"user": "eve", "trace": TRACE}}
    )
    anonymous = langchain_tools(pipeline, registry, names=["add"])[0]
    await anonymous.ainvoke({"a": 1, "b": 1})
    assert [(r.principal and r.principal.id, r.trace) for r in seen.requests] == [
        ("alice", TRACE),
        ("bob", None),
        ("eve", TRACE),
        (None, None),
    ]


async def test_timeout_sets_the_deadline_on_the_pipeline_clock() -> None:
    registry = make_registry()
    seen = Seen()
    clock = FakeClock()
    pipeline = recording_pipeline(registry, seen, clock=clock)
    tool = langchain_tools(pipeline, registry, names=["add"], timeout=2.5)[0]
    await tool.ainvoke({"a": 1, "b": 1})
    await clock.advance(10.0)
    await tool.ainvoke({"a": 1, "b": 1})
    untimed = langchain_tools(pipeline, registry, names=["add"])[0]
    await untimed.ainvoke({"a": 1, "b": 1})
    assert [r.deadline for r in seen.requests] == [1002.5, 1012.5, None]
    other = FakeClock(start=50.0)
    own = langchain_tools(pipeline, registry, names=["add"], timeout=1.0, clock=other)[0]
    await own.ainvoke({"a": 1, "b": 1})
    assert seen.requests[-1].deadline == 51.0


async def test_plain_invoke_answers_content_and_the_value_stays_the_artifact() -> None:
    """Invoked without a tool call the tool answers the text; with one, a ToolMessage."""
    registry = make_registry()
    tool = langchain_tools(default_pipeline(registry), registry, names=["lookup"])[0]
    assert await tool.ainvoke({"key": "a"}) == '{"key": "a", "value": "A"}'
    message = await tool.ainvoke(tool_call("lookup", {"key": "a"}, "c9"))
    assert (message.content, message.artifact) == (
        '{"key": "a", "value": "A"}',
        {"key": "a", "value": "A"},
    )


async def test_synchronous_invoke_inside_a_running_loop_is_refused() -> None:
    registry = make_registry()
    tool = langchain_tools(default_pipeline(registry), registry, names=["add"])[0]
    with pytest.raises(RuntimeError, match="await the tool's async method"):
        tool.invoke({"a": 1, "b": 2})


async def test_loop_sends_synchronous_calls_to_the_pipelines_loop() -> None:
    """From a worker thread, tool.invoke runs the call on the loop given (this test's)."""
    registry = make_registry()
    seen = Seen()
    pipeline = recording_pipeline(registry, seen)
    loop = asyncio.get_running_loop()
    tool = langchain_tools(pipeline, registry, names=["add"], loop=loop)[0]
    assert await asyncio.to_thread(tool.invoke, {"a": 4, "b": 5}) == "9.0"
    assert seen.threads == [threading.get_ident()]


def test_names_pick_entries_in_order_and_refuse_unknown_ones() -> None:
    registry = make_registry()
    pipeline = default_pipeline(registry)
    tools = langchain_tools(pipeline, registry, names=["notes.add", "add", "add"])
    assert [tool.name for tool in tools] == ["notes__add", "add"]
    assert [t.name for t in langchain_tools(pipeline, registry, names="lookup")] == ["lookup"]
    with pytest.raises(ValueError, match=r"^the registry has no entry 'ad'; did you mean 'add'\?$"):
        langchain_tools(pipeline, registry, names=["ad"])
    with pytest.raises(ValueError, match=r"^the registry has no entry 'zzzzzz'$"):
        langchain_tools(pipeline, registry, names=["zzzzzz"])


def test_lazy_entries_are_imported_to_publish_their_schemas() -> None:
    registry = LocalRegistry()
    registry.add_lazy("toolware.demo.notes:Notes", kind=Kind.PLUGIN)
    registry.add_lazy("toolware.demo.calculator:calculator")
    assert [d.loaded for d in registry.list()] == [False, False]
    tools = langchain_tools(default_pipeline(registry), registry)
    assert all(d.loaded for d in registry.list())
    names = [tool.name for tool in tools]
    assert "calculator" in names
    assert "notes__add" in names
    calculator = tools[names.index("calculator")]
    assert calculator.args["expression"]["type"] == "string"


def test_a_lazy_entry_that_cannot_be_imported_is_refused() -> None:
    registry = LocalRegistry()
    registry.add_lazy("toolware_no_such_module:thing", name="thing")
    with pytest.raises(
        ValueError, match=r"^cannot import the lazy entry 'thing': .*names=\[\.\.\.\]$"
    ):
        langchain_tools(default_pipeline(registry), registry)
    (description,) = registry.list()
    with pytest.raises(ValueError, match=r"lazy and not imported yet.*use langchain_tools\("):
        langchain_tool(default_pipeline(registry), description)


def test_bad_options_are_refused_naming_them() -> None:
    registry = make_registry()
    pipeline = default_pipeline(registry)
    description = registry.list()[0]
    with pytest.raises(TypeError, match=r"^description must be a toolware EntryDescription"):
        langchain_tool(pipeline, "add")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^pipeline must be a toolware Pipeline"):
        langchain_tool(object(), description)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^principal must be a toolware Principal.*got str$"):
        langchain_tool(pipeline, description, principal="alice")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^trace must be a toolware TraceContext.*got str$"):
        langchain_tool(pipeline, description, trace="00-ab")  # type: ignore[arg-type]
    for timeout in (0, -1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match=f"^timeout must be .*got {timeout!r}$"):
            langchain_tool(pipeline, description, timeout=timeout)  # type: ignore[arg-type]


async def test_the_current_span_is_the_default_trace_context() -> None:
    """Without trace=, a call made inside an OpenTelemetry span carries that span's context."""
    from opentelemetry.sdk.trace import TracerProvider

    registry = make_registry()
    seen = Seen()
    tool = langchain_tools(recording_pipeline(registry, seen), registry, names=["add"])[0]
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("agent step") as span:
        await tool.ainvoke({"a": 1, "b": 1})
    context = span.get_span_context()
    trace = seen.requests[0].trace
    assert trace is not None
    assert trace.traceparent.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")


async def test_a_plain_handler_gets_deadlines_on_the_system_clock() -> None:
    """Any async (request) -> response handler works; its deadlines use the system clock."""
    requests: list[RequestContext] = []

    async def handler(request: RequestContext) -> ResponseContext:
        requests.append(request)
        return ResponseContext.success({"echo": dict(request.arguments)})

    description = make_registry().list()[0]
    tool = langchain_tool(handler, description, timeout=30.0)
    before = system_clock.monotonic()
    assert await tool.ainvoke({"a": 1, "b": 2}) == '{"echo": {"a": 1, "b": 2}}'
    deadline = requests[0].deadline
    assert deadline is not None
    assert before + 30.0 <= deadline <= system_clock.monotonic() + 30.0


async def test_a_stream_that_fails_midway_is_the_calls_error() -> None:
    registry = LocalRegistry()

    @registry.tool
    async def flaky() -> AsyncIterator[int]:
        """Yields once, then fails."""
        yield 1
        raise ConnectionError("peer reset")

    tool = langchain_tools(default_pipeline(registry), registry)[0]
    message = await tool.ainvoke(tool_call("flaky", {}, "c1"))
    assert message.status == "error"
    assert message.content.startswith("tool_failed: 'flaky' raised ConnectionError: peer reset")


def test_a_loop_that_is_not_running_is_refused_instead_of_hanging() -> None:
    registry = make_registry()
    loop = asyncio.new_event_loop()
    try:
        tool = langchain_tools(default_pipeline(registry), registry, names=["add"], loop=loop)[0]
        with pytest.raises(RuntimeError, match=r"^the event loop given as loop= is not running"):
            tool.invoke({"a": 1, "b": 2})
    finally:
        loop.close()


def test_names_leave_out_a_lazy_entry_that_cannot_be_imported() -> None:
    """The refusal says to leave a broken lazy entry out with names=[...]: doing so works,
    and only the lazy entries picked are imported."""
    registry = LocalRegistry()
    registry.add_lazy("toolware_no_such_module:thing", name="thing")
    registry.add_lazy("toolware.demo.calculator:calculator")
    registry.add_lazy("toolware.demo.notes:Notes", kind=Kind.PLUGIN)
    pipeline = default_pipeline(registry)
    tools = langchain_tools(pipeline, registry, names=iter(["calculator", "notes.add"]))
    assert [tool.name for tool in tools] == ["calculator", "notes__add"]
    assert [(d.name, d.loaded) for d in registry.list() if d.name == "thing"] == [("thing", False)]


def test_arguments_named_like_the_tools_own_parameters_reach_the_entry() -> None:
    """self, config, callbacks, run_manager: argument names of the entry, not of the tool
    object; async and sync calls alike."""
    registry = LocalRegistry()

    @registry.tool
    def odd(self: str, config: str, callbacks: int, run_manager: str = "rm") -> str:
        """Arguments with awkward names."""
        return f"{self}|{config}|{callbacks}|{run_manager}"

    [tool] = langchain_tools(default_pipeline(registry), registry)
    arguments = {"self": "S", "config": "C", "callbacks": 1, "run_manager": "R"}
    assert asyncio.run(tool.ainvoke(arguments)) == "S|C|1|R"
    assert tool.invoke(arguments) == "S|C|1|R"


def test_defaults_of_one_tool() -> None:
    """Failures are handled into error messages by default; an entry without a schema
    publishes an empty object."""
    registry = LocalRegistry()

    @registry.tool
    def ping() -> str:
        return "pong"

    [description] = registry.list()
    pipeline = default_pipeline(registry)
    assert langchain_tool(pipeline, description).handle_tool_error is True
    bare = msgspec.structs.replace(description, args_schema={})
    assert langchain_tool(pipeline, bare).args_schema == {"type": "object", "properties": {}}
