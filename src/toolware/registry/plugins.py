"""Which methods of a plugin are its actions.

Each public method of a plugin's class becomes an action named ``plugin.action``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from toolware.errors import RegistrationError
from toolware.registry._options import EntryOptions, first_line, name_of
from toolware.registry.names import check_action_name, check_name

__all__ = ["plugin_actions"]


def plugin_actions(
    obj: Any, options: EntryOptions
) -> Iterator[tuple[str, str, Callable[..., Any], EntryOptions]]:
    """``(plugin name, action, bound method, options)`` for each action of ``obj``."""
    if inspect.isclass(obj):
        try:
            instance = obj()
        except Exception as exc:
            raise RegistrationError(
                f"plugin class {obj.__name__} cannot be instantiated with no arguments "
                f"({type(exc).__name__}: {exc}); register an instance instead: "
                f"registry.plugin({obj.__name__}(...))"
            ) from exc
    else:
        instance = obj
    cls = type(instance)
    name = check_name(name_of(cls) if options.name is None else options.name, "plugin name")
    actions = [
        attribute
        for attribute, value in inspect.getmembers(cls)
        if not attribute.startswith("_") and callable(value) and not inspect.isclass(value)
    ]
    if not actions:
        raise RegistrationError(
            f"plugin {name!r} has no public methods; each public method becomes an action"
        )
    # Each action is described by its own docstring; the plugin's description (or class
    # docstring) stands in for methods that have none.
    fallback = options.description or first_line(inspect.getdoc(cls))
    for action in actions:
        check_action_name(name, action)
        method = getattr(instance, action)
        own = first_line(inspect.getdoc(method))
        yield name, action, method, msgspec.structs.replace(options, description=own or fallback)
