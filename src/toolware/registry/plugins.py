"""Which methods of a plugin are its actions.

The rule, applied to the plugin's class:

* **Its own methods.** A public (no leading ``_``) function, ``staticmethod`` or
  ``classmethod`` defined in the class body is an action. Methods a base class defines are
  not, unless ``inherited=True`` (a mixin or an ORM base would otherwise expose everything it
  has); even then ``object``'s, builtin types' and ``pydantic.BaseModel``'s methods never are.
* **Never:** properties, nested classes, other attributes (even callable ones: a client
  object stored on the class is a dependency, not an action), and for a ``pydantic.BaseModel``
  plugin its fields and every name of the ``BaseModel`` API (``model_dump``...).
* ``include=[...]`` names the actions exactly (any public method of the class, inherited ones
  too: an explicit choice); ``exclude=[...]`` drops some of the default ones. A name that is
  not available is refused with the list of what is.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec
import pydantic

from toolware.context import Kind
from toolware.errors import RegistrationError
from toolware.registry._options import EntryOptions, name_of
from toolware.registry.docstrings import summary
from toolware.registry.names import check_action_name, check_name

__all__ = ["PluginOptions", "action_names", "plugin_actions", "plugin_options"]

# Names the pydantic model API defines: never actions, even if a plugin model overrides one.
_MODEL_API = frozenset(dir(pydantic.BaseModel))
_NEVER_BASES = frozenset({object, *pydantic.BaseModel.__mro__})


class PluginOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Which methods become actions: see the module docstring."""

    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    inherited: bool = False

    @classmethod
    def of(
        cls, include: Iterable[str] | None, exclude: Iterable[str], inherited: bool
    ) -> PluginOptions:
        """Validated options from what a caller passed."""
        for option, value in (("include", include), ("exclude", exclude)):
            if isinstance(value, str) or (
                value is not None and not all(isinstance(v, str) for v in value)
            ):
                raise RegistrationError(
                    f"{option} takes a list of method names, e.g. {option}=['add'], got {value!r}"
                )
        if include is not None and exclude:
            raise RegistrationError("pass include= or exclude=, not both")
        if not isinstance(inherited, bool):
            raise RegistrationError(f"inherited must be True or False, got {inherited!r}")
        return cls(
            include=None if include is None else tuple(include),
            exclude=tuple(exclude),
            inherited=inherited,
        )


def _is_action(cls: type, attribute: str, value: Any) -> bool:
    if attribute.startswith("_"):
        return False
    if issubclass(cls, pydantic.BaseModel) and attribute in _MODEL_API:
        return False
    if isinstance(value, staticmethod | classmethod):
        value = value.__func__  # staticmethod(len) wraps a builtin: not something authored
    return inspect.isfunction(value)


def action_names(cls: type, options: PluginOptions) -> list[str]:
    """The action names of ``cls`` under ``options``, sorted; refuses unknown names."""
    own = {a for a, value in vars(cls).items() if _is_action(cls, a, value)}
    available = set(own)
    for base in cls.__mro__[1:]:
        if base in _NEVER_BASES or base.__module__ == "builtins":
            continue
        available |= {a for a, value in vars(base).items() if _is_action(base, a, value)}
    default = available if options.inherited else own
    if options.include is not None:
        _refuse_unknown(cls, "include", options.include, available)
        return list(dict.fromkeys(options.include))
    _refuse_unknown(cls, "exclude", options.exclude, default)
    return sorted(default - set(options.exclude))


def _refuse_unknown(cls: type, option: str, names: tuple[str, ...], available: set[str]) -> None:
    unknown = [name for name in names if name not in available]
    if unknown:
        raise RegistrationError(
            f"{option}= names {', '.join(map(repr, unknown))}, which plugin class "
            f"{cls.__name__} does not have as a public method; available: "
            f"{', '.join(sorted(available)) or '(none)'}"
        )


def plugin_actions(
    obj: Any, options: EntryOptions, plugin: PluginOptions
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
    actions = action_names(cls, plugin)
    if not actions:
        raise RegistrationError(
            f"plugin {name!r} has no public methods of its own; each public method defined in "
            "the class becomes an action (inherited=True adds its bases' methods)"
        )
    # Each action is described by its own docstring; the plugin's description (or class
    # docstring) stands in for methods that have none.
    fallback = options.description or summary(inspect.getdoc(cls))
    for action in actions:
        check_action_name(name, action)
        method = getattr(instance, action)
        own = summary(inspect.getdoc(method))
        yield name, action, method, msgspec.structs.replace(options, description=own or fallback)


def plugin_options(
    kind: Kind, include: Iterable[str] | None, exclude: Iterable[str], inherited: bool
) -> PluginOptions:
    """Validated plugin options; refused for other kinds, where they would be ignored."""
    if kind is not Kind.PLUGIN and (include is not None or exclude or inherited is not False):
        raise RegistrationError(
            f"include=, exclude= and inherited= choose a plugin's actions; a {kind.value} has "
            "none, so leave them out"
        )
    return PluginOptions.of(include, exclude, inherited)
