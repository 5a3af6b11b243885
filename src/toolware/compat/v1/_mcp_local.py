"""A local-mode V1 MCP tool called in process: what V1's ``mcp_call`` did for ``local://``.

V1 (``langswarm.core.utils.workflows.functions.mcp_call``) took the tool object, used its
``server`` attribute instead when that was set (a tool wrapping a ``BaseMCPToolServer``), and
then called the first of these it found:

1. ``call_task(name, arguments)`` (a ``BaseMCPToolServer``): its result as it is;
2. ``run_async({"method": name, "params": arguments})``: awaited, on a private event loop;
3. ``run({"method": name, "params": arguments})``: the plain V1 handler.

A result of 2 or 3 that is not a dict became ``{"result": value, "success": True}``; this
module does the same, so V1 callers see the same values.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from toolware.compat.v1._mcp_errors import McpCallRefusedError, McpHandlerError
from toolware.compat.v1._mcp_sync import run_coroutine

__all__ = ["call_local", "tool_call"]


def call_local(tool_id: str, handler: object, name: str, arguments: dict[str, Any]) -> Any:
    """Call ``name`` on the local-mode ``handler`` in process, the way V1 did."""
    server = getattr(handler, "server", None)
    target = server if server else handler
    call_task = _method(target, "call_task")
    if call_task is not None:
        return call_task(name, arguments)
    payload = {"method": name, "params": arguments}
    run_async = _method(target, "run_async")
    if run_async is not None:
        # No timeout here: the caller's pipeline bounds the whole call (V1 had none either).
        return _as_dict(run_coroutine(lambda: run_async(payload), timeout=None))
    run = _method(target, "run")
    if run is not None:
        return _as_dict(run(payload))
    raise McpHandlerError(
        f"Tool '{tool_id}' doesn't have call_task, run, or run_async method",
        hint="give the local-mode handler a run(payload) method",
    )


def _method(target: object, name: str) -> Callable[..., Any] | None:
    found = getattr(target, name, None)
    return found if callable(found) else None


def _as_dict(value: Any) -> Any:
    if inspect.isawaitable(value):
        # run() returned a coroutine: an async handler behind a sync name; V1 would have
        # serialised the coroutine object, which nobody meant.
        return _as_dict(run_coroutine(lambda: value, timeout=None))
    return value if isinstance(value, dict) else {"result": value, "success": True}


def tool_call(payload: object) -> tuple[str, dict[str, Any]]:
    """``(name, arguments)`` of a V1 MCP payload ``{"name": ..., "arguments": ...}``; missing or
    ``None`` arguments are ``{}``."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("name"), str):
        raise McpCallRefusedError(
            "An MCP payload must be a dict with a str 'name' and a dict 'arguments'",
            hint='send {"name": method, "arguments": params}',
        )
    arguments = payload.get("arguments")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        raise McpCallRefusedError(
            f"MCP 'arguments' must be a dict, not {type(arguments).__name__}",
            hint='send {"name": method, "arguments": params}',
        )
    return payload["name"], dict(arguments)
