"""A remote server's ``tools/list`` turned into registry entries, with what could not be.

Each remote tool becomes an :class:`~toolware.registry.base.Entry` of kind ``tool`` named as
the server names it, with its ``inputSchema`` as ``args_schema`` (checked locally by
:class:`JsonSchemaValidator`), its ``outputSchema`` as ``result_schema`` and its description.
It is idempotent when the server hints so (``readOnlyHint`` or ``idempotentHint``), so the
retry and hedging interceptors may repeat it.

Nothing is dropped silently. A name the server lists more than once is *ambiguous*: it is
left out of :meth:`list`, a call to it answers ``unavailable`` naming the duplicates, and
``health()`` reports it. A tool whose name LLM APIs refuse, or whose ``inputSchema`` is not
valid JSON Schema, is left out and reported in ``health()`` with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mcp_types
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

from toolware._limits import safe_name
from toolware.context import Kind
from toolware.errors import RegistrationError
from toolware.integrations.mcp._client_results import wraps_result
from toolware.integrations.mcp._client_schema import JsonSchemaValidator
from toolware.registry.base import Entry, EntryDescription, EntryKey
from toolware.registry.names import check_name

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


def build_catalogue(
    tools: Sequence[mcp_types.Tool], *, server: str, caller: ToolCaller
) -> Catalogue:
    counts = Counter(tool.name for tool in tools)
    entries: dict[EntryKey, Entry] = {}
    problems: dict[str, str] = {}
    ambiguous: dict[str, str] = {}
    for tool in tools:
        name = tool.name
        if counts[name] > 1:
            if name not in ambiguous:
                descriptions = [repr(t.description or "") for t in tools if t.name == name]
                message = (
                    f"MCP server {server!r} lists the tool {safe_name(name)!r} {counts[name]} "
                    f"times (descriptions {', '.join(descriptions)}); calls to it are refused "
                    "until the server lists it once"
                )
                ambiguous[name] = message
                problems[f"collision:{safe_name(name)}"] = message
            continue
        try:
            entries[(Kind.TOOL, name, None)] = _entry(tool, server, caller)
        except RegistrationError as error:
            problems[f"refused:{safe_name(name)}"] = str(error)
        except SchemaError as error:
            problems[f"refused:{safe_name(name)}"] = (
                f"the inputSchema of {safe_name(name)!r} is not valid JSON Schema "
                f"({error.message}); the tool is not exposed"
            )
    listing = tuple(entry.description for entry in entries.values())
    return Catalogue(entries=entries, listing=listing, problems=problems, ambiguous=ambiguous)


def _entry(tool: mcp_types.Tool, server: str, caller: ToolCaller) -> Entry:
    name = check_name(tool.name, f"the tool name from MCP server {server!r}")
    wrapped = wraps_result(tool.output_schema)
    result_schema: Mapping[str, Any] = tool.output_schema or {}
    if wrapped:
        result_schema = (result_schema.get("properties") or {}).get("result") or {}
    hints = tool.annotations
    idempotent = hints is not None and bool(hints.read_only_hint or hints.idempotent_hint)
    description = EntryDescription(
        name=name,
        kind=Kind.TOOL,
        description=tool.description or tool.title or "",
        args_schema=tool.input_schema,
        result_schema=result_schema,
        tags=frozenset({"mcp"}),
        idempotent=idempotent,
    )
    return Entry(
        description=description,
        function=caller(name, wrapped),
        is_async=True,
        validator=JsonSchemaValidator(tool.input_schema, name),
        context_parameter=CONTEXT_PARAMETER,
    )
