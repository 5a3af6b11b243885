"""LangChain tools as a registry source, next to a LocalRegistry in one pipeline."""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Annotated, Any

import pydantic
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import (
    BaseTool,
    InjectedToolCallId,
    StructuredTool,
    ToolException,
    tool,
)
from pydantic import BaseModel

from tests.integrations.langgraph_support import ScriptedChatModel, agent_graph, tool_call
from toolware import (
    CallNext,
    CompositeRegistry,
    Kind,
    LocalRegistry,
    PipelineBuilder,
    RegistrationError,
    RequestContext,
    ResponseContext,
    default_pipeline,
)
from toolware.errors import InvalidRequestError, UnknownEntryError
from toolware.integrations.langchain import EntryOptions, LangChainRegistry, langchain_tools
from toolware.interceptors.retry import RetryInterceptor
from toolware.registry.base import CachePolicy
from toolware.testing import FakeClock

HINT = "(hint: the tool reported an error; check its arguments or its service)"


@tool
def search(query: str, limit: int = 3) -> list[str]:
    """Search the catalogue."""
    if query == "offline":
        raise ToolException("the catalogue index is offline")
    return [f"{query}-{n}" for n in range(limit)]


@tool(parse_docstring=False)
async def translate(text: str, language: str) -> str:
    """Translate a text."""
    return f"{text} in {language}"


class Weather(BaseTool):
    """A BaseTool subclass with only a synchronous _run."""

    name: str = "weather"
    description: str = "The weather in a city."
    tags: list[str] | None = ["outdoor"]  # noqa: RUF012 - a pydantic field default

    def _run(self, city: str) -> dict[str, Any]:
        return {"city": city, "thread": threading.get_ident()}


class AsyncWeather(Weather):
    name: str = "async_weather"

    async def _arun(self, city: str) -> dict[str, Any]:
        return {"city": city, "thread": threading.get_ident()}


def local_registry() -> LocalRegistry:
    local = LocalRegistry("local")

    @local.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return local


def test_each_tool_is_an_entry_with_its_schema_description_and_tags() -> None:
    registry = LangChainRegistry([search, translate, Weather(), AsyncWeather()])
    described = {d.name: d for d in registry.list()}
    assert list(described) == ["search", "translate", "weather", "async_weather"]
    assert described["search"].description == "Search the catalogue."
    assert described["search"].kind is Kind.TOOL
    assert described["search"].args_schema == {
        "properties": {
            "query": {"title": "Query", "type": "string"},
            "limit": {"default": 3, "title": "Limit", "type": "integer"},
        },
        "required": ["query"],
        "type": "object",
    }
    assert described["weather"].tags == frozenset({"outdoor"})
    assert [registry.resolve(Kind.TOOL, n).is_async for n in described] == [
        False,
        True,
        False,
        True,
    ]
    assert registry.lookup((Kind.TOOL, "search", None)) is registry.resolve(Kind.TOOL, "search")
    assert registry.revision == 1
    assert repr(registry) == (
        "LangChainRegistry('langchain', tools=['search', 'translate', 'weather', 'async_weather'])"
    )


async def test_health_counts_the_tools() -> None:
    health = await LangChainRegistry([search, translate]).health()
    assert (health.status, health.entries, health.problems) == ("ok", 2, {})


async def test_tools_next_to_a_local_registry_run_through_one_pipeline() -> None:
    """The composite resolves both sources; an interceptor sees each call with its entry."""
    seen: list[tuple[str, dict[str, Any], frozenset[str] | None]] = []

    async def record(request: RequestContext, call_next: CallNext) -> ResponseContext:
        entry = request.entry
        seen.append((request.target, dict(request.arguments), entry.tags if entry else None))
        return await call_next(request)

    registry = CompositeRegistry(local_registry(), LangChainRegistry([search, Weather()]))
    pipeline = PipelineBuilder().use(record).route(registry).build()
    assert (await pipeline.invoke("add", {"a": 2, "b": 3})).unwrap() == 5
    assert (await pipeline.invoke("search", {"query": "tea"})).unwrap() == [
        "tea-0",
        "tea-1",
        "tea-2",
    ]
    weather = (await pipeline.invoke("weather", {"city": "Oslo"})).unwrap()
    assert weather["city"] == "Oslo"
    assert weather["thread"] != threading.get_ident()  # a sync tool runs on a worker thread
    assert seen == [
        ("add", {"a": 2, "b": 3}, frozenset()),
        ("search", {"query": "tea"}, frozenset()),
        ("weather", {"city": "Oslo"}, frozenset({"outdoor"})),
    ]


async def test_an_async_tool_is_awaited_on_the_loop() -> None:
    pipeline = default_pipeline(LangChainRegistry([AsyncWeather(), translate]))
    answer = (await pipeline.invoke("async_weather", {"city": "Rome"})).unwrap()
    assert answer == {"city": "Rome", "thread": threading.get_ident()}
    assert (await pipeline.invoke("translate", {"text": "hi", "language": "fr"})).unwrap() == (
        "hi in fr"
    )


async def test_a_tool_exception_is_tool_failed_with_its_message() -> None:
    pipeline = default_pipeline(LangChainRegistry([search]))
    error = (await pipeline.invoke("search", {"query": "offline"})).error
    assert error is not None
    assert (error.category, error.target, error.retryable) == ("tool_failed", "search", False)
    assert error.message == "'search' raised ToolException: the catalogue index is offline"
    assert isinstance(error.__cause__, ToolException)


async def test_failures_stay_values_even_when_the_tool_handles_its_errors() -> None:
    """handle_tool_error=True would answer the text as a success; the registry's copy raises,
    and the caller's tool object is left as it was."""
    handled = StructuredTool.from_function(
        func=search.func, name="handled", description="Search.", handle_tool_error=True
    )
    pipeline = default_pipeline(LangChainRegistry([handled]))
    error = (await pipeline.invoke("handled", {"query": "offline"})).error
    assert error is not None
    assert error.category == "tool_failed"
    assert "the catalogue index is offline" in error.message
    assert handled.handle_tool_error is True
    assert handled.invoke({"query": "offline"}) == "the catalogue index is offline"


async def test_arguments_are_checked_against_the_tools_schema() -> None:
    pipeline = default_pipeline(LangChainRegistry([search]))
    error = (await pipeline.invoke("search", {"query": "tea", "limit": "many"})).error
    assert isinstance(error, InvalidRequestError)
    assert error.message == "invalid arguments for 'search': limit"
    assert [(f.field, f.expected) for f in error.fields] == [("limit", "integer")]
    unknown = (await pipeline.invoke("search", {"query": "tea", "limt": 2})).error
    assert isinstance(unknown, InvalidRequestError)
    assert [(f.field, f.problem, f.expected) for f in unknown.fields] == [
        ("limt", "unexpected argument", "one of: query, limit")
    ]
    converted = await pipeline.invoke("search", {"query": "tea", "limit": "2"})
    assert converted.unwrap() == ["tea-0", "tea-1"]


async def test_without_validation_the_tools_own_refusal_is_invalid_request() -> None:
    """A pipeline without the validation interceptor: the tool's pydantic error is mapped."""
    registry = LangChainRegistry([search, translate])
    pipeline = PipelineBuilder().route(registry).build()
    for target, arguments, field in (
        ("search", {"query": "tea", "limit": "many"}, "limit"),
        ("translate", {"text": "hi"}, "language"),
    ):
        error = (await pipeline.invoke(target, arguments)).error
        assert isinstance(error, InvalidRequestError)
        assert [f.field for f in error.fields] == [field]
        assert isinstance(error.__context__, pydantic.ValidationError)


class Point(BaseModel):
    x: int


def strict_point(raw: str) -> int:
    """Parse a point inside the tool: its own validation error is its failure."""
    return Point.model_validate_json(raw).x


async def test_a_validation_error_from_inside_the_tool_is_its_failure() -> None:
    parse = StructuredTool.from_function(strict_point, name="parse_point")
    pipeline = PipelineBuilder().route(LangChainRegistry([parse])).build()
    assert (await pipeline.invoke("parse_point", {"raw": '{"x": 4}'})).unwrap() == 4
    error = (await pipeline.invoke("parse_point", {"raw": '{"x": "no"}'})).error
    assert error is not None
    assert error.category == "tool_failed"
    assert error.message.startswith("'parse_point' raised ValidationError: 1 validation error")

    async def parse_async(raw: str) -> int:
        """Parse a point."""
        return strict_point(raw)

    coroutine = StructuredTool.from_function(coroutine=parse_async, name="parse_async")
    pipeline = PipelineBuilder().route(LangChainRegistry([coroutine])).build()
    error = (await pipeline.invoke("parse_async", {"raw": '{"x": "no"}'})).error
    assert error is not None
    assert error.category == "tool_failed"


def echo(**kwargs: Any) -> dict[str, Any]:
    return kwargs


SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"],
    "additionalProperties": False,
}


async def test_a_json_schema_args_schema_is_checked_for_names() -> None:
    forecast = StructuredTool.from_function(
        echo, name="forecast", description="Forecast.", args_schema=SCHEMA
    )
    open_schema = {k: v for k, v in SCHEMA.items() if k != "additionalProperties"}
    loose = StructuredTool.from_function(
        echo, name="loose", description="Loose.", args_schema=open_schema
    )
    registry = LangChainRegistry([forecast, loose])
    assert registry.list()[0].args_schema == SCHEMA
    pipeline = default_pipeline(registry)
    assert (await pipeline.invoke("forecast", {"city": "Oslo", "days": 2})).unwrap() == {
        "city": "Oslo",
        "days": 2,
    }
    error = (await pipeline.invoke("forecast", {"days": 2, "hours": 1})).error
    assert isinstance(error, InvalidRequestError)
    assert error.message == "invalid arguments for 'forecast': city, hours"
    assert [(f.field, f.problem, f.expected) for f in error.fields] == [
        ("city", "Field required", None),
        ("hours", "unexpected argument", "one of: city, days"),
    ]
    assert (await pipeline.invoke("loose", {"city": "Oslo", "hours": 1})).unwrap() == {
        "city": "Oslo",
        "hours": 1,
    }
    nested = (await pipeline.invoke("loose", {"city": {1: "x"}})).error
    assert isinstance(nested, InvalidRequestError)  # not JSON-like: a non-string key


async def test_a_json_schema_without_properties_takes_no_arguments() -> None:
    bare = StructuredTool.from_function(
        echo, name="bare", description="Bare.", args_schema={"additionalProperties": False}
    )
    pipeline = default_pipeline(LangChainRegistry([bare]))
    assert (await pipeline.invoke("bare")).unwrap() == {}
    error = (await pipeline.invoke("bare", {"x": 1})).error
    assert isinstance(error, InvalidRequestError)
    assert [(f.field, f.expected) for f in error.fields] == [("x", "none")]


async def test_content_and_artifact_tools_answer_both() -> None:
    def rows(table: str) -> tuple[str, list[int]]:
        return f"3 rows from {table}", [1, 2, 3]

    both = StructuredTool.from_function(
        rows, name="rows", description="Rows.", response_format="content_and_artifact"
    )
    pipeline = default_pipeline(LangChainRegistry([both]))
    assert (await pipeline.invoke("rows", {"table": "t"})).unwrap() == {
        "content": "3 rows from t",
        "artifact": [1, 2, 3],
    }


async def test_round_trip_langchain_tools_served_to_a_langgraph_agent() -> None:
    """LangChain tools → registry → pipeline → LangChain tools → ToolNode."""
    registry = CompositeRegistry(local_registry(), LangChainRegistry([search]))
    pipeline = default_pipeline(registry)
    tools = langchain_tools(pipeline, registry)
    model = ScriptedChatModel(
        responses=[
            AIMessage(
                "",
                tool_calls=[
                    tool_call("search", {"query": "tea", "limit": 1}, "c1"),
                    tool_call("search", {"query": "offline"}, "c2"),
                    tool_call("add", {"a": 1, "b": 1}, "c3"),
                ],
            ),
            AIMessage("done"),
        ]
    )
    result = await agent_graph(model, tools).ainvoke({"messages": [HumanMessage("go")]})
    answers = [(m.content, m.status) for m in result["messages"] if isinstance(m, ToolMessage)]
    assert answers == [
        ('["tea-0"]', "success"),
        (
            f"tool_failed: 'search' raised ToolException: the catalogue index is offline {HINT}",
            "error",
        ),
        ("2", "success"),
    ]


def test_options_name_tools_whose_names_llm_apis_refuse() -> None:
    spaced = StructuredTool.from_function(echo, name="get weather", description="Weather.")
    fix = r"options=\{'get weather': EntryOptions\(name='\.\.\.'\)\}"
    with pytest.raises(RegistrationError, match=fix):
        LangChainRegistry([spaced])
    registry = LangChainRegistry(
        [spaced, search], options={"get weather": EntryOptions(name="get_weather")}
    )
    assert [d.name for d in registry.list()] == ["get_weather", "search"]


def test_options_describe_the_entry() -> None:
    """Every EntryOptions field that applies reaches the entry's description or the entry."""
    options = EntryOptions(
        description="Search the catalogue (cached).",
        tags=frozenset({"catalogue"}),
        version="2",
        idempotent=True,
        timeout=4.0,
        retryable_on=(ConnectionError,),
        retry=False,
        cache=True,
    )
    registry = LangChainRegistry([search, Weather()], options={"search": options})
    entry = registry.resolve(Kind.TOOL, "search")
    described = entry.description
    assert described.description == "Search the catalogue (cached)."
    assert described.tags == frozenset({"catalogue"})
    assert (described.version, described.idempotent, described.timeout) == ("2", True, 4.0)
    assert (described.retry, described.cache) == (False, CachePolicy())
    assert entry.retryable_on == (ConnectionError,)
    weather = registry.resolve(Kind.TOOL, "weather").description
    assert (weather.tags, weather.idempotent, weather.retry, weather.cache) == (
        frozenset({"outdoor"}),
        False,
        None,
        None,
    )
    tagged = LangChainRegistry([Weather()], options={"weather": EntryOptions(tags={"sky"})})
    assert tagged.list()[0].tags == frozenset({"outdoor", "sky"})


async def test_an_idempotent_tool_is_retried_on_the_errors_it_lists() -> None:
    """idempotent + retryable_on: the retry interceptor runs a flaky LangChain tool again."""
    runs: list[str] = []

    async def flaky(city: str) -> str:
        """A weather service that fails once."""
        runs.append(city)
        if len(runs) == 1:
            raise ConnectionError("reset by peer")
        return f"sunny in {city}"

    tool = StructuredTool.from_function(coroutine=flaky, name="flaky")
    options = {"flaky": EntryOptions(idempotent=True, retryable_on=(ConnectionError,))}
    registry = LangChainRegistry([tool], options=options)
    clock = FakeClock()
    retry = RetryInterceptor(base_delay=0.5, random=random.Random(1))
    pipeline = PipelineBuilder(clock=clock).use(retry).route(registry).build()
    call = asyncio.create_task(pipeline.invoke("flaky", {"city": "Oslo"}))
    await clock.advance(1.0)
    response = await call
    assert (response.unwrap(), response.attempts, runs) == ("sunny in Oslo", 2, ["Oslo", "Oslo"])


def test_options_that_do_not_apply_are_refused() -> None:
    for options in (
        EntryOptions(check_result=True),
        EntryOptions(read_ahead=2),
        EntryOptions(idle_timeout=1.0),
        EntryOptions(first_chunk_timeout=1.0),
    ):
        with pytest.raises(RegistrationError, match=r"^options for LangChain tool 'search': "):
            LangChainRegistry([search], options={"search": options})
    with pytest.raises(RegistrationError, match=r"must be EntryOptions\(\.\.\.\), got dict$"):
        LangChainRegistry([search], options={"search": {"idempotent": True}})  # type: ignore[dict-item]


def test_bad_sources_are_refused_with_the_fix() -> None:
    with pytest.raises(
        RegistrationError, match=r"^LangChainRegistry takes LangChain tools.*got function$"
    ):
        LangChainRegistry([echo])  # type: ignore[list-item]
    with pytest.raises(
        RegistrationError,
        match=r"two LangChain tools are named 'search' in 'lc'; .*EntryOptions\(name='\.\.\.'\)",
    ):
        LangChainRegistry([search, search], name="lc")
    with pytest.raises(
        RegistrationError, match=r"options name tools that are not given: \['serch'\]"
    ):
        LangChainRegistry([search], options={"serch": EntryOptions(idempotent=True)})


def test_a_pydantic_v1_schema_is_refused() -> None:
    from pydantic import v1

    class Old(v1.BaseModel):
        city: str

    legacy = StructuredTool.from_function(echo, name="legacy", description="L.", args_schema=Old)
    with pytest.raises(RegistrationError, match=r"pydantic.v1 args_schema"):
        LangChainRegistry([legacy])


def test_unknown_names_are_not_found_with_close_matches() -> None:
    registry = LangChainRegistry([search, translate])
    with pytest.raises(UnknownEntryError) as raised:
        registry.resolve(Kind.TOOL, "serch")
    assert raised.value.candidates == ("search",)
    assert "'serch'" in raised.value.message
    assert "'langchain'" in raised.value.message


async def test_a_json_schema_with_odd_properties_and_required_is_read_leniently() -> None:
    """Malformed parts of a JSON Schema (not a mapping, not a list) are treated as absent."""
    odd = StructuredTool.from_function(
        echo,
        name="odd",
        description="Odd.",
        args_schema={"properties": ["city"], "required": "city", "additionalProperties": False},
    )
    pipeline = default_pipeline(LangChainRegistry([odd]))
    assert (await pipeline.invoke("odd")).unwrap() == {}
    error = (await pipeline.invoke("odd", {"city": "Oslo"})).error
    assert isinstance(error, InvalidRequestError)
    assert [(f.field, f.problem, f.expected) for f in error.fields] == [
        ("city", "unexpected argument", "none")
    ]


class Open(BaseModel):
    """A schema that accepts names it does not declare."""

    model_config = pydantic.ConfigDict(extra="allow")
    city: str


async def test_a_schema_that_allows_extra_names_passes_them_on() -> None:
    tool = StructuredTool.from_function(echo, name="open", description="Open.", args_schema=Open)
    pipeline = default_pipeline(LangChainRegistry([tool]))
    answer = await pipeline.invoke("open", {"city": "Oslo", "units": "metric"})
    assert answer.unwrap() == {"city": "Oslo", "units": "metric"}
    missing = (await pipeline.invoke("open", {"units": "metric"})).error
    assert isinstance(missing, InvalidRequestError)
    assert [f.field for f in missing.fields] == ["city"]


async def test_json_schema_arguments_that_are_not_json_are_refused_by_name() -> None:
    """A value that is not JSON-like is refused naming the tool and the declared fields."""
    forecast = StructuredTool.from_function(
        echo, name="forecast", description="Forecast.", args_schema=SCHEMA
    )
    validator = LangChainRegistry([forecast]).resolve(Kind.TOOL, "forecast").validator
    assert validator is not None
    with pytest.raises(InvalidRequestError) as caught:
        validator.validate({"city": {"days": {1: "a"}, "other": {}}})
    assert caught.value.message == (  # "days" is a declared name, shown; the key is not
        "invalid arguments for 'forecast': city.days.[key]: keys must be plain strings, got int"
    )


class StrictPoint(BaseModel):
    model_config = pydantic.ConfigDict(strict=True)
    x: int


async def test_model_arguments_follow_the_strict_flag_not_the_model_config() -> None:
    """Lax by default (a model's own strict config aside); strict=True is passed on."""

    def point(x: int) -> int:
        return x

    tool_ = StructuredTool.from_function(
        point, name="point", description="Point.", args_schema=StrictPoint
    )
    validator = LangChainRegistry([tool_]).resolve(Kind.TOOL, "point").validator
    assert validator is not None
    assert validator.validate({"x": "5"}) == {"x": 5}
    with pytest.raises(InvalidRequestError):
        validator.validate({"x": "5"}, strict=True)


def test_a_tool_called_with_an_action_says_it_has_none() -> None:
    """A LangChain tool has no actions: asking for one says so."""
    registry = LangChainRegistry([search])
    with pytest.raises(UnknownEntryError) as caught:
        registry.resolve(Kind.TOOL, "search", "run")
    assert str(caught.value).startswith("tool 'search' has no actions; call it without action=")


@tool(response_format="content_and_artifact")
def whoami(tool_call_id: Annotated[str, InjectedToolCallId]) -> tuple[str, str]:
    """The id of the tool call that ran this tool."""
    return tool_call_id, tool_call_id


async def test_a_content_and_artifact_tool_runs_as_the_toolware_tool_call() -> None:
    """Such a tool is invoked with a tool call whose id is "toolware" (an injected call id
    sees it), and answers its content and artifact."""
    pipeline = PipelineBuilder().route(LangChainRegistry([whoami])).build()
    value = (await pipeline.invoke("whoami", {})).unwrap()
    assert value == {"content": "toolware", "artifact": "toolware"}
