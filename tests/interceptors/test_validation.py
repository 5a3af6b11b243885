"""Tests for toolware.interceptors.validation: bad arguments never reach the handler."""

from typing import Annotated, Any

import msgspec
import pydantic
import pytest

from toolware import (
    ErrorCategory,
    FieldError,
    InvalidRequestError,
    Kind,
    LocalRegistry,
    NotFoundError,
    Pipeline,
    PipelineBuilder,
    RequestContext,
    ResponseContext,
    UnavailableError,
    ValidationInterceptor,
    default_pipeline,
)
from toolware.testing import FakeHandler


def make_registry() -> LocalRegistry:
    registry = LocalRegistry()

    @registry.tool
    def scale(n: int, factor: float = 1.0, label: str = "x") -> str:
        return f"{label}{n * factor}"

    class Notes:
        def add(self, text: str) -> int:
            return len(text)

    registry.plugin(Notes)
    registry.add_lazy("toolware_no_such_module_z:gone")
    return registry


def pipeline(registry: LocalRegistry, handler: FakeHandler, *, strict: bool = False) -> Pipeline:
    validation = ValidationInterceptor(registry, strict=strict)
    return PipelineBuilder().use(validation).route(handler).build()


async def test_unknown_target_is_not_found_without_calling_the_handler() -> None:
    """A name the registry does not know is refused with close matches; no handler call."""
    handler = FakeHandler(["ok"])
    response = await pipeline(make_registry(), handler).invoke("scal", {"n": 1})
    error = response.error
    assert isinstance(error, NotFoundError)
    assert error.candidates == ("scale",)
    assert error.target == "scal"
    assert error.request_id is not None
    assert handler.call_count == 0


async def test_unavailable_entry_is_refused_without_calling_the_handler() -> None:
    """A lazy entry that cannot be imported is 'unavailable' before any handler runs."""
    handler = FakeHandler(["ok"])
    response = await pipeline(make_registry(), handler).invoke("gone")
    assert isinstance(response.error, UnavailableError)
    assert handler.call_count == 0


async def test_bad_arguments_are_invalid_request_naming_each_field() -> None:
    """Wrong types and unknown arguments come back as fields; the handler is not called."""
    handler = FakeHandler(["ok"])
    response = await pipeline(make_registry(), handler).invoke("scale", {"n": "many", "extra": 1})
    error = response.error
    assert isinstance(error, InvalidRequestError)
    assert error.category is ErrorCategory.INVALID_REQUEST
    assert {f.field for f in error.fields} == {"n", "extra"}
    assert FieldError("extra", "unexpected argument", "one of: n, factor, label") in error.fields
    assert error.target == "scale"
    assert handler.call_count == 0


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"n": "3"}, {"n": 3}),
        ({"n": True}, {"n": 1}),  # equal to the input, but of the wrong type
        ({"n": 2, "factor": 3}, {"n": 2, "factor": 3.0}),  # int -> float, also equal
    ],
)
async def test_converted_arguments_reach_the_handler(
    given: dict[str, Any], expected: dict[str, Any]
) -> None:
    """The handler gets the values converted to its parameter types, exactly."""
    handler = FakeHandler(["ok"])
    response = await pipeline(make_registry(), handler).invoke("scale", given)
    assert response.ok
    [received] = handler.calls
    assert dict(received.arguments) == expected
    assert [type(v) for v in received.arguments.values()] == [type(v) for v in expected.values()]


async def test_only_given_arguments_are_passed_on() -> None:
    """Defaults are not filled in by validation; the handler's own apply."""
    handler = FakeHandler(["ok"])
    await pipeline(make_registry(), handler).invoke("scale", {"n": 1})
    assert dict(handler.calls[0].arguments) == {"n": 1}


async def test_the_rest_of_the_request_is_unchanged() -> None:
    """Only the arguments change: id, kind, action and deadline go on as they were."""
    handler = FakeHandler(["ok"])
    response = await pipeline(make_registry(), handler).invoke(
        "notes", {"text": "hi"}, kind=Kind.PLUGIN, action="add", deadline=5e9
    )
    assert response.ok
    [received] = handler.calls
    assert (received.kind, received.target, received.action) == (Kind.PLUGIN, "notes", "add")
    assert received.deadline == 5e9


async def test_strict_refuses_conversions() -> None:
    """strict=True refuses "3" for an int; strict=False (the default) converts it."""
    handler = FakeHandler(["ok"])
    strict = await pipeline(make_registry(), handler, strict=True).invoke("scale", {"n": "3"})
    assert isinstance(strict.error, InvalidRequestError)
    assert [f.field for f in strict.error.fields] == ["n"]
    assert handler.call_count == 0
    lax = await pipeline(make_registry(), handler).invoke("scale", {"n": "3"})
    assert lax.ok
    assert handler.calls[0].arguments == {"n": 3}


async def test_plugin_action_arguments_are_validated() -> None:
    """A plugin action's own signature is used."""
    handler = FakeHandler(["ok"])
    response = await pipeline(make_registry(), handler).invoke(
        "notes", {}, kind=Kind.PLUGIN, action="add"
    )
    assert isinstance(response.error, InvalidRequestError)
    assert response.error.fields == (FieldError("text", "Field required", "string"),)


def test_needs_a_registry() -> None:
    """Passing something that is not a registry is a TypeError naming what was passed."""
    with pytest.raises(TypeError, match="got dict"):
        ValidationInterceptor({})  # type: ignore[arg-type]


def test_options_are_kept() -> None:
    """The interceptor exposes its name and strictness; strict defaults to False."""
    interceptor = ValidationInterceptor(make_registry(), strict=True)
    assert (interceptor.name, interceptor.strict) == ("validation", True)
    assert ValidationInterceptor().strict is False


async def test_unconverted_arguments_go_on_as_they_are_and_converted_ones_are_copied() -> None:
    """No copy when nothing converts; {"x": 3} for a float, True for an int, "3" are copied."""
    from toolware import LocalRegistry, PipelineBuilder, RequestContext, ResponseContext
    from toolware.types import CallNext

    registry = LocalRegistry()

    @registry.tool
    async def f(x: float, n: int = 0, s: str = "", flag: bool = False) -> float:
        return x

    seen: list[object] = []

    async def spy(request: RequestContext, call_next: CallNext) -> ResponseContext:
        seen.append(request.arguments)
        return await call_next(request)

    pipeline = (
        PipelineBuilder().use(ValidationInterceptor(strict=False)).use(spy).route(registry).build()
    )
    for given, same in (
        ({"x": 1.5, "n": 2, "s": "a", "flag": True}, True),
        ({"x": float("nan")}, True),
        ({"x": 3}, False),
        ({"x": 1.0, "n": "3"}, False),
        ({"x": 1.0, "n": 2.0}, False),
    ):
        request = RequestContext.create("f", given)
        response = await pipeline(request)
        assert response.ok, response.error
        assert (seen[-1] is request.arguments) is same, given
    assert type(seen[2]["x"]) is float  # type: ignore[index]
    assert seen[3]["n"] == 3  # type: ignore[index]


def converting_registry() -> LocalRegistry:
    """Tools that report what their arguments became after validation."""
    registry = LocalRegistry()

    @registry.tool
    def stripped(text: Annotated[str, pydantic.StringConstraints(strip_whitespace=True)]) -> str:
        return text

    @registry.tool
    def defaulted(n: Annotated[int, pydantic.Field(default=3)]) -> int:
        return n

    @registry.tool
    def floats(xs: list[float]) -> list[str]:
        return [type(x).__name__ for x in xs]

    return registry


async def test_the_handler_gets_the_validated_arguments() -> None:
    """A value changed within its type, a schema default and items converted inside a list all
    reach the handler as validated, not as given."""
    pipeline = default_pipeline(converting_registry())
    assert (await pipeline.invoke("stripped", {"text": " a "})).unwrap() == "a"
    assert (await pipeline.invoke("defaulted", {})).unwrap() == 3
    assert (await pipeline.invoke("floats", {"xs": [3, 4.5]})).unwrap() == ["float", "float"]


def test_strict_must_be_a_bool() -> None:
    """strict=1 is refused, naming the value."""
    with pytest.raises(TypeError, match="strict") as caught:
        ValidationInterceptor(strict=1)  # type: ignore[arg-type]
    assert str(caught.value) == "strict must be True or False, got 1"


async def test_without_an_entry_or_a_registry_the_call_is_refused_with_the_fix() -> None:
    """A pipeline that does not route to a registry: an internal error naming the call, the
    reason and the two fixes; the handler is not called."""
    handler = FakeHandler(["v"])
    pipeline = PipelineBuilder().use(ValidationInterceptor()).route(handler).build()
    request = RequestContext.create("notes", kind=Kind.PLUGIN, action="add")
    validation = ValidationInterceptor()
    response = await validation(request, handler)
    error = response.error
    assert error is not None
    assert error.category is ErrorCategory.INTERNAL
    assert error.message == (
        "validation has no entry for 'notes.add': the pipeline does not route to a registry, "
        "or an interceptor outside validation changed the target"
    )
    assert error.hint == (
        "build the pipeline with .route(registry), or give the interceptor the registry: "
        "ValidationInterceptor(registry)"
    )
    assert (error.request_id, error.target) == (request.id, "notes.add")
    assert (await pipeline.invoke("x")).error is not None
    assert handler.call_count == 0


async def test_an_argument_error_is_bound_to_the_call() -> None:
    """Called directly with a resolved request, the invalid_request carries the call's id."""
    registry = converting_registry()
    request = RequestContext.create("defaulted", {"n": "many"})
    request = msgspec.structs.replace(request, resolution=registry.resolve(Kind.TOOL, "defaulted"))
    response = await ValidationInterceptor()(request, FakeHandler(["v"]))
    assert response.error is not None
    assert (response.error.request_id, response.error.target) == (request.id, "defaulted")


async def test_arguments_validation_leaves_as_they_are_pass_on_without_a_copy() -> None:
    """Flat arguments of the declared types: the same request goes on (nothing allocated)."""
    registry = LocalRegistry()

    @registry.tool
    def plain(text: str, n: int, x: float, flag: bool, maybe: str | None) -> str:
        return text

    seen: list[RequestContext] = []

    async def capture(request: RequestContext) -> ResponseContext:
        seen.append(request)
        return ResponseContext.success("ok")

    arguments = {"text": "a", "n": 1, "x": float("nan"), "flag": True, "maybe": None}
    request = RequestContext.create("plain", arguments)
    request = msgspec.structs.replace(request, resolution=registry.resolve(Kind.TOOL, "plain"))
    assert (await ValidationInterceptor()(request, capture)).unwrap() == "ok"
    assert seen == [request]
    assert seen[0] is request
