"""A remote server's ``tools/list`` turned into registry entries, with what could not be.

Each remote tool becomes an :class:`~toolware.registry.base.Entry` named by the rule of
:mod:`._client_names` (a tool named as the server names it; ``notes.add`` the action ``add``
of the plugin ``notes``; or what ``names=`` says), with its ``inputSchema`` as
``args_schema`` (checked locally by :class:`JsonSchemaValidator`), its ``outputSchema`` as
``result_schema`` and its description.
It is idempotent when the server hints so (``readOnlyHint`` or ``idempotentHint``), so the
retry and hedging interceptors may repeat it.

Nothing is dropped silently. A local name that several remote tools would have (a name the
server lists more than once, or two names mapped to one) is *ambiguous*: it is left out of
:meth:`list`, a call to it answers ``unavailable`` naming the duplicates, and ``health()``
reports it. A tool whose name has no local form, or whose ``inputSchema`` is not valid JSON
Schema, is left out and reported in ``health()`` with the reason and the fix.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mcp_types
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

from toolware._limits import safe_name
from toolware.errors import RegistrationError
from toolware.integrations.mcp._client_names import LocalName, local_name
from toolware.integrations.mcp._client_results import wraps_result
from toolware.integrations.mcp._client_schema import JsonSchemaValidator
from toolware.registry.base import Entry, EntryDescription, EntryKey

__all__ = ["CONTEXT_PARAMETER", "Catalogue", "ToolCaller", "build_catalogue"]

CONTEXT_PARAMETER = "_toolware_request"
"""The keyword through which the router hands an entry's function the RequestContext."""

ToolCaller = Callable[[str, bool], Callable[..., Awaitable[Any]]]
"""``(remote name, wrapped) -> async function(**arguments)``: what runs a remote tool."""


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The entries one listing gave, and the tools it could not expose, with why."""

    entries: Mapping[EntryKey, Entry] = field(default_factory=dict)
    listing: tuple[EntryDescription, ...] = ()
    problems: Mapping[str, str] = field(default_factory=dict)
    ambiguous: Mapping[str, str] = field(default_factory=dict)
    """Why each ambiguous local name (``tool`` or ``plugin.action``) is refused."""


def build_catalogue(
    tools: Sequence[mcp_types.Tool],
    *,
    server: str,
    caller: ToolCaller,
    names: Mapping[str, LocalName] | None = None,
) -> Catalogue:
    mapping = names or {}
    entries: dict[EntryKey, Entry] = {}
    problems: dict[str, str] = {}
    exposed: dict[str, list[mcp_types.Tool]] = {}
    locals_: dict[str, LocalName] = {}
    for tool in tools:
        try:
            local = local_name(tool.name, mapping, server)
        except RegistrationError as error:
            problems[f"refused:{safe_name(tool.name)}"] = str(error)
            continue
        exposed.setdefault(local.qualified, []).append(tool)
        locals_[local.qualified] = local
    ambiguous = {
        qualified: _ambiguity(server, qualified, same)
        for qualified, same in exposed.items()
        if len(same) > 1
    }
    for qualified, same in exposed.items():
        if qualified in ambiguous:
            problems[f"collision:{safe_name(qualified)}"] = ambiguous[qualified]
            continue
        [tool] = same
        try:
            entry = _entry(tool, locals_[qualified], caller)
        except SchemaError as error:
            problems[f"refused:{safe_name(tool.name)}"] = (
                f"the inputSchema of {safe_name(tool.name)!r} is not valid JSON Schema "
                f"({error.message}); the tool is not exposed"
            )
            continue
        description = entry.description
        entries[(description.kind, description.name, description.action)] = entry
    listing = tuple(entry.description for entry in entries.values())
    return Catalogue(entries=entries, listing=listing, problems=problems, ambiguous=ambiguous)


def _ambiguity(server: str, qualified: str, tools: Sequence[mcp_types.Tool]) -> str:
    descriptions = ", ".join(repr(t.description or "") for t in tools)
    remote = [t.name for t in tools]
    if len(set(remote)) == 1:
        return (
            f"MCP server {server!r} lists the tool {safe_name(qualified)!r} {len(tools)} "
            f"times (descriptions {descriptions}); calls to it are refused until the server "
            "lists it once"
        )
    # Different remote names that map to one local name (a names= entry, or "a.b" and "a__b").
    return (
        f"the tools {', '.join(repr(safe_name(n)) for n in remote)} of MCP server {server!r} "
        f"would all be {safe_name(qualified)!r} (descriptions {descriptions}); calls to it are "
        "refused until McpRegistry(names=...) maps them to different local names"
    )


def _entry(tool: mcp_types.Tool, local: LocalName, caller: ToolCaller) -> Entry:
    wrapped = wraps_result(tool.output_schema)
    result_schema: Mapping[str, Any] = tool.output_schema or {}
    if wrapped:
        result_schema = (result_schema.get("properties") or {}).get("result") or {}
    hints = tool.annotations
    idempotent = hints is not None and bool(hints.read_only_hint or hints.idempotent_hint)
    description = EntryDescription(
        name=local.name,
        kind=local.kind,
        action=local.action,
        description=tool.description or tool.title or "",
        args_schema=tool.input_schema,
        result_schema=result_schema,
        tags=frozenset({"mcp"}),
        idempotent=idempotent,
    )
    return Entry(
        description=description,
        function=caller(tool.name, wrapped),
        is_async=True,
        validator=JsonSchemaValidator(tool.input_schema, local.qualified),
        context_parameter=CONTEXT_PARAMETER,
    )
