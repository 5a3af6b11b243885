"""Argument and result schemas inferred from a function's type hints, with pydantic.

Each parameter becomes a key of a generated ``TypedDict``: its annotation is the type (use
``Annotated[int, Field(ge=1, description=...)]`` for constraints); parameters with defaults are
``NotRequired``, so validation returns only the arguments the caller gave and the handler's own
defaults apply to the rest. A TypedDict rather than a generated ``BaseModel`` because validating
into a plain dict skips building a model instance: 0.34 us instead of 1.2 us for two fields.
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

from toolware.context import RequestContext
from toolware.errors import FieldError, InvalidRequestError, RegistrationError
from toolware.registry.docstrings import parameter_docs, summary

__all__ = ["Signature", "inspect_signature", "is_async_callable"]


class PydanticValidator:
    """Validates arguments with the model generated from the handler's signature."""

    __slots__ = ("_adapter", "_definitions", "_names", "_properties", "_schema", "_target")

    def __init__(
        self, adapter: pydantic.TypeAdapter[Any], schema: Mapping[str, Any], target: str
    ) -> None:
        self._adapter = adapter
        self._schema = schema
        self._properties: Mapping[str, Any] = schema.get("properties", {})
        self._definitions: Mapping[str, Any] = schema.get("$defs", {})
        self._names = frozenset(_property_names(schema))
        self._target = target

    def validate(self, arguments: Mapping[str, Any], *, strict: bool = False) -> Mapping[str, Any]:
        try:
            validated: Mapping[str, Any] = self._adapter.validate_python(arguments, strict=strict)
        except pydantic.ValidationError as exc:
            fields = tuple(self._field_error(error) for error in exc.errors())
            names = ", ".join(sorted({f.field for f in fields}))
            raise InvalidRequestError(
                f"invalid arguments for {self._target!r}: {names}", fields=fields
            ) from exc
        return validated

    def _field_error(self, error: Any) -> FieldError:
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden" and len(loc) == 1:
            # The caller's own argument name: the agent needs it to drop the argument.
            expected = "one of: " + ", ".join(self._properties) if self._properties else "none"
            return FieldError(str(loc[0]), "unexpected argument", expected)
        return FieldError(
            self._location(loc),
            _problem(error),
            _expected(self._schema_at(loc), self._definitions),
        )

    def _location(self, loc: tuple[Any, ...]) -> str:
        """The dotted path, with dict keys the schema does not name masked as ``[key]``.

        Keys of a ``dict`` argument are caller data (header names, tokens used as keys): they
        must not be echoed into an error that leaves the process.
        """
        parts = [
            str(part) if isinstance(part, int) or part in self._names else "[key]" for part in loc
        ]
        return ".".join(parts) or "(arguments)"

    def _schema_at(self, loc: tuple[Any, ...]) -> Mapping[str, Any] | None:
        """The sub-schema a location points at, following properties, items and $refs."""
        schema: Mapping[str, Any] | None = self._schema
        for part in loc:
            schema = _step(schema, part, self._definitions)
            if schema is None:
                return None
        return schema


# pydantic error types whose messages never contain the input (a type, a bound, a length).
_SAFE_TYPES = frozenset(
    {
        "missing",
        "literal_error",
        "enum",
        "multiple_of",
        "finite_number",
        "too_short",
        "too_long",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "int_parsing",
        "int_from_float",
        "float_parsing",
        "bool_parsing",
        "decimal_parsing",
        "missing_argument",
        "unexpected_keyword_argument",
    }
)
# Types whose messages do quote the input, with a safe wording of the same problem.
_REWORDED = {
    "uuid_parsing": "Input should be a valid UUID",
    "url_parsing": "Input should be a valid URL",
    "json_invalid": "Input should be valid JSON",
    "date_parsing": "Input should be a valid date",
    "datetime_parsing": "Input should be a valid datetime",
    "time_parsing": "Input should be a valid time",
    "time_delta_parsing": "Input should be a valid duration",
    "value_error": "Input was refused by the parameter's validator",
    "assertion_error": "Input was refused by the parameter's validator",
    "extra_forbidden": "unexpected key",
}


def _problem(error: Any) -> str:
    """pydantic's message where it cannot contain the input; a fixed wording otherwise."""
    kind = str(error["type"])
    if kind in _SAFE_TYPES or kind.endswith("_type") or kind.startswith(("greater", "less")):
        return str(error["msg"])
    if kind == "union_tag_invalid":
        expected = (error.get("ctx") or {}).get("expected_tags", "")
        return f"Input tag does not match any of the expected tags: {expected}"
    return _REWORDED.get(kind, f"Input is not valid ({kind})")


def _step(
    schema: Mapping[str, Any] | None, part: Any, definitions: Mapping[str, Any], depth: int = 0
) -> Mapping[str, Any] | None:
    """The sub-schema for one location part: a property, a list item, a dict value."""
    schema = _resolve(schema, definitions)
    if schema is None or depth > 8:
        return None
    if isinstance(part, int) and isinstance(schema.get("items"), Mapping):
        return schema["items"]  # type: ignore[no-any-return]
    if part in schema.get("properties", {}):
        return schema["properties"][part]  # type: ignore[no-any-return]
    if isinstance(schema.get("additionalProperties"), Mapping):
        return schema["additionalProperties"]  # type: ignore[no-any-return]
    for option in schema.get("anyOf", ()) or schema.get("oneOf", ()):
        found = _step(option, part, definitions, depth + 1)
        if found is not None:
            return found
    return None


def _resolve(
    schema: Mapping[str, Any] | None, definitions: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    reference = schema.get("$ref") if schema else None
    if isinstance(reference, str):
        return definitions.get(reference.rpartition("/")[2])
    return schema


def _property_names(schema: Any) -> set[str]:
    """Every property name anywhere in a JSON Schema document ($defs included)."""
    names: set[str] = set()
    if isinstance(schema, Mapping):
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            names.update(str(name) for name in properties)
        for value in schema.values():
            names |= _property_names(value)
    elif isinstance(schema, list):
        for item in schema:
            names |= _property_names(item)
    return names


_BOUNDS = (
    ("minimum", ">="),
    ("maximum", "<="),
    ("exclusiveMinimum", ">"),
    ("exclusiveMaximum", "<"),
    ("minLength", "length >="),
    ("maxLength", "length <="),
    ("minItems", "length >="),
    ("maxItems", "length <="),
)


def _expected(
    schema: Mapping[str, Any] | None, definitions: Mapping[str, Any] | None = None
) -> str | None:
    """A short human description of what a JSON Schema accepts.

    ``definitions`` are the document's ``$defs``: an enum or model parameter is a ``$ref`` to
    one of them, and the description must say what the referenced schema accepts.
    """
    if not schema:
        return None
    reference = schema.get("$ref")
    if isinstance(reference, str) and definitions:
        target = definitions.get(reference.rpartition("/")[2])
        if target is not None and target is not schema:
            return _expected(target, None)  # one level: enums and models, no recursion loops
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or ()
        parts = [_expected(option, definitions) for option in options]
        return " or ".join(dict.fromkeys(p for p in parts if p)) or None
    kind = schema.get("type")
    if kind == "array":
        inner = _expected(schema.get("items"), definitions)
        return f"array of {inner}" if inner else "array"
    bounds = [f"{label} {schema[key]}" for key, label in _BOUNDS if key in schema]
    text = str(kind) if kind else ("object" if "$ref" in schema else None)
    if text and bounds:
        return f"{text} {' and '.join(bounds)}"
    return text


class Signature(msgspec.Struct, frozen=True, kw_only=True):
    """What registration learns from a handler's signature."""

    validator: PydanticValidator
    args_schema: Mapping[str, Any]
    result_schema: Mapping[str, Any]
    context_parameter: str | None
    description: str
    # (annotation,) when the handler declares a return type, () when it does not.
    declared_return: tuple[Any, ...] = ()


def inspect_signature(function: Callable[..., Any], target: str) -> Signature:
    """Build the validator and schemas for ``function`` (a function or bound method)."""
    try:
        hints = typing.get_type_hints(_annotated(function), include_extras=True)
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
    if "return" in hints and hints["return"] is not type(None):
        try:
            result_schema = pydantic.TypeAdapter(hints["return"]).json_schema()
        except pydantic.errors.PydanticSchemaGenerationError:
            result_schema = {}  # an opaque Python type: callers get no result schema
        except pydantic.PydanticUserError as exc:  # e.g. typing.TypedDict before Python 3.12
            raise RegistrationError(f"cannot build a result schema for {target!r}: {exc}") from exc
    return Signature(
        validator=PydanticValidator(adapter, args_schema, target),
        args_schema=args_schema,
        result_schema=result_schema,
        context_parameter=context_parameter,
        description=summary(doc),
        declared_return=(hints["return"],) if "return" in hints else (),
    )


def _annotated(function: Callable[..., Any]) -> Callable[..., Any]:
    """Where the type hints of ``function`` live: itself, a partial's function, or the
    ``__call__`` method of a callable object."""
    while isinstance(function, functools.partial):
        function = function.func
    if inspect.isfunction(function) or inspect.ismethod(function):
        return function
    call = getattr(function, "__call__", None)  # noqa: B004 - the method, for its hints
    return call if inspect.ismethod(call) else function


def _doc_of(function: Callable[..., Any]) -> str | None:
    """The docstring describing ``function``: its own, a partial's function's, or for a
    callable object its ``__call__``'s or else its class's (never ``object.__call__``'s)."""
    source = _annotated(function)
    doc = getattr(source, "__doc__", None)
    if not doc and source is not function and not isinstance(function, functools.partial):
        doc = type(function).__doc__
    return inspect.cleandoc(doc) if doc else None


def is_async_callable(function: Callable[..., Any]) -> bool:
    """Whether calling ``function`` returns a coroutine (functions, partials, objects)."""
    # unwrap(): a functools.wraps decorator that returns the wrapped coroutine is async work.
    target = _annotated(function)
    return any(
        inspect.iscoroutinefunction(candidate)
        for candidate in (function, target, inspect.unwrap(target))
    )


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
