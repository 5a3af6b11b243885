"""Entry names: the rule they follow, the canonical ``plugin.action`` form, and the
function-calling form LLM APIs accept.

* A name (tool, plugin, retriever, plugin action) matches ``^[A-Za-z0-9_-]{1,64}$``: what the
  OpenAI and Anthropic function-calling APIs accept for a function name. Names are checked at
  registration, so an entry that an agent cannot call is refused there, not at the first call.
* The canonical, addressable name of a plugin action is ``plugin.action`` (``notes.add``): the
  CLI, ``invoke()``, ``when=`` and messages all use it (:func:`qualified_name`,
  :func:`split_qualified`).
* LLM APIs forbid dots, so function-calling exports write it ``notes__add``
  (:func:`function_name`, and :func:`parse_function_name` back). Names containing ``__`` are
  refused, for every kind, so that mapping is reversible: a tool named ``notes__add`` would
  otherwise be indistinguishable from the action ``add`` of the plugin ``notes``.

Composite registries may expose namespaced names (``search.lookup``); those contain the
namespace separator and are not names a :class:`LocalRegistry` accepts.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from toolware.errors import RegistrationError

if TYPE_CHECKING:
    from toolware.registry.base import EntryDescription

__all__ = [
    "ACTION_SEPARATOR",
    "MAX_NAME_LENGTH",
    "check_action_name",
    "check_name",
    "function_name",
    "parse_function_name",
    "qualified_name",
    "shorten",
    "split_qualified",
]

MAX_NAME_LENGTH = 64
ACTION_SEPARATOR = "__"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BAD_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]+")


def qualified_name(name: str, action: str | None) -> str:
    """The canonical name: ``name``, or ``name.action`` for a plugin action."""
    return name if action is None else f"{name}.{action}"


def split_qualified(name: str) -> tuple[str, str | None]:
    """``"notes.add"`` → ``("notes", "add")``; ``"calculator"`` → ``("calculator", None)``.

    Splits at the last dot: entry names registered locally contain none, so this is exact for
    them. A composite's namespaced names (``search.lookup``) are ambiguous without the registry.
    """
    base, dot, action = name.rpartition(".")
    return (base, action) if dot and base and action else (name, None)


def function_name(description: EntryDescription) -> str:
    """The name to publish in a function-calling schema: ``notes__add`` for ``notes.add``."""
    return description.qualified_name.replace(".", ACTION_SEPARATOR)


def parse_function_name(name: str) -> tuple[str, str | None]:
    """The ``(name, action)`` a function-calling name stands for: ``notes__add`` →
    ``("notes", "add")``; ``calculator`` → ``("calculator", None)``."""
    return split_qualified(name.replace(ACTION_SEPARATOR, "."))


def shorten(name: object, limit: int = 40) -> str:
    """``name`` for a message: ``repr``, cut to ``limit`` characters with its length.

    Names come from callers (an agent may invent a 16 MB one); a message must stay small.
    """
    text = name if isinstance(name, str) else repr(name)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"


def check_name(name: object, what: str) -> str:
    """Return ``name`` if agents can call it, else raise :class:`RegistrationError` saying
    what is allowed and what to pass instead. ``what`` names the thing ("tool name")."""
    if not isinstance(name, str):
        raise RegistrationError(f"{what} must be a string, got {type(name).__name__}")
    if _NAME.fullmatch(name) and ACTION_SEPARATOR not in name:
        return name
    if ACTION_SEPARATOR in name and _NAME.fullmatch(name):
        reason = "contains '__', which function-calling names use between plugin and action"
    elif len(name) > MAX_NAME_LENGTH:
        reason = f"is longer than {MAX_NAME_LENGTH} characters"
    else:
        reason = "contains characters LLM APIs refuse" if name else "is empty"
    return _refuse(name, what, reason)


def _refuse(name: str, what: str, reason: str) -> str:
    raise RegistrationError(
        f"{what} {shorten(name)} {reason}: names may use letters, digits, '_' and '-' "
        f"(at most {MAX_NAME_LENGTH} characters, no '__'), as LLM function-calling APIs "
        f"require; register it with name={_fixed(name)!r}"
    )


def _fixed(name: str) -> str:
    """A name close to ``name`` that follows the rule, for the error's suggestion."""
    fixed = _BAD_CHARACTERS.sub("_", name[: MAX_NAME_LENGTH * 4])
    while ACTION_SEPARATOR in fixed:
        fixed = fixed.replace(ACTION_SEPARATOR, "_")
    fixed = fixed[:MAX_NAME_LENGTH].strip("_")
    return fixed or "my_tool"


def check_action_name(plugin: str, action: str) -> None:
    """An action's name follows the rule, and ``plugin__action`` fits in 64 characters."""
    check_name(action, f"action name of plugin {plugin!r}")
    exported = f"{plugin}{ACTION_SEPARATOR}{action}"
    if len(exported) > MAX_NAME_LENGTH:
        raise RegistrationError(
            f"plugin action {plugin}.{action} is exported to LLMs as {exported!r}, which is "
            f"{len(exported)} characters (at most {MAX_NAME_LENGTH}); register the plugin with "
            f"a shorter name=, e.g. name={plugin[: max(1, MAX_NAME_LENGTH - 2 - len(action))]!r}"
        )
