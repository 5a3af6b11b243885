"""Argument schemas made strict-compatible for OpenAI strict function calling, or refused.

OpenAI's strict mode (Structured Outputs) accepts a subset of JSON Schema: every object lists
all its properties as ``required`` and says ``additionalProperties: false``; an optional
property is written as required and nullable, the model sending ``null`` for "not given".
:func:`make_strict` rewrites a schema that way. What cannot be rewritten without changing what
the tool accepts (a free-form ``dict`` argument, a length limit, ``uniqueItems`` from a ``set``,
a ``oneOf``) is refused with every reason, each at its JSON path, never dropped quietly.

A strict call then carries ``null`` for the optionals the model left out; :func:`drop_absent_nulls`
removes exactly those (an optional property whose own schema does not accept ``null``), so
the tool sees its defaults, as in a non-strict call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["StrictResult", "drop_absent_nulls", "make_strict"]

# Keywords strict mode refuses (OpenAI function-calling guide, "Supported schemas"); dropping
# any of them would let the model send what the tool refuses, so each is a reason to refuse.
_UNSUPPORTED = (
    "allOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentRequired",
    "dependentSchemas",
    "minProperties",
    "maxProperties",
    "contains",
    "minContains",
    "maxContains",
    "uniqueItems",
    "prefixItems",
    "minLength",
    "maxLength",
)
_NULL = {"type": "null"}


@dataclass(frozen=True, slots=True)
class StrictResult:
    """The strict schema, or ``None`` with the reasons it cannot be made (``"path: why"``)."""

    schema: dict[str, Any] | None
    problems: tuple[str, ...]


def make_strict(schema: Mapping[str, Any]) -> StrictResult:
    """``schema`` rewritten for strict mode (a new dict; ``schema`` is not changed)."""
    problems: list[str] = []
    root = dict(schema)
    if root.get("type") != "object":
        problems.append("$: the arguments must be an object schema with 'type': 'object'")
        return StrictResult(None, tuple(problems))
    defs = root.get("$defs")
    strict = _strict(root, "$", defs if isinstance(defs, Mapping) else {}, problems)
    if isinstance(defs, Mapping):
        strict["$defs"] = {
            name: _strict(sub, f"$.$defs.{name}", defs, problems) for name, sub in defs.items()
        }
    return StrictResult(None if problems else strict, tuple(problems))


def _strict(node: Any, path: str, defs: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    if not isinstance(node, Mapping):
        problems.append(f"{path}: a schema must be an object, got {type(node).__name__}")
        return {}
    out = {key: value for key, value in node.items() if key not in ("$defs", "default")}
    for keyword in _UNSUPPORTED:
        if keyword in node:
            problems.append(f"{path}: '{keyword}' is not supported in strict mode")
    ref = out.get("$ref")
    if isinstance(ref, str) and len(out) > 1:
        # Strict mode refuses siblings of $ref (a description next to it): inline the target.
        target = _resolve(ref, defs)
        if target is None:
            problems.append(f"{path}: '$ref' {ref!r} does not name an entry of '$defs'")
            return out
        merged = {**target, **out}
        del merged["$ref"]
        return _strict(merged, path, defs, problems)
    if _is_object(out):
        _strict_object(out, path, defs, problems)
    items = out.get("items")
    if isinstance(items, Mapping):
        out["items"] = _strict(items, f"{path}[]", defs, problems)
    any_of = out.get("anyOf")
    if isinstance(any_of, list):
        out["anyOf"] = [
            _strict(variant, f"{path}.anyOf[{i}]", defs, problems)
            for i, variant in enumerate(any_of)
        ]
    return out


def _is_object(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind)


def _strict_object(
    out: dict[str, Any], path: str, defs: Mapping[str, Any], problems: list[str]
) -> None:
    properties = out.get("properties")
    extra = out.get("additionalProperties", False)
    if extra is not False:
        problems.append(
            f"{path}: an object that accepts any further keys ('additionalProperties') cannot "
            "be strict; give it fixed properties (a model or TypedDict instead of a dict)"
        )
    if not isinstance(properties, Mapping) or not properties:
        if extra is False and "additionalProperties" not in out and path != "$":
            problems.append(
                f"{path}: an object without 'properties' accepts any keys and cannot be strict"
            )
        out["additionalProperties"] = False
        if path == "$":  # no arguments at all: strict mode wants the empty lists said
            out["properties"] = {}
            out["required"] = []
        return
    required = set(out.get("required", ()))
    converted: dict[str, Any] = {}
    for name, sub in properties.items():
        strict = _strict(sub, f"{path}.{name}", defs, problems)
        if name not in required and not _accepts_null(strict, defs):
            strict = _nullable(strict)
        converted[name] = strict
    out["properties"] = converted
    out["required"] = list(converted)
    out["additionalProperties"] = False


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or ``null``; the description stays outside, where the model reads it."""
    outer: dict[str, Any] = {k: schema[k] for k in ("title", "description") if k in schema}
    inner = {key: value for key, value in schema.items() if key not in outer}
    return {"anyOf": [inner, dict(_NULL)], **outer}


def _accepts_null(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int = 0) -> bool:
    if depth > 32:  # a $ref cycle: whatever it is, it is not plain null
        return False
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    enum = schema.get("enum")
    if isinstance(enum, list) and None in enum:
        return True
    if "const" in schema and schema["const"] is None:
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _resolve(ref, defs)
        if target is not None and _accepts_null(target, defs, depth + 1):
            return True
    any_of = schema.get("anyOf")
    return isinstance(any_of, list) and any(
        isinstance(v, Mapping) and _accepts_null(v, defs, depth + 1) for v in any_of
    )


def _resolve(ref: str, defs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    prefix = "#/$defs/"
    if not ref.startswith(prefix):
        return None
    target = defs.get(ref[len(prefix) :])
    return target if isinstance(target, Mapping) else None


def drop_absent_nulls(schema: Mapping[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """``arguments`` without the ``null`` s a strict call sends for optionals it leaves out.

    Only an optional property whose schema (in the original, non-strict ``schema``) does not
    accept ``null`` is dropped: its ``null`` can only mean "not given". Nested objects (inline
    or through ``$defs``) and arrays of them are cleaned too. A new dict; ``arguments`` is not
    changed.
    """
    defs = schema.get("$defs")
    cleaned = _clean(schema, arguments, defs if isinstance(defs, Mapping) else {}, 0)
    return cleaned if isinstance(cleaned, dict) else arguments


def _clean(schema: Mapping[str, Any], value: Any, defs: Mapping[str, Any], depth: int) -> Any:
    if depth > 32:
        return value
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _resolve(ref, defs)
        if target is not None:
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    if isinstance(value, dict):
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return value
        required = set(schema.get("required", ()))
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            sub = properties.get(key)
            if not isinstance(sub, Mapping):
                cleaned[key] = item
            elif item is None and key not in required and not _accepts_null(sub, defs):
                continue
            else:
                cleaned[key] = _clean(sub, item, defs, depth + 1)
        return cleaned
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, Mapping):
        return [_clean(items, item, defs, depth + 1) for item in value]
    return value
