"""The README's example runs and prints what it says it prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The first python block of the README runs and its comments tell the truth."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "README has no python example"
    example = blocks[0]
    assert len(example.strip().splitlines()) <= 25
    exec(compile(example, str(README), "exec"), {"__name__": "readme"})
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["['tea #0', 'tea #1']", "invalid_request ['k']"]


def test_readme_quick_start_is_two_commands() -> None:
    """The quick start is exactly `make demo` and `make test`."""
    text = README.read_text()
    section = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in section.strip().splitlines()]
    assert commands == ["make demo", "make test"]


def test_readme_says_how_to_install_the_cli() -> None:
    """The README names the extra that brings the command line and the demo."""
    assert "pip install 'toolware[cli]'" in README.read_text()
