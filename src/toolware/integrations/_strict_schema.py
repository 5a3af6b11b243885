"""Argument schemas made strict-compatible for OpenAI or Anthropic strict tool use, or refused.

Strict mode (grammar-constrained sampling) accepts a subset of JSON Schema, a different one per
provider (:class:`StrictRules`). Both want ``additionalProperties: false`` on every object.
OpenAI also wants every property ``required``: an optional property is written as required
and nullable, the model sending ``null`` for "not given". Anthropic keeps optional properties
optional, but refuses numeric bounds and recursive schemas. :func:`make_strict` rewrites a
schema for one set of rules. What cannot be rewritten without changing what the tool accepts
(a free-form ``dict`` argument, a length limit, ``uniqueItems`` from a ``set``, a ``oneOf``) is
refused with every reason, each at its JSON path, never dropped quietly.

A strict call then carries ``null`` for the optionals the model left out; :func:`drop_absent_nulls`
removes exactly those (an optional property whose own schema does not accept ``null``), so
the tool sees its defaults, as in a non-strict call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ANTHROPIC",
    "OPENAI",
    "StrictResult",
    "StrictRules",
    "drop_absent_nulls",
    "make_strict",
]

# Keywords each strict mode refuses (OpenAI's function-calling guide, "Supported schemas";
# Anthropic's structured outputs, "JSON Schema limitations"); dropping any of them would let the
# model send what the tool refuses, so each is a reason to refuse the function.
_UNSUPPORTED_BY_BOTH = (
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
class StrictRules:
    """What one provider's strict mode accepts.

    ``all_required``: every property must be required, so an optional one is made required and
    nullable and loses its ``default`` (OpenAI); otherwise optional properties stay optional
    (Anthropic). ``unsupported``: keywords refused wherever they appear; ``max_min_items``:
    the largest ``minItems`` accepted (``None``: any); ``recursion``: whether a ``$defs``
    entry may refer to itself.
    """

    name: str
    all_required: bool
    unsupported: tuple[str, ...]
    max_min_items: int | None = None
    recursion: bool = True


OPENAI = StrictRules(name="openai", all_required=True, unsupported=("allOf", *_UNSUPPORTED_BY_BOTH))
ANTHROPIC = StrictRules(
    name="anthropic",
    all_required=False,
    unsupported=(
        *_UNSUPPORTED_BY_BOTH,
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "maxItems",
    ),
    max_min_items=1,
    recursion=False,
)


@dataclass(frozen=True, slots=True)
class StrictResult:
    """The strict schema, or ``None`` with the reasons it cannot be made (``"path: why"``)."""

    schema: dict[str, Any] | None
    problems: tuple[str, ...]


@dataclass(slots=True)
class _Walk:
    defs: Mapping[str, Any]
    rules: StrictRules
    problems: list[str]


def make_strict(schema: Mapping[str, Any], rules: StrictRules = OPENAI) -> StrictResult:
    """``schema`` rewritten for ``rules`` (a new dict; ``schema`` is not changed)."""
    root = dict(schema)
    if root.get("type") != "object":
        return StrictResult(
            None, ("$: the arguments must be an object schema with 'type': 'object'",)
        )
    defs = root.get("$defs")
    walk = _Walk(defs if isinstance(defs, Mapping) else {}, rules, [])
    strict = _strict(root, "$", walk)
    if isinstance(defs, Mapping):
        strict["$defs"] = {
            name: _strict(sub, f"$.$defs.{name}", walk) for name, sub in defs.items()
        }
        if not rules.recursion:
            walk.problems.extend(
                f"$.$defs.{name}: a recursive schema is not supported in {rules.name} strict mode"
                for name in defs
                if _refers_to(defs, name, name, set())
            )
    return StrictResult(None if walk.problems else strict, tuple(walk.problems))


def _refers_to(defs: Mapping[str, Any], start: str, wanted: str, seen: set[str]) -> bool:
    """Whether the ``$defs`` entry ``start`` reaches ``wanted`` through its ``$ref`` s."""
    for ref in _refs(defs.get(start)):
        name = ref.removeprefix("#/$defs/")
        if name == wanted:
            return True
        if name not in seen:
            seen.add(name)
            if _refers_to(defs, name, wanted, seen):
                return True
    return False


def _refs(node: Any) -> list[str]:
    if isinstance(node, Mapping):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _strict(node: Any, path: str, walk: _Walk) -> dict[str, Any]:
    problems, rules = walk.problems, walk.rules
    if not isinstance(node, Mapping):
        problems.append(f"{path}: a schema must be an object, got {type(node).__name__}")
        return {}
    dropped = ("$defs", "default") if rules.all_required else ("$defs",)
    out = {key: value for key, value in node.items() if key not in dropped}
    for keyword in rules.unsupported:
        if keyword in node:
            problems.append(f"{path}: '{keyword}' is not supported in {rules.name} strict mode")
    least = node.get("minItems")
    if rules.max_min_items is not None and isinstance(least, int) and least > rules.max_min_items:
        problems.append(
            f"{path}: 'minItems' above {rules.max_min_items} is not supported in "
            f"{rules.name} strict mode"
        )
    ref = out.get("$ref")
    if isinstance(ref, str) and len(out) > 1:
        # Strict mode refuses siblings of $ref (a description next to it): inline the target.
        target = _resolve(ref, walk.defs)
        if target is None:
            problems.append(f"{path}: '$ref' {ref!r} does not name an entry of '$defs'")
            return out
        merged = {**target, **out}
        del merged["$ref"]
        return _strict(merged, path, walk)
    if _is_object(out):
        _strict_object(out, path, walk)
    items = out.get("items")
    if isinstance(items, Mapping):
        out["items"] = _strict(items, f"{path}[]", walk)
    for combiner in ("anyOf", "allOf"):
        variants = out.get(combiner)
        if isinstance(variants, list):
            out[combiner] = [
                _strict(variant, f"{path}.{combiner}[{i}]", walk)
                for i, variant in enumerate(variants)
            ]
    return out


def _is_object(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind)


def _strict_object(out: dict[str, Any], path: str, walk: _Walk) -> None:
    properties = out.get("properties")
    extra = out.get("additionalProperties", False)
    if extra is not False:
        walk.problems.append(
            f"{path}: an object that accepts any further keys ('additionalProperties') cannot "
            "be strict; give it fixed properties (a model or TypedDict instead of a dict)"
        )
    if not isinstance(properties, Mapping) or not properties:
        if extra is False and "additionalProperties" not in out and path != "$":
            walk.problems.append(
                f"{path}: an object without 'properties' accepts any keys and cannot be strict"
            )
        out["additionalProperties"] = False
        if path == "$":  # no arguments at all: strict mode wants the empty lists said
            out["properties"] = {}
            out["required"] = []
        return
    converted = {name: _strict(sub, f"{path}.{name}", walk) for name, sub in properties.items()}
    if walk.rules.all_required:
        required = set(out.get("required", ()))
        for name, strict in converted.items():
            if name not in required and not _accepts_null(strict, walk.defs):
                converted[name] = _nullable(strict)
        out["required"] = list(converted)
    out["properties"] = converted
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
