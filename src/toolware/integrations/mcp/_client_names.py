"""Which toolware entry a remote MCP tool name becomes.

MCP tool names may hold ``[A-Za-z0-9_.-]`` (1-128 characters); toolware names hold no dot
and at most 64 characters (what LLM function-calling APIs accept). The rule, in order:

1. ``names={"remote": "local"}`` given to ``McpRegistry`` wins: the tool is exposed as
   ``local`` (the same forms as below are accepted for it).
2. ``plugin.action`` (one dot, both parts valid names) is the action ``action`` of the plugin
   ``plugin``: toolware's own ``McpServer`` publishes plugin actions that way, so they
   round-trip and ``pipeline.invoke("notes.add")`` works.
3. ``plugin__action`` (one ``__``, both parts valid names) is the same action: the
   function-calling form (``McpServer(tool_names="function")``).
4. Any other valid name is a tool of that name.

A name none of these fit (several dots, more than 64 characters, other characters) is not
exposed: ``health()`` reports it with the ``names=`` entry that would expose it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from toolware.context import Kind
from toolware.errors import RegistrationError
from toolware.registry.names import (
    ACTION_SEPARATOR,
    MAX_NAME_LENGTH,
    qualified_name,
    shorten,
)

__all__ = ["LocalName", "check_names_option", "local_name", "suggestion"]

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class LocalName:
    """The entry a remote tool is exposed as: a tool, or a plugin's action."""

    kind: Kind
    name: str
    action: str | None = None

    @property
    def qualified(self) -> str:
        return qualified_name(self.name, self.action)


def _problem(name: str) -> str | None:
    """Why ``name`` is not a toolware name (``None`` when it is one)."""
    if not name:
        return "is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if not _NAME.fullmatch(name):
        return "contains characters other than letters, digits, '_' and '-'"
    if ACTION_SEPARATOR in name:
        return "contains '__'"
    return None


def _parse(text: str) -> LocalName | str:
    """``text`` read by rules 2-4 of the module, or why it cannot be."""
    dots = text.count(".")
    if dots > 1:
        return f"has {dots} dots (a toolware name has at most one: plugin.action)"
    if dots == 1 or (text.count(ACTION_SEPARATOR) == 1 and _NAME.fullmatch(text)):
        separator = "." if dots == 1 else ACTION_SEPARATOR
        plugin, _, action = text.partition(separator)
        for part, what in ((plugin, "a plugin"), (action, "an action")):
            problem = _problem(part)
            if problem is not None:
                return f"has {what} part {shorten(part)} that {problem}"
        exported = f"{plugin}{ACTION_SEPARATOR}{action}"
        if len(exported) > MAX_NAME_LENGTH:
            return (
                f"is exported to LLMs as {shorten(exported)}, longer than "
                f"{MAX_NAME_LENGTH} characters"
            )
        return LocalName(Kind.PLUGIN, plugin, action)
    problem = _problem(text)
    return LocalName(Kind.TOOL, text) if problem is None else problem


def suggestion(remote: str) -> str:
    """A valid tool name close to ``remote``, for the refusal's ``names=`` example."""
    fixed = _NOT_NAME.sub("_", remote[: MAX_NAME_LENGTH * 2])
    while ACTION_SEPARATOR in fixed:
        fixed = fixed.replace(ACTION_SEPARATOR, "_")
    return fixed[:MAX_NAME_LENGTH].strip("_") or "remote_tool"


def check_names_option(names: object) -> dict[str, LocalName]:
    """``McpRegistry(names=...)`` checked: remote name → the local name it is exposed as."""
    if names is None:
        return {}
    if not isinstance(names, Mapping):
        raise TypeError(
            "McpRegistry(names=...) must be a mapping of remote tool names to local names, "
            f"such as {{'get-weather.v2': 'weather'}}; got {type(names).__name__}"
        )
    checked: dict[str, LocalName] = {}
    for remote, local in names.items():
        if not isinstance(remote, str) or not isinstance(local, str):
            raise TypeError(
                "McpRegistry(names=...) maps strings to strings; got "
                f"{type(remote).__name__} -> {type(local).__name__} for {shorten(remote)}"
            )
        parsed = _parse(local)
        if isinstance(parsed, str):
            raise ValueError(
                f"McpRegistry(names=...) maps {shorten(remote)} to {shorten(local)}, which "
                f"{parsed}: a local name is a tool name or plugin.action, each part of "
                f"letters, digits, '_' and '-' (at most {MAX_NAME_LENGTH} characters, no '__'); "
                f"use e.g. {suggestion(local)!r}"
            )
        checked[remote] = parsed
    return checked


def local_name(remote: str, names: Mapping[str, LocalName], server: str) -> LocalName:
    """The entry the remote tool ``remote`` is exposed as, or :class:`RegistrationError`
    naming the ``names=`` entry that would expose it."""
    mapped = names.get(remote)
    if mapped is not None:
        return mapped
    parsed = _parse(remote)
    if isinstance(parsed, LocalName):
        return parsed
    raise RegistrationError(
        f"the tool {shorten(remote)} of MCP server {server!r} {parsed}, so it cannot be a "
        f"toolware entry; expose it under a local name with McpRegistry(..., "
        f"names={{{remote[: MAX_NAME_LENGTH * 2]!r}: {suggestion(remote)!r}}})"
    )
