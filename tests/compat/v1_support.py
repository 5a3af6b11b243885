"""V1-style handlers, registries and an agent host, shared by the compat tests."""

from __future__ import annotations

import threading
from typing import Any

from toolware.compat.v1 import MiddlewareMixin

RELEASE = threading.Event()
"""Set at the end of each test (conftest) so that blocked handlers finish."""


class Unprintable:
    """A result whose str() and repr() both raise."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class Custom:
    """A result JSON cannot hold, with a str()."""

    def __str__(self) -> str:
        return "custom value"


class BadStrError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        return "BadStrError()"


class Handler:
    """A V1 handler: ``run`` dispatches on the method; records every payload."""

    def __init__(
        self,
        identifier: str = "calc",
        *,
        description: str = "Adds numbers",
        brief: str = "adds",
        instruction: str = "Use add",
        host: Any = None,
    ) -> None:
        self.identifier = identifier
        self.description = description
        self.brief = brief
        self.instruction = instruction
        self.host = host
        self.payloads: list[dict[str, Any]] = []
        self.threads: list[str] = []

    def run(self, payload: dict[str, Any]) -> Any:
        self.payloads.append(payload)
        self.threads.append(threading.current_thread().name)
        method, params = payload["method"], payload["params"]
        if method == "echo":
            return params
        if method == "add":
            return params["a"] + params["b"]
        if method == "plain":
            return "plain"
        if method == "who":
            return self.identifier
        if method == "where":
            return self.description
        if method == "none":
            return None
        if method == "fail":
            raise ValueError("bad input")
        if method == "fail_unprintable":
            raise BadStrError
        if method == "interrupt":
            raise KeyboardInterrupt
        if method == "custom":
            return Custom()
        if method == "unprintable":
            return Unprintable()
        if method == "tuple_keys":
            return {(1, 2): "x"}
        if method == "block":
            RELEASE.wait(10)
            return "late"
        if method == "nested":
            return list(self.host.to_middleware(params["input"]))
        if method == "recurse":
            return list(
                self.host.to_middleware({self.identifier: {"method": "recurse", "params": {}}})
            )
        return f"{self.identifier} did {method}"


class PluginShelf:
    """A V1 registry object with only ``get_plugin`` (no dict to list)."""

    def __init__(self, *handlers: Handler) -> None:
        self._handlers = {h.identifier: h for h in handlers}

    def get_plugin(self, name: str) -> Handler | None:
        return self._handlers.get(name)


class BrokenToolRegistry:
    """A V1 registry object whose lookup raises."""

    def __init__(self) -> None:
        self.tools: dict[str, Any] = {}

    def get_tool(self, name: str) -> Any:
        raise RuntimeError("registry database is down")


class Agent(MiddlewareMixin):
    """A V1 host: ``name``, ``log_event``, ``timeout``."""

    def __init__(self, *, name: str = "tester", timeout: Any = 60, **options: Any) -> None:
        super().__init__(**options)
        self.name = name
        self.timeout = timeout
        self.events: list[tuple[str, str]] = []

    def log_event(self, message: str, level: str) -> None:
        self.events.append((level, message))
