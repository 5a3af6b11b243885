"""Turning command-line input into a registry, a target and call arguments.

Everything here raises :class:`UsageError` for input the user must fix; ``main`` prints it and
exits with status 2, like argparse does for its own errors.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from toolware.context import Kind
from toolware.errors import RegistrationError
from toolware.pipeline import Pipeline
from toolware.registry.base import Registry
from toolware.registry.local import import_object

__all__ = [
    "DEFAULT_APP",
    "load_pipeline",
    "Target",
    "UsageError",
    "load_registry",
    "merge_arguments",
    "parse_target",
    "text_parameters",
]

DEFAULT_APP = "toolware.demo:demo_registry"


class UsageError(Exception):
    """Bad command-line input; the message says what to change."""


class Target(NamedTuple):
    """What ``toolware call`` invokes."""

    name: str
    kind: Kind
    action: str | None


def load_registry(spec: str) -> Registry:
    """Import ``module:attribute``: a registry, or a function taking no arguments that returns
    one (a factory, so that importing the module builds nothing: the demo's is one).

    The current directory is importable, so ``--app myapp:registry`` works from a project root.
    """
    obj = _import_app(spec)
    expected = (
        "expected a Registry (an object with resolve(), list(), revision and health(), "
        "such as a LocalRegistry)"
    )
    if inspect.isclass(obj):
        raise UsageError(f"--app {spec!r} is the class {obj.__name__}, not an instance; {expected}")
    if isinstance(obj, Pipeline):
        raise UsageError(
            f"--app {spec!r} is a Pipeline, {expected}; toolware builds "
            "default_pipeline(registry) itself, so point --app at the registry your pipeline "
            "routes to"
        )
    if isinstance(obj, Registry):
        return obj
    if callable(obj):
        return _from_factory(spec, obj, expected)
    raise UsageError(f"--app {spec!r} is of type {type(obj).__name__}, {expected}")


def _from_factory(spec: str, factory: Any, expected: str) -> Registry:
    try:
        obj = factory()
    except Exception as exc:
        raise UsageError(
            f"--app {spec!r} is a callable, called with no arguments to get the registry; "
            f"it raised {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(obj, Registry):
        raise UsageError(f"--app {spec!r}() returned {type(obj).__name__}, {expected}")
    return obj


def parse_target(
    target: str, *, kind: str | None, action: str | None, registry: Registry
) -> Target:
    """``name`` or ``name.action``, with the kind inferred from the registry when not given.

    A dotted TARGET is first looked up whole, since composite registries namespace names
    with dots (``search.lookup``); otherwise its last dot separates a plugin's action.
    """
    name = target
    if action is None and kind in (None, Kind.PLUGIN.value) and "." in target:
        whole = sorted({d.kind for d in registry.list() if d.name == target and not d.action})
        if kind is None and len(whole) == 1:
            return Target(target, whole[0], None)
        if kind is None and len(whole) > 1:
            raise UsageError(
                f"{target!r} exists as several kinds ({', '.join(whole)}); choose one with --kind"
            )
        name, _, action = target.rpartition(".")
        if not name or not action:
            raise UsageError(f"TARGET {target!r} must be 'name' or 'plugin.action'")
    elif action is not None and "." in target and kind in (None, Kind.PLUGIN.value):
        raise UsageError(
            f"the action is given twice: TARGET {target!r} and --action {action!r}; use one"
        )
    if kind is not None:
        return Target(name, Kind(kind), action)
    if action is not None:
        return Target(name, Kind.PLUGIN, action)
    kinds = sorted({d.kind for d in registry.list() if d.name == name})
    if len(kinds) > 1:
        raise UsageError(
            f"{name!r} exists as several kinds ({', '.join(kinds)}); choose one with --kind"
        )
    return Target(name, kinds[0] if kinds else Kind.TOOL, None)


def text_parameters(registry: Registry, target: Target) -> frozenset[str]:
    """The parameters of ``target`` whose schema takes only text (``str``, a ``Literal`` of
    strings, ``str | None``): ``--arg`` gives them the raw text, so ``text=2024`` stays a string.

    Empty when the registry has no such entry: the pipeline will answer ``not_found``.
    """
    for description in registry.list():
        if (description.name, description.kind, description.action) == target:
            properties = description.args_schema.get("properties") or {}
            return frozenset(name for name, spec in properties.items() if _is_text(spec))
    return frozenset()


def _is_text(spec: Any) -> bool:
    if not isinstance(spec, Mapping):
        return False
    if "anyOf" in spec:
        options = spec["anyOf"]
        kinds = [_is_text(option) or _is_null(option) for option in options]
        return all(kinds) and any(_is_text(option) for option in options)
    if "enum" in spec:
        return all(isinstance(value, str) for value in spec["enum"])
    return bool(spec.get("type") == "string")


def _is_null(spec: Any) -> bool:
    return isinstance(spec, Mapping) and spec.get("type") == "null"


def parse_pair(pair: str, text_keys: frozenset[str] = frozenset()) -> tuple[str, Any]:
    """``key=value``: the text itself for a key in ``text_keys``; otherwise JSON when it parses
    as JSON, else the text."""
    key, separator, text = pair.partition("=")
    key = key.strip()
    if not separator or not key:
        raise UsageError(f"--arg {pair!r} must look like key=value, e.g. --arg k=5 or --arg q=text")
    if key in text_keys:
        return key, text
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    return key, value


def merge_arguments(
    pairs: Iterable[str], json_text: str | None, *, text_keys: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The call's arguments from ``--json`` and every ``--arg``; a key given twice is refused.

    ``--arg`` values for ``text_keys`` (see :func:`text_parameters`) are kept as text.
    """
    arguments: dict[str, Any] = {}
    if json_text is not None:
        try:
            loaded = json.loads(json_text)
        except ValueError as exc:
            raise UsageError(f"--json is not valid JSON: {exc}") from None
        if not isinstance(loaded, Mapping):
            raise UsageError(f"--json must be a JSON object, got {type(loaded).__name__}")
        arguments.update(loaded)
    for pair in pairs:
        key, value = parse_pair(pair, text_keys)
        if key in arguments:
            raise UsageError(f"the argument {key!r} is given twice (in --arg or --json)")
        arguments[key] = value
    return arguments


def load_pipeline(spec: str) -> Pipeline:
    """Import ``module:attribute`` for the commands that work on a built pipeline (``profile``,
    ``inspect``, ``debug``): a :class:`Pipeline`, a function of no arguments returning one, or
    a registry (then ``default_pipeline(registry)``, as ``toolware call`` uses)."""
    obj = _import_app(spec)
    expected = "expected a Pipeline, a function of no arguments returning one, or a Registry"
    if not isinstance(obj, Pipeline | Registry) and callable(obj) and not inspect.isclass(obj):
        try:
            obj = obj()
        except Exception as exc:
            raise UsageError(
                f"--app {spec!r} is a callable, called with no arguments to get the pipeline; "
                f"it raised {type(exc).__name__}: {exc}"
            ) from None
    if isinstance(obj, Pipeline):
        return obj
    if isinstance(obj, Registry):
        from toolware.defaults import default_pipeline  # the defaults import the interceptors

        return default_pipeline(obj)
    raise UsageError(f"--app {spec!r} is of type {type(obj).__name__}; {expected}")


def _import_app(spec: str) -> Any:
    """The object ``--app module:attribute`` names, or a UsageError saying what is wrong.
    The current directory is importable, so ``--app myapp:registry`` works from a project root."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module, _, attribute = spec.partition(":")
    try:
        return import_object(spec)
    except RegistrationError:
        raise UsageError(
            f"--app {spec!r} must look like 'package.module:attribute', e.g. {DEFAULT_APP!r}"
        ) from None
    except ModuleNotFoundError as exc:
        raise UsageError(f"--app {spec!r}: cannot import {module!r}: {exc}") from None
    except AttributeError:
        raise UsageError(
            f"--app {spec!r}: module {module!r} has no attribute {attribute!r}"
        ) from None
    except Exception as exc:
        raise UsageError(
            f"--app {spec!r}: importing it raised {type(exc).__name__}: {exc}"
        ) from None
