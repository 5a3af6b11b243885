"""Argument and result schemas inferred from a function's type hints, with pydantic.

Each parameter becomes a key of a generated ``TypedDict``: its annotation is the type (use
``Annotated[int, Field(ge=1, description=...)]`` for constraints); parameters with defaults are
``NotRequired``, so validation returns only the arguments the caller gave and the handler's own
defaults apply to the rest. A TypedDict rather than a generated ``BaseModel`` because validating
into a plain dict skips building a model instance (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any, NotRequired, Required

import msgspec
import pydantic
from typing_extensions import TypedDict

from toolware._callables import is_async_callable, signature_source
from toolware.context import RequestContext
from toolware.errors import RegistrationError
from toolware.registry._validator import PydanticValidator
from toolware.registry.docstrings import parameter_docs, summary

__all__ = ["Signature", "inspect_signature", "is_async_callable", "type_schema"]


class Signature(msgspec.Struct, frozen=True, kw_only=True):
    """What registration learns from a handler's signature."""

    validator: PydanticValidator
    args_schema: Mapping[str, Any]
    result_schema: Mapping[str, Any]
    context_parameter: str | None
    description: str
    # (annotation,) when the handler declares a return type, () when it does not.
    declared_return: tuple[Any, ...] = ()


def inspect_signature(
    function: Callable[..., Any], target: str, *, streaming: bool = False
) -> Signature:
    """Build the validator and schemas for ``function`` (a function or bound method).

    ``streaming``: ``function`` is a generator function, whose return annotation is an
    iterator type, not a result; ``result_schema`` is left empty for the caller to build from
    the chunk type (:mod:`toolware.registry._streams`).
    """
    try:
        hints = typing.get_type_hints(signature_source(function), include_extras=True)
    except Exception as exc:
        raise RegistrationError(
            f"cannot read the type hints of {target!r}: {exc}; make every annotation importable"
        ) from exc
    fields: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    context_parameter = None
    accepts_extra = False
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            accepts_extra = True
            continue
        if parameter.kind is parameter.VAR_POSITIONAL:
            raise RegistrationError(
                f"{target!r} takes *{parameter.name}; arguments arrive by name, so replace it "
                "with named parameters (or **kwargs to accept any extra names)"
            )
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise RegistrationError(
                f"{target!r} has the positional-only parameter {parameter.name!r}; arguments "
                "arrive by name, so make it a normal or keyword-only parameter"
            )
        annotation = hints.get(parameter.name, Any)
        if annotation is RequestContext:
            context_parameter = parameter.name
            continue
        if parameter.default is parameter.empty:
            fields[parameter.name] = Required[annotation]
        else:
            fields[parameter.name] = NotRequired[annotation]
            defaults[parameter.name] = parameter.default
    type_name = "".join(part.capitalize() for part in target.replace(".", "_").split("_"))
    make_typed_dict: Any = TypedDict  # the functional form, with names known only now
    arguments_type: Any = make_typed_dict(f"{type_name}Arguments", fields)
    arguments_type.__pydantic_config__ = pydantic.ConfigDict(
        extra="allow" if accepts_extra else "forbid", arbitrary_types_allowed=True
    )
    try:
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(arguments_type)
        args_schema = adapter.json_schema()
    except (pydantic.PydanticUserError, pydantic.errors.PydanticSchemaGenerationError) as exc:
        raise RegistrationError(f"cannot build an argument schema for {target!r}: {exc}") from exc
    args_schema.pop("title", None)
    _add_defaults(args_schema, defaults)
    doc = _doc_of(function)
    _add_descriptions(args_schema, parameter_docs(doc))
    result_schema: dict[str, Any] = {}
    if "return" in hints and hints["return"] is not type(None) and not streaming:
        result_schema = type_schema(hints["return"], target, "result")
    return Signature(
        validator=PydanticValidator(adapter, args_schema, target),
        args_schema=args_schema,
        result_schema=result_schema,
        context_parameter=context_parameter,
        description=summary(doc),
        declared_return=(hints["return"],) if "return" in hints else (),
    )


def type_schema(annotation: Any, target: str, what: str) -> dict[str, Any]:
    """The JSON Schema of ``annotation`` (``what``: "result", "chunk"), ``{}`` for an opaque
    Python type; a type pydantic refuses outright is a :class:`RegistrationError`."""
    try:
        return pydantic.TypeAdapter(annotation).json_schema()
    except pydantic.errors.PydanticSchemaGenerationError:
        return {}  # an opaque Python type: callers get no schema for it
    except pydantic.PydanticUserError as exc:  # e.g. typing.TypedDict before Python 3.12
        raise RegistrationError(f"cannot build a {what} schema for {target!r}: {exc}") from exc


def _doc_of(function: Callable[..., Any]) -> str | None:
    """The docstring describing ``function``: its own, a partial's function's, or for a
    callable object its ``__call__``'s or else its class's (never ``object.__call__``'s)."""
    source = signature_source(function)
    doc = getattr(source, "__doc__", None)
    if not doc and source is not function and not isinstance(function, functools.partial):
        doc = type(function).__doc__
    return inspect.cleandoc(doc) if doc else None


def _add_descriptions(schema: dict[str, Any], documented: Mapping[str, str]) -> None:
    """Each parameter's docstring description, where ``Field(description=...)`` gave none."""
    properties = schema.get("properties", {})
    for name, text in documented.items():
        if name in properties and "description" not in properties[name]:
            properties[name]["description"] = text


def _add_defaults(schema: dict[str, Any], defaults: Mapping[str, Any]) -> None:
    """Publish the handler's defaults in the schema, where they are plain JSON values."""
    properties = schema.get("properties", {})
    for name, value in defaults.items():
        if name in properties:
            try:
                properties[name]["default"] = msgspec.to_builtins(value)
            except TypeError:
                continue  # not JSON: the default still applies, it is just not advertised
