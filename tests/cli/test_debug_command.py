"""Tests for toolware.cli.debug: stepping one call from scripted stdin."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path

import pytest

import toolware.cli.main
from toolware.cli.main import main
from toolware.stepper import HELP

HANDLER_APP = """
import toolware


async def answer(request: toolware.RequestContext) -> toolware.ResponseContext:
    return toolware.ResponseContext.success(
        f"{request.kind.value} {request.target} {request.action} {dict(request.arguments)}"
    )


pipeline = toolware.PipelineBuilder(name="bare").route(answer).build()
"""


@pytest.fixture(autouse=True)
def command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the debug command, as the integrator will in COMMAND_MODULES."""
    monkeypatch.setattr(toolware.cli.main, "COMMAND_MODULES", ("toolware.cli.debug",))


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module whose pipeline routes to a plain handler; its name."""
    (tmp_path / "debug_bare_app.py").write_text(textwrap.dedent(HANDLER_APP))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "debug_bare_app", raising=False)
    return "debug_bare_app"


def debug(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: str,
    *argv: str,
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["debug", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def before(number: int, stage: str, deadline: bool) -> str:
    lines = [
        f"stop {number}: before {stage}",
        "  request: tool shout",
        '  arguments: {"text": "hi", "times": 2}',
    ]
    return "\n".join(lines + (["  deadline: in 30.0 s"] if deadline else []))


def after(number: int, stage: str) -> str:
    return f'stop {number}: after {stage}\n  response: ok\n  value: "HIHI"'


def test_stepping_through_every_stop(
    app: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Eight stops for the default pipeline, each followed by the echoed command; then the
    answer as JSON."""
    code, out, err = debug(
        monkeypatch,
        capsys,
        "s\n\nstep\ns\ns\ns\ns\ns\n",
        "shout",
        "--app",
        f"{app}:pipeline",
        "--arg",
        "text=hi",
        "--json",
        '{"times": 2}',
    )
    assert (code, err) == (0, "")
    stops = [
        before(1, "stats", False),
        before(2, "timeout", False),
        before(3, "validation", True),
        before(4, "router", True),
        after(5, "router"),
        after(6, "validation"),
        after(7, "timeout"),
        after(8, "stats"),
    ]
    commands = ["s", "", "step", "s", "s", "s", "s", "s"]
    expected = [HELP]
    for stop, typed in zip(stops, commands, strict=True):
        expected.append(stop + "\ndebug> " + typed)
    expected.append('"HIHI"')
    assert out == "\n".join(expected) + "\n"


def test_quit_cancels_the_call_and_exits_130(
    app: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`q` at the second stop: no answer, the stop named on stderr, exit 130."""
    code, out, err = debug(
        monkeypatch, capsys, "s\nq\n", "shout", "--app", f"{app}:pipeline", "--arg", "text=hi"
    )
    assert code == 130
    assert out.endswith(
        'stop 2: before timeout\n  request: tool shout\n  arguments: {"text": "hi"}\ndebug> q\n'
    )
    assert err == "toolware debug: the call was cancelled at stop 2 (before timeout)\n"


def test_end_of_input_continues_and_a_stream_prints_chunk_by_chunk(
    app: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Empty stdin: one stop, an empty prompt line, then each chunk on its own line."""
    code, out, err = debug(
        monkeypatch, capsys, "", "count", "--app", f"{app}:pipeline", "--arg", "n=2"
    )
    assert (code, err) == (0, "")
    assert out == (
        f"{HELP}\nstop 1: before stats\n  request: tool count\n"
        '  arguments: {"n": 2}\ndebug> \n{"i": 1}\n{"i": 2}\n'
    )


def test_a_stream_that_fails_part_way_exits_1(
    app: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The chunks read stay printed, the error follows on stderr."""
    code, out, err = debug(monkeypatch, capsys, "c\n", "break_after", "--app", f"{app}:pipeline")
    assert code == 1
    assert out.endswith("debug> c\n0\n1\n")
    assert err.startswith("error: tool_failed: 'break_after' raised RuntimeError: feed lost")


def test_a_failed_call_exits_1_with_the_error(
    app: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused call prints its error, category first, as toolware call does."""
    code, _, err = debug(
        monkeypatch, capsys, "c\n", "shout", "--app", f"{app}:pipeline", "--arg", "times=x"
    )
    assert code == 1
    assert err.startswith("error: invalid_request: ")


def test_a_pipeline_routed_to_a_handler_takes_kind_and_action(
    bare: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a registry, TARGET is taken as given; --kind and --action reach the request;
    the stops are the handler's."""
    code, out, err = debug(
        monkeypatch,
        capsys,
        "s\ns\n",
        "notes",
        "--app",
        f"{bare}:pipeline",
        "--kind",
        "plugin",
        "--action",
        "add",
        "--arg",
        "text=3",
    )
    assert (code, err) == (0, "")
    assert "stop 1: before answer\n  request: plugin notes.add\n" in out
    assert "stop 2: after answer\n" in out
    assert out.endswith("\"plugin notes add {'text': 3}\"\n")


def test_a_handler_pipeline_defaults_to_a_tool(
    bare: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --kind the call is a tool call."""
    code, out, _ = debug(monkeypatch, capsys, "c\n", "ping", "--app", f"{bare}:pipeline")
    assert code == 0
    assert out.endswith('"tool ping None {}"\n')


def test_bad_arguments_are_usage_errors(
    app: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed --arg exits 2 before any stop."""
    code, out, err = debug(
        monkeypatch, capsys, "", "shout", "--app", f"{app}:pipeline", "--arg", "oops"
    )
    assert code == 2
    assert out == ""
    assert "must look like key=value" in err


class Terminal(io.StringIO):
    """Stdin that says it is a terminal: what a person types is already on screen."""

    def isatty(self) -> bool:
        return True


def test_typed_commands_are_not_echoed_on_a_terminal(
    bare: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """From a terminal the command is not printed again after the prompt."""
    monkeypatch.setattr(sys, "stdin", Terminal("s\nc\n"))
    assert main(["debug", "ping", "--app", f"{bare}:pipeline"]) == 0
    out = capsys.readouterr().out
    assert "debug> stop 2: after answer\n" in out
    assert out.endswith('debug> "tool ping None {}"\n')
