"""Tests for toolware.registry.local: decorators, descriptions, lazy entries and lookups."""

from typing import Annotated, Any

import pydantic
import pytest

from toolware import (
    ErrorCategory,
    Kind,
    LocalRegistry,
    NotFoundError,
    RegistrationError,
    RequestContext,
    UnknownEntryError,
    default_pipeline,
)

# -- tools -----------------------------------------------------------------------------------


def test_bare_tool_decorator_registers_a_sync_function() -> None:
    """@registry.tool returns the function itself and registers it under its own name."""
    registry = LocalRegistry()

    @registry.tool
    def add(a: float, b: float) -> float:
        """Add two numbers.

        The second paragraph is not part of the description.
        """
        return a + b

    assert add(1, 2) == 3
    entry = registry.resolve(Kind.TOOL, "add")
    assert entry.function is add
    assert entry.is_async is False
    assert entry.description.name == "add"
    assert entry.description.kind is Kind.TOOL
    assert entry.description.action is None
    assert entry.description.description == "Add two numbers."


def test_tool_decorator_with_options_publishes_them() -> None:
    """Every tool option ends up in the entry: name, description, tags, version, policy."""
    registry = LocalRegistry()

    @registry.tool(
        name="plus",
        description="Sum of a and b.",
        tags={"math", "cheap"},
        version="2.1",
        idempotent=True,
        timeout=1.5,
        retryable_on=(ConnectionError,),
    )
    def add(a: int, b: int) -> int:
        """Ignored: description= wins."""
        return a + b

    entry = registry.resolve(Kind.TOOL, "plus")
    description = entry.description
    assert description.description == "Sum of a and b."
    assert description.tags == frozenset({"math", "cheap"})
    assert description.version == "2.1"
    assert description.idempotent is True
    assert description.timeout == 1.5
    assert entry.retryable_on == (ConnectionError,)
    assert description.to_dict()["tags"] == ["cheap", "math"]
    with pytest.raises(NotFoundError):
        registry.resolve(Kind.TOOL, "add")


def test_tool_defaults_when_no_options_are_given() -> None:
    """An undecorated tool is not idempotent, has no timeout, tags or retryable exceptions."""
    registry = LocalRegistry()

    @registry.tool
    def ping() -> str:
        return "pong"

    entry = registry.resolve(Kind.TOOL, "ping")
    assert entry.description.description == ""
    assert entry.description.tags == frozenset()
    assert entry.description.version == "0"
    assert entry.description.idempotent is False
    assert entry.description.timeout is None
    assert entry.retryable_on == ()


def test_tool_called_with_function_and_options() -> None:
    """registry.tool(function, **options) registers without decorator syntax."""
    registry = LocalRegistry()

    def double(x: int) -> int:
        return 2 * x

    assert registry.tool(double, idempotent=True, tags={"math"}) is double
    assert registry.resolve(Kind.TOOL, "double").description.idempotent is True


async def test_async_tool_is_marked_async_and_runs() -> None:
    """An async function is registered as async and awaited by the router."""
    registry = LocalRegistry()

    @registry.tool(name="shout")
    async def shout(text: str) -> str:
        return text.upper()

    assert registry.resolve(Kind.TOOL, "shout").is_async is True
    response = await default_pipeline(registry).invoke("shout", {"text": "hi"})
    assert response.unwrap() == "HI"


@pytest.mark.parametrize(
    ("timeout", "retryable_on"),
    [(0, ()), (-1.0, ()), (float("nan"), ()), (float("inf"), ()), (None, (ValueError, "x"))],
)
def test_bad_tool_options_are_refused(timeout: float | None, retryable_on: tuple[Any, ...]) -> None:
    """timeout must be finite and positive; retryable_on takes exception classes."""
    registry = LocalRegistry()

    def f() -> None:
        return None

    with pytest.raises(RegistrationError):
        registry.add(f, timeout=timeout, retryable_on=retryable_on)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("idempotent", "no", "idempotent must be True or False"),
        ("timeout", True, "timeout must be a finite number"),
        ("version", 3, "version must be a string"),
        ("retryable_on", ConnectionError, "retryable_on takes a tuple"),
        ("name", 7, "name must be a string"),
        ("description", ["x"], "description must be a string"),
    ],
)
def test_options_of_the_wrong_type_are_refused(option: str, value: Any, message: str) -> None:
    """Each option is checked for its type, so a wrong one is not stored and misread later."""

    def f() -> None:
        return None

    with pytest.raises(RegistrationError, match=message):
        LocalRegistry().add(f, **{option: value})


@pytest.mark.parametrize("tags", ["math", ["math", 3]])
def test_tags_must_be_a_collection_of_strings(tags: Any) -> None:
    """A bare string is refused rather than split into one-letter tags."""
    registry = LocalRegistry()

    def f() -> None:
        return None

    with pytest.raises(RegistrationError, match="tags"):
        registry.add(f, tags=tags)


# -- schemas ---------------------------------------------------------------------------------


def test_args_schema_marks_required_publishes_defaults_and_constraints() -> None:
    """Parameters without defaults are required; defaults and Field constraints are published."""
    registry = LocalRegistry()

    @registry.tool
    def search(
        query: str,
        limit: Annotated[int, pydantic.Field(ge=1, le=20, description="how many")] = 5,
        exact: bool = False,
    ) -> list[str]:
        return []

    schema = registry.resolve(Kind.TOOL, "search").description.args_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["query"]
    assert schema["additionalProperties"] is False
    properties = schema["properties"]
    assert set(properties) == {"query", "limit", "exact"}
    assert properties["query"]["type"] == "string"
    assert "default" not in properties["query"]
    assert properties["limit"]["type"] == "integer"
    assert properties["limit"]["minimum"] == 1
    assert properties["limit"]["maximum"] == 20
    assert properties["limit"]["default"] == 5
    assert properties["limit"]["description"] == "how many"
    assert properties["exact"] == {"type": "boolean", "title": "Exact", "default": False}


def test_result_schema_is_inferred_from_the_return_hint() -> None:
    """The return annotation becomes the result schema; no annotation or None gives {}."""
    registry = LocalRegistry()

    @registry.tool
    def words(text: str) -> list[str]:
        return text.split()

    @registry.tool
    def nothing() -> None:
        return None

    @registry.tool
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    assert registry.resolve(Kind.TOOL, "words").description.result_schema == {
        "type": "array",
        "items": {"type": "string"},
    }
    assert registry.resolve(Kind.TOOL, "nothing").description.result_schema == {}
    assert registry.resolve(Kind.TOOL, "untyped").description.result_schema == {}
    assert registry.resolve(Kind.TOOL, "untyped").description.args_schema["required"] == ["x"]


def test_non_json_default_still_applies_but_is_not_published() -> None:
    """A default msgspec cannot turn into JSON is left out of the schema, not refused."""
    registry = LocalRegistry()
    sentinel = object()

    @registry.tool
    def f(x: Any = sentinel) -> bool:
        return x is sentinel

    properties = registry.resolve(Kind.TOOL, "f").description.args_schema["properties"]
    assert "default" not in properties["x"]
    assert registry.resolve(Kind.TOOL, "f").function() is True


def test_positional_only_parameter_is_refused() -> None:
    """Arguments arrive by name, so a positional-only parameter cannot be filled."""
    registry = LocalRegistry()

    def f(a: int, /, b: int) -> int:
        return a + b

    with pytest.raises(RegistrationError, match="positional-only parameter 'a'"):
        registry.tool(f)


def test_var_positional_parameter_is_refused() -> None:
    """*args cannot be filled by name either; the message names it."""
    registry = LocalRegistry()

    def f(*numbers: int) -> int:
        return sum(numbers)

    with pytest.raises(RegistrationError, match=r"\*numbers"):
        registry.tool(f)


def test_class_registered_as_tool_is_refused() -> None:
    """A class is a plugin, not a tool; the message points to registry.plugin."""
    registry = LocalRegistry()

    class Thing:
        def run(self) -> None:
            return None

    with pytest.raises(RegistrationError, match=r"registry\.plugin"):
        registry.tool(Thing)


def test_unresolvable_annotation_is_refused() -> None:
    """A type hint that cannot be evaluated is reported at registration, not at call time."""
    registry = LocalRegistry()

    def f(x: "NoSuchType") -> None:  # type: ignore[name-defined] # noqa: F821
        return None

    with pytest.raises(RegistrationError, match="type hints"):
        registry.tool(f)


async def test_request_context_parameter_receives_the_request_and_is_not_in_schema() -> None:
    """A parameter annotated RequestContext gets the request; callers cannot set it."""
    registry = LocalRegistry()

    @registry.tool
    async def whoami(ctx: RequestContext, greeting: str) -> str:
        return f"{greeting} {ctx.target} {ctx.id}"

    entry = registry.resolve(Kind.TOOL, "whoami")
    assert entry.context_parameter == "ctx"
    assert set(entry.description.args_schema["properties"]) == {"greeting"}
    assert entry.description.args_schema["required"] == ["greeting"]

    pipeline = default_pipeline(registry)
    request = RequestContext.create("whoami", {"greeting": "hi"}, id="req-1")
    assert (await pipeline(request)).unwrap() == "hi whoami req-1"

    forged = await pipeline.invoke("whoami", {"greeting": "hi", "ctx": "forged"})
    assert forged.error is not None
    assert forged.error.category is ErrorCategory.INVALID_REQUEST


async def test_var_keyword_allows_extra_arguments() -> None:
    """With **kwargs extra arguments are accepted and passed on; declared ones are checked."""
    registry = LocalRegistry()

    @registry.tool
    def echo(a: int, **rest: Any) -> dict[str, Any]:
        return {"a": a, **rest}

    entry = registry.resolve(Kind.TOOL, "echo")
    assert entry.description.args_schema["additionalProperties"] is True
    assert "rest" not in entry.description.args_schema["properties"]
    response = await default_pipeline(registry).invoke("echo", {"a": "1", "b": [2]})
    assert response.unwrap() == {"a": 1, "b": [2]}


async def test_without_var_keyword_extra_arguments_are_refused() -> None:
    """Without **kwargs an unknown argument is an invalid request naming it."""
    registry = LocalRegistry()

    @registry.tool
    def one(a: int) -> int:
        return a

    response = await default_pipeline(registry).invoke("one", {"a": 1, "b": 2})
    assert response.error is not None
    assert [f.field for f in response.error.fields] == ["b"]  # type: ignore[attr-defined]


def test_registration_and_removal_refusals_name_the_entry_and_the_fix() -> None:
    """A taken name says to pick another or replace; removing or reloading an unknown name
    names it."""
    registry = LocalRegistry()
    registry.add(lambda: 1, name="x")
    with pytest.raises(RegistrationError) as taken:
        registry.add(lambda: 2, name="x")
    assert str(taken.value) == (
        "a tool named 'x' is already registered in 'local'; pick another name= or pass replace=True"
    )
    for action in (registry.remove, registry.reload):
        with pytest.raises(UnknownEntryError) as missing:
            action(Kind.TOOL, "nope")
        assert missing.value.message == "no tool named 'nope' in registry 'local'"


async def test_replacing_a_plugin_drops_the_actions_it_no_longer_has() -> None:
    """replace=True with a class that lost an action: the old action is gone; health counts
    each action as an entry."""

    class Jobs:
        def run(self) -> str:
            return "run"

        def stop(self) -> str:
            return "stop"

    class Smaller:
        def run(self) -> str:
            return "run2"

    registry = LocalRegistry()
    registry.plugin(Jobs)
    assert (await registry.health()).entries == 2
    registry.plugin(Smaller, name="jobs", replace=True)
    assert registry.resolve(Kind.PLUGIN, "jobs", "run").function() == "run2"
    assert registry.lookup((Kind.PLUGIN, "jobs", "stop")) is None
    with pytest.raises(UnknownEntryError):
        registry.resolve(Kind.PLUGIN, "jobs", "stop")
    assert (await registry.health()).entries == 1


def test_a_retriever_added_directly_gets_the_default_k_bounds() -> None:
    """add(kind=RAG) without default_k/max_k: k defaults to 5 and is at most 50."""
    registry = LocalRegistry()

    def docs(query: str, k: int = 3) -> list[Any]:
        return []

    registry.add(docs, kind=Kind.RAG)
    k = registry.resolve(Kind.RAG, "docs").description.args_schema["properties"]["k"]
    assert (k["default"], k["maximum"]) == (5, 50)
