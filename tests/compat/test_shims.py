"""The legacy import paths (the langswarm-compat distribution) give toolware.compat.v1's objects.

A V1 project keeps its ``from langswarm... import ...`` lines until ``toolware migrate``
rewrites them; both spellings must name the very same classes, so an ``isinstance`` check or a
registry built through one path works with code written against the other.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import toolware.compat.v1 as v1

SHIMS = [
    ("langswarm.core.wrappers.middleware", "MiddlewareMixin"),
    ("langswarm.synapse.registry.tools", "ToolRegistry"),
    ("langswarm.memory.registry.rags", "RAGRegistry"),
    ("langswarm.cortex.registry.plugins", "PluginRegistry"),
]


@pytest.mark.parametrize(("path", "name"), SHIMS, ids=[path for path, _ in SHIMS])
def test_each_legacy_path_exports_the_same_object(path: str, name: str) -> None:
    """Identity, not a copy or subclass; and the shim exports exactly that one name."""
    module = importlib.import_module(path)
    assert getattr(module, name) is getattr(v1, name)
    assert module.__all__ == [name]


def test_the_shims_are_the_migrate_tools_table() -> None:
    """``toolware migrate`` rewrites exactly the names the shims provide."""
    from toolware.migrate.imports import LEGACY_MODULES

    assert {path: frozenset({name}) for path, name in SHIMS} == LEGACY_MODULES


def test_a_registry_from_the_legacy_path_serves_the_mixin_from_the_new_one() -> None:
    """A V1 tool registered through the legacy path runs through the compat mixin."""
    from langswarm.synapse.registry.tools import ToolRegistry

    class Echo:
        identifier = "echo"
        description = "Echoes its text"
        brief = "echo"
        instruction = "params: text"

        def run(self, payload: dict[str, object]) -> object:
            return payload["params"]

    class Agent(v1.MiddlewareMixin):
        name = "shim"
        timeout = 5

        def log_event(self, message: str, level: str) -> None:
            del message, level

    tools = ToolRegistry()
    tools.register_tool(Echo())
    agent = Agent(tool_registry=tools)
    assert agent.to_middleware({"echo": {"method": "say", "params": {"text": "hi"}}}) == (
        201,
        '{\n  "text": "hi"\n}',
    )


def test_importing_toolware_does_not_import_the_shims() -> None:
    """The shims are a separate distribution: toolware itself never imports langswarm."""
    code = (
        "import sys, toolware, toolware.compat.v1, toolware.migrate\n"
        "print(sorted(m for m in sys.modules if m.startswith('langswarm')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=50, check=True
    )
    assert done.stdout.strip() == "[]"
