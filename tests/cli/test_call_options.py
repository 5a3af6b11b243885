"""Tests for toolware.cli.main's call options: text arguments, --strict, hints, factories,
and a process that ends on time after a timeout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from toolware.cli.main import main


def _call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["call", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_string_parameter_keeps_the_text(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--arg text=2024 to a str parameter is the string "2024"; times=2 still parses as JSON."""
    code, out, err = _call(
        capsys, "shout", "--app", f"{app}:registry", "--arg", "text=2024", "--arg", "times=2"
    )
    assert (code, json.loads(out), err) == (0, "20242024", "")


def test_factory_app(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--app may name a zero-argument function returning the registry."""
    code, out, _ = _call(capsys, "shout", "--app", f"{app}:make_registry", "--arg", "text=a")
    assert (code, json.loads(out)) == (0, "A")


@pytest.mark.parametrize(("strict", "code"), [(False, 0), (True, 1)])
def test_strict_refuses_conversions(
    app: str, strict: bool, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """--strict turns on strict validation: "2" is no longer accepted for an int."""
    argv = ["shout", "--app", f"{app}:registry", "--json", '{"text": "a", "times": "2"}']
    result = _call(capsys, *argv, *(["--strict"] if strict else []))
    assert result[0] == code
    if strict:
        assert "error: invalid_request: invalid arguments for 'shout': times" in result[2]
    else:
        assert json.loads(result[1]) == "AA"


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (
            ["calculator", "--kind", "plugin"],
            "hint: 'calculator' exists as tool: call it with --kind tool, or leave --kind out",
        ),
        (
            ["docs", "--kind", "tool", "--arg", "query=x"],
            "hint: 'docs' exists as rag: call it with --kind rag, or leave --kind out",
        ),
        (["notes"], "hint: name one of its actions as TARGET, e.g. toolware call notes.add"),
        (
            ["notes", "--kind", "tool"],
            "hint: 'notes' is a plugin: call one of its actions, e.g. toolware call notes.add",
        ),
        (["calculater"], "hint: did you mean 'calculator'?"),
    ],
)
def test_not_found_hints_use_the_command_line_syntax(
    argv: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong --kind is answered with --kind, a plugin without action with plugin.action."""
    code, _, err = _call(capsys, *argv)
    assert code == 1
    assert hint in err.splitlines()
    assert "kind='" not in err


# -- real processes ---------------------------------------------------------------------


def test_timed_out_sync_tool_does_not_hold_the_process(app: str, tmp_path: Path) -> None:
    """A 5 s blocking tool with --timeout 0.2: the error is printed and the process ends,
    without waiting for the worker thread (the bound is far below the tool's 5 s)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolware.cli",
            "call",
            "nap",
            f"--app={app}:registry",
            "--timeout=0.2",
        ],
        capture_output=True,
        text=True,
        timeout=4,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: timeout: 'nap' did not complete")
    assert result.stdout == ""


ZERO = ("--arg", "seconds=0")


def test_finished_call_exits_normally_in_a_real_process(app: str, tmp_path: Path) -> None:
    """A sync call that finished leaves no thread behind; exit status and output as usual."""
    result = subprocess.run(
        [sys.executable, "-m", "toolware.cli.main", "call", "nap", f"--app={app}:registry", *ZERO],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=tmp_path,
    )
    assert (result.returncode, json.loads(result.stdout), result.stderr) == (0, "awake", "")
