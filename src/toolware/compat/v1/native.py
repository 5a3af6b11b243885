"""Native toolware entries handed to V1 code: :class:`NativeHandler`.

V1 code expects handler objects (``identifier``, ``description``, ``brief``, ``instruction``
and a synchronous ``run({"method": m, "params": p})``). A :class:`NativeHandler` is one, whose
``run`` calls a native entry through a pipeline, so a native plugin or tool can be registered
in a V1 registry (``tool_registry.register_tool(NativeHandler(pipeline, "notes"))``)::

    handler = NativeHandler(pipeline, "notes")          # a plugin: the method is the action
    handler.run({"method": "add", "params": {"text": "hi"}})   # pipeline.invoke("notes.add", ...)

For a plugin the V1 method is the action. A tool or retriever has one operation: call it with
the method ``"run"`` (or its own name); any other method is refused with ``ValueError``, so a
method is never silently ignored. Descriptions come from the pipeline's registry when it routes
to one (a :class:`~toolware.router.Router`); pass them to override. ``run`` is synchronous and
works from any thread and from inside a running event loop (:mod:`._bridge`); a failed call
raises its :class:`~toolware.errors.ToolwareError`, which the V1 mixin reports as the action's
error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolware.context import Kind
from toolware.errors import CallTimeoutError
from toolware.pipeline import Pipeline
from toolware.registry.base import EntryDescription

from ._bridge import BridgeTimeout, bridge

__all__ = ["NativeHandler"]

_GRACE = 1.0  # seconds past the call's own timeout before the caller stops waiting


class NativeHandler:
    """A V1 handler object running a native entry through ``pipeline``."""

    def __init__(
        self,
        pipeline: Pipeline,
        target: str,
        *,
        kind: Kind | None = None,
        identifier: str | None = None,
        description: str | None = None,
        brief: str | None = None,
        instruction: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if not isinstance(pipeline, Pipeline):
            raise TypeError(
                f"NativeHandler takes a toolware Pipeline, got {type(pipeline).__name__}"
            )
        if not isinstance(target, str) or not target:
            raise ValueError(f"target must be a non-empty entry name, got {target!r}")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
        ):
            raise ValueError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
        listed = _listed(pipeline, target)
        actions = sorted(d.action for d in listed if d.action is not None)
        if kind is None:
            kind = Kind.PLUGIN if actions else (listed[0].kind if listed else Kind.TOOL)
        self.pipeline = pipeline
        self.target = target
        self.kind = kind
        self.timeout = timeout
        self.actions = tuple(actions)
        self.identifier = target if identifier is None else identifier
        found = next((d.description for d in listed if d.description), "")
        self.description = found if description is None else description
        self.brief = self.description.split("\n", 1)[0] if brief is None else brief
        if instruction is None:
            if kind is Kind.PLUGIN:
                instruction = "Methods: " + ", ".join(actions) if actions else ""
            else:
                instruction = "Call with method 'run'."
        self.instruction = instruction

    def run(self, payload: Mapping[str, Any]) -> Any:
        """``payload = {"method": m, "params": p}``: the entry's value, or raise its error."""
        if not isinstance(payload, Mapping):
            raise ValueError(
                "payload must be {'method': ..., 'params': {...}}, got "
                f"{type(payload).__name__}"
            )
        method = payload.get("method")
        params = payload.get("params", {})
        if not isinstance(method, str) or not method:
            raise ValueError(f"payload 'method' must be a non-empty string, got {method!r}")
        if not isinstance(params, Mapping):
            raise ValueError(f"payload 'params' must be an object, got {type(params).__name__}")
        action: str | None = method
        if self.kind is not Kind.PLUGIN:
            if method not in ("run", self.target):
                raise ValueError(
                    f"{self.kind.value} {self.target!r} has one operation: call it with method "
                    f"'run', got {method!r}"
                )
            action = None
        pipeline, target, kind, timeout = self.pipeline, self.target, self.kind, self.timeout
        wait = None if timeout is None else timeout + _GRACE
        try:
            response = bridge.run(
                lambda: pipeline.invoke(target, params, kind=kind, action=action, timeout=timeout),
                wait,
            )
        except BridgeTimeout:
            # A pipeline without a timeout stage did not answer: the caller stopped waiting
            # (only with a timeout); V1 code gets the toolware error, not the bridge's own.
            name = target if action is None else f"{target}.{action}"
            raise CallTimeoutError(
                f"{name!r} did not answer within {timeout:g} s", limit=float(timeout or 0)
            ) from None
        return response.unwrap()

    def __repr__(self) -> str:
        return f"NativeHandler({self.target!r}, kind={self.kind.value})"


def _listed(pipeline: Pipeline, target: str) -> list[EntryDescription]:
    registry = getattr(pipeline.terminal, "registry", None)
    list_entries = getattr(registry, "list", None)
    if not callable(list_entries):
        return []
    return [d for d in list_entries() if d.name == target]
