"""Each integration's library is an optional extra: the core never imports one."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
THIRD_PARTY = ("mcp", "mcp_types", "fastmcp", "openai", "anthropic", "langchain_core")
THIRD_PARTY_MORE = ("langgraph", "llama_index", "libcst", "httpx", "starlette", "uvicorn")


def test_import_toolware_and_the_v1_layer_load_no_integration_library() -> None:
    """`import toolware`, the default pipeline and `toolware.compat.v1` import none of the
    integrations' libraries (the V1 layer loads the MCP SDK on its first remote call)."""
    code = (
        "import sys, toolware, toolware.defaults, toolware.compat.v1\n"
        f"roots = {THIRD_PARTY + THIRD_PARTY_MORE!r}\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & set(roots))\n"
        "print(','.join(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pytest.mark.parametrize(
    ("extra", "requirement"),
    [
        ("openai", "openai"),
        ("anthropic", "anthropic"),
        ("mcp", "mcp"),
        ("langchain", "langchain-core"),
        ("llamaindex", "llama-index-core"),
        ("migrate", "libcst"),
    ],
)
def test_each_library_is_an_extra_never_a_core_dependency(extra: str, requirement: str) -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert not any(d.startswith(requirement) for d in project["dependencies"])
    assert [d.split(">=")[0] for d in project["optional-dependencies"][extra]] == [requirement]
