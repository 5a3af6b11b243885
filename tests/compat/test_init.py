"""The public surface of toolware.compat.v1."""

from __future__ import annotations

import subprocess
import sys

import pytest

import toolware.compat.v1 as v1
from tests.compat.v1_support import Agent


def test_all_is_pinned() -> None:
    """What the package exports, exactly."""
    assert v1.__all__ == [
        "IntentResolver",
        "McpCalls",
        "MiddlewareMixin",
        "NativeHandler",
        "PluginRegistry",
        "RAGRegistry",
        "ToolRegistry",
        "Transport",
        "V1Source",
    ]
    for name in v1.__all__:
        assert getattr(v1, name) is not None


def test_importing_it_costs_no_optional_dependency() -> None:
    """Neither `import toolware` nor the V1 layer imports the MCP SDK or an HTTP client."""
    code = (
        "import sys, toolware\n"
        "assert 'toolware.compat.v1' not in sys.modules\n"
        "import toolware.compat.v1\n"
        "loaded = sorted(m for m in ('mcp', 'httpx', 'anyio') if m in sys.modules)\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=50, check=True
    )
    assert result.stdout == "[]\n"


def test_the_adapter_prints_nothing(agent: Agent, capsys: pytest.CaptureFixture[str]) -> None:
    """V1 printed debug output; the adapter prints nothing, on any path."""
    agent.to_middleware(
        {"calc": {"method": "echo", "params": {"a": 1}}, "ghost": {"method": "x", "params": {}}}
    )
    agent.to_middleware({"calc": {"method": "fail", "params": {}}})
    agent.to_middleware({"mcp": {"tool": "nope", "method": "x"}})
    agent.to_middleware("text")
    assert capsys.readouterr() == ("", "")
