"""Arguments of a remote tool checked against its ``inputSchema`` (JSON Schema), locally.

The remote schema is authoritative: it is what the server itself checks. Validating here
first lets a bad call be refused with the same typed ``invalid_request`` error as a local tool
(naming each bad field) without a round trip, and keeps the remote server's load down. JSON
Schema does not convert values, so ``strict`` changes nothing: ``"3"`` is never an integer.

Messages never quote the caller's values (as :mod:`toolware.registry._validator`): each
problem is worded from the schema keyword that failed, keys of free-form objects are shown as
``[key]``, and unexpected argument names are cut and escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from jsonschema.protocols import Validator  # type: ignore[import-untyped]
from jsonschema.validators import Draft202012Validator, validator_for  # type: ignore[import-untyped]
from referencing import Registry as ReferenceRegistry
from referencing.exceptions import Unresolvable

from toolware import _limits
from toolware._arguments import check_arguments
from toolware._limits import safe_name
from toolware.errors import FieldError, InvalidRequestError, UnavailableError
from toolware.registry._validator import MAX_UNEXPECTED_SHOWN, _expected, _property_names

__all__ = ["JsonSchemaValidator"]

_BOUNDS = {
    "minimum": ">=",
    "maximum": "<=",
    "exclusiveMinimum": ">",
    "exclusiveMaximum": "<",
    "minLength": "of length >=",
    "maxLength": "of length <=",
    "minItems": "with at least this many items:",
    "maxItems": "with at most this many items:",
    "multipleOf": "a multiple of",
}


class JsonSchemaValidator:
    """An :class:`~toolware.registry.base.ArgumentValidator` over a JSON Schema document.

    Raises :class:`jsonschema.exceptions.SchemaError` at construction when the schema itself is
    invalid. ``$ref`` resolves inside the document only: a remote schema cannot make this
    process fetch URLs.
    """

    __slots__ = ("_definitions", "_names", "_properties", "_target", "_validator")

    def __init__(self, schema: Mapping[str, Any], target: str) -> None:
        document = dict(schema)
        cls = validator_for(document, default=Draft202012Validator)
        cls.check_schema(document)
        self._validator: Validator = cls(document, registry=ReferenceRegistry())
        self._target = target
        self._properties: Mapping[str, Any] = document.get("properties") or {}
        self._definitions: Mapping[str, Any] = document.get("$defs") or {}
        self._names = frozenset(_property_names(document))

    def validate(self, arguments: Mapping[str, Any], *, strict: bool = False) -> Mapping[str, Any]:
        check_arguments(arguments, target=self._target, names=self._names)
        try:
            errors = list(self._validator.iter_errors(arguments))
        except Unresolvable as exc:  # refs resolve lazily: a broken one shows only here
            raise UnavailableError(
                f"the input schema of {self._target!r} has a $ref that cannot be resolved "
                f"({exc.ref}): only references inside the schema are followed",
                hint="the MCP server's tools/list has a broken $ref: fix the server's schema",
                retryable=False,
            ) from None
        if not errors:
            return arguments
        fields: list[FieldError] = []
        unexpected: list[str] = []
        for error in sorted(errors, key=_order):
            if error.validator == "additionalProperties" and not error.absolute_path:
                unexpected.extend(_extra_keys(error))
            else:
                fields.extend(self._fields(error))
        shown = [
            FieldError(safe_name(name), "unexpected argument", self._allowed())
            for name in unexpected[:MAX_UNEXPECTED_SHOWN]
        ]
        every = shown + fields
        kept = every[: _limits.MAX_FIELDS]
        hidden = len(every) - len(kept) + (len(unexpected) - len(shown))
        names = ", ".join(sorted({field.field for field in kept}))
        if hidden:
            names += f" and {hidden} more"
        raise InvalidRequestError(
            f"invalid arguments for {self._target!r}: {names}",
            fields=kept,
            fields_omitted=hidden,
        )

    def _allowed(self) -> str:
        return "one of: " + ", ".join(self._properties) if self._properties else "none"

    def _fields(self, error: ValidationError) -> list[FieldError]:
        path = self._location(tuple(error.absolute_path))
        if error.validator == "required":
            instance = error.instance if isinstance(error.instance, Mapping) else {}
            missing = [n for n in error.validator_value if n not in instance]
            prefix = "" if path == "(arguments)" else path + "."
            return [
                FieldError(prefix + str(name), "Field required", self._expected_for(name))
                for name in missing
            ]
        if error.validator == "additionalProperties":
            return [FieldError(path, "unexpected key", "no further keys")]
        return [FieldError(path, _problem(error), self._expected(error.schema))]

    def _expected_for(self, name: str) -> str | None:
        schema = self._properties.get(name)
        return self._expected(schema) if isinstance(schema, Mapping) else None

    def _expected(self, schema: Any) -> str | None:
        if not isinstance(schema, Mapping):
            return None
        kinds = schema.get("type")
        if isinstance(kinds, list):  # JSON Schema's own union: {"type": ["integer", "null"]}
            return " or ".join(map(str, kinds))
        return _expected(schema, self._definitions)

    def _location(self, path: tuple[Any, ...]) -> str:
        # Keys of a free-form object argument are caller data: masked, as for local tools.
        parts = [str(p) if type(p) is int or p in self._names else "[key]" for p in path]
        return ".".join(parts) or "(arguments)"


def _order(error: ValidationError) -> tuple[str, ...]:
    return tuple(str(part) for part in error.absolute_path)


def _extra_keys(error: ValidationError) -> list[str]:
    """The argument names an ``additionalProperties: false`` error is about, in call order."""
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    declared = schema.get("properties") or {}
    return [str(key) for key in instance if key not in declared]


def _problem(error: ValidationError) -> str:
    """What is wrong, from the failed keyword and the schema's value (never the input's)."""
    keyword, value = str(error.validator), error.validator_value
    if keyword == "type":
        kinds = value if isinstance(value, list) else [value]
        return "Input should be of type " + " or ".join(map(str, kinds))
    if keyword in _BOUNDS:
        return f"Input should be {_BOUNDS[keyword]} {value}"
    if keyword == "enum":
        return "Input should be one of the allowed values"
    if keyword == "const":
        return "Input should be the one allowed value"
    if keyword == "pattern":
        return "Input should match the pattern " + repr(value)
    return f"Input does not satisfy the schema's {keyword!r}"
