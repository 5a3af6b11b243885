"""Tests for toolware.cli.inspect: the inspect command in its three formats."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import toolware.cli.main
from toolware.cli.main import main

SMALL = """
import toolware
from toolware.interceptors.timeout import TimeoutInterceptor

registry = toolware.LocalRegistry("tiny")


@registry.tool(idempotent=True)
def ping() -> str:
    return "pong"


def build() -> toolware.Pipeline:
    return (
        toolware.PipelineBuilder(name='say "x"')
        .use(TimeoutInterceptor(timeout=1.5), name="timeout")
        .route(registry)
        .build()
    )
"""


@pytest.fixture(autouse=True)
def command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the inspect command, as the integrator will in COMMAND_MODULES."""
    monkeypatch.setattr(toolware.cli.main, "COMMAND_MODULES", ("toolware.cli.inspect",))


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module with a factory returning a one-stage pipeline; its name."""
    (tmp_path / "inspect_tiny_app.py").write_text(textwrap.dedent(SMALL))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "inspect_tiny_app", raising=False)
    return "inspect_tiny_app"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["inspect", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_text_is_the_default(tiny: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --format, the tree; the factory is called to get the pipeline."""
    assert run(capsys, "--app", f"{tiny}:build") == (
        0,
        "pipeline 'say \"x\"'\n"
        "├── timeout: TimeoutInterceptor\n"
        "│       timeout=1.5\n"
        "└── router → tiny\n"
        "    └── tool\n"
        "        └── ping (idempotent)\n",
        "",
    )


def test_mermaid(tiny: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--format mermaid prints the flowchart, quotes escaped."""
    code, out, err = run(capsys, "--app", f"{tiny}:build", "--format", "mermaid")
    assert (code, err) == (0, "")
    assert out.splitlines()[:3] == [
        "flowchart TD",
        '    call(["call say #quot;x#quot;"])',
        '    s0["timeout: TimeoutInterceptor<br/>timeout=1.5"]',
    ]
    assert out.endswith("    terminal --> k0\n")


def test_dot(tiny: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--format dot prints the digraph, quotes escaped."""
    code, out, _ = run(capsys, "--app", f"{tiny}:build", "--format", "dot")
    assert code == 0
    assert out.startswith('digraph "say \\"x\\"" {\n')
    assert out.endswith("}\n")


def test_a_registry_gets_the_default_pipeline(
    tiny: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--app naming a registry shows default_pipeline over it."""
    code, out, _ = run(capsys, "--app", f"{tiny}:registry")
    assert code == 0
    assert out.splitlines()[:4] == [
        "pipeline 'default'",
        "├── stats: StatsInterceptor",
        "├── timeout: TimeoutInterceptor",
        "│       timeout=30.0",
    ]


def test_the_default_app_is_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --app, the demo registry's default pipeline."""
    code, out, _ = run(capsys)
    assert code == 0
    assert "└── router → demo\n" in out


def test_a_bad_format_and_a_bad_app_are_usage_errors(
    tiny: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 with argparse's message, or the loader's."""
    code, _, err = run(capsys, "--app", f"{tiny}:build", "--format", "svg")
    assert code == 2
    assert "invalid choice: 'svg'" in err
    code, _, err = run(capsys, "--app", f"{tiny}:missing")
    assert code == 2
    assert "has no attribute 'missing'" in err
