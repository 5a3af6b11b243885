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
    "Target",
    "UsageError",
    "load_registry",
    "merge_arguments",
    "parse_target",
]

DEFAULT_APP = "toolware.demo:registry"


class UsageError(Exception):
    """Bad command-line input; the message says what to change."""


class Target(NamedTuple):
    """What ``toolware call`` invokes."""

    name: str
    kind: Kind
    action: str | None


def load_registry(spec: str) -> Registry:
    """Import ``module:attribute`` and check that it is a registry.

    The current directory is importable, so ``--app myapp:registry`` works from a project root.
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module, _, attribute = spec.partition(":")
    try:
        obj = import_object(spec)
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
    if not isinstance(obj, Registry):
        raise UsageError(f"--app {spec!r} is of type {type(obj).__name__}, {expected}")
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


def parse_pair(pair: str) -> tuple[str, Any]:
    """``key=value``: the value is JSON when it parses as JSON, else the string itself."""
    key, separator, text = pair.partition("=")
    if not separator or not key.strip():
        raise UsageError(f"--arg {pair!r} must look like key=value, e.g. --arg k=5 or --arg q=text")
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    return key.strip(), value


def merge_arguments(pairs: Iterable[str], json_text: str | None) -> dict[str, Any]:
    """The call's arguments from ``--json`` and every ``--arg``; a key given twice is refused."""
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
        key, value = parse_pair(pair)
        if key in arguments:
            raise UsageError(f"the argument {key!r} is given twice (in --arg or --json)")
        arguments[key] = value
    return arguments
