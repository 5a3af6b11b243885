"""Tests for toolware.cli.main: the demo, list and call commands and their exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from toolware.cli.main import main

ANSI = re.compile(r"\x1b\[")
BOX = re.compile(r"[\u2500-\u257f]")


def _call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["call", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- list ------------------------------------------------------------------------------------


def test_list_shows_the_demo_registry_in_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    """Kind, name(.action), description and arguments, tab separated, without escapes."""
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "kind\tname\tdescription\targuments\tstreams"
    assert "plugin\tnotes.add\tStore a note; returns it with its id.\ttext: string; tags?" in out
    assert any(line.startswith("rag\tdocs\t") and "k?: integer = 3" in line for line in lines)
    assert '"kg"|"t"' in out
    assert not ANSI.search(out)
    assert not BOX.search(out)


def test_list_json_has_full_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints every description with its JSON Schema."""
    assert main(["list", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    by_name = {(e["name"], e["action"]): e for e in entries}
    assert by_name[("calculator", None)]["args_schema"]["required"] == ["expression"]
    assert by_name[("notes", "search")]["kind"] == "plugin"
    assert by_name[("fetch_report", None)]["timeout"] == 0.2


def test_list_another_app(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--app module:attribute lists that registry instead."""
    assert main(["list", "--app", f"{app}:registry"]) == 0
    out = capsys.readouterr().out
    assert "tool\techo\tReturn the arguments.\t**extra: any" in out
    assert "calculator" not in out


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("pipeline", "is a Pipeline, expected a Registry"),
        ("number", "is of type int, expected a Registry"),
        ("missing", "has no attribute 'missing'"),
        ("toolware.LocalRegistry", "is the class LocalRegistry, not an instance"),
    ],
)
def test_list_refuses_an_app_that_is_not_a_registry(
    app: str, attribute: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--app must name a registry instance; the error says what was found and expected."""
    assert main(["list", "--app", f"{app}:{attribute}"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.startswith("toolware list: error: --app")
    assert captured.out == ""


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:registry", "cannot import 'no_such_module_xyz'"),
        ("toolware.demo", "must look like 'package.module:attribute'"),
    ],
)
def test_list_refuses_a_bad_app_path(
    spec: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --app that cannot be imported is a usage error (exit 2)."""
    assert main(["list", "--app", spec]) == 2
    assert message in capsys.readouterr().err


def test_app_that_raises_on_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception while importing the app is reported with its type, exit 2."""
    (tmp_path / "cli_broken_app.py").write_text("raise RuntimeError('no config')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["list", "--app", "cli_broken_app:registry"]) == 2
    assert "raised RuntimeError: no config" in capsys.readouterr().err


# -- call ------------------------------------------------------------------------------------


def test_call_prints_the_value_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    """A successful call prints its value as JSON on stdout and exits 0."""
    code, out, err = _call(capsys, "calculator", "--arg", "expression=2 * (3 + 4)")
    assert (code, json.loads(out), err) == (0, 14, "")


def test_call_plugin_as_name_dot_action(capsys: pytest.CaptureFixture[str]) -> None:
    """TARGET may be plugin.action; --action works too (each test has fresh demo notes)."""
    code, out, _ = _call(capsys, "notes.add", "--arg", "text=cli note", "--arg", 'tags=["x"]')
    assert code == 0
    assert json.loads(out)["tags"] == ["x"]
    code, out, _ = _call(capsys, "notes", "--action", "search", "--arg", "query=cli note")
    assert code == 0
    assert [n["text"] for n in json.loads(out)] == ["cli note"]


def test_call_infers_the_kind_of_a_retriever(capsys: pytest.CaptureFixture[str]) -> None:
    """docs is a RAG entry; no --kind needed, k parses as JSON."""
    code, out, _ = _call(capsys, "docs", "--arg", "query=retry backoff jitter", "--arg", "k=1")
    documents = json.loads(out)
    assert code == 0
    assert [d["id"] for d in documents] == ["retries"]


def test_arg_values_are_json_when_valid_else_text(
    app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Numbers, booleans, lists and quoted strings parse as JSON; anything else is text."""
    code, out, _ = _call(
        capsys,
        "echo",
        "--app",
        f"{app}:registry",
        "--kind",
        "tool",
        *("--arg", "n=5", "--arg", "b=true", "--arg", "l=[1, 2]", "--arg", 'q="5"'),
        *("--arg", "s=hello world", "--arg", "e=", "--arg", "eq=a=b"),
    )
    assert code == 0
    assert json.loads(out) == {
        "n": 5,
        "b": True,
        "l": [1, 2],
        "q": "5",
        "s": "hello world",
        "e": "",
        "eq": "a=b",
    }


def test_json_and_arg_merge(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--json gives some arguments and --arg the others."""
    code, out, _ = _call(
        capsys, "echo", "--app", f"{app}:registry", "--kind", "tool",
        "--json", '{"a": {"b": 1}}', "--arg", "c=2",
    )  # fmt: skip
    assert (code, json.loads(out)) == (0, {"a": {"b": 1}, "c": 2})


def test_ambiguous_name_needs_a_kind(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A name that is both a tool and a retriever must be told apart with --kind."""
    code, _, err = _call(capsys, "echo", "--app", f"{app}:registry")
    assert code == 2
    assert "exists as several kinds (rag, tool); choose one with --kind" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["calculator", "--arg", "expression"], "must look like key=value"),
        (["calculator", "--arg", "=5"], "must look like key=value"),
        (["calculator", "--json", "{", "--arg", "a=1"], "--json is not valid JSON"),
        (["calculator", "--json", "[1]"], "--json must be a JSON object, got list"),
        (["calculator", "--json", '{"a": 1}', "--arg", "a=2"], "'a' is given twice"),
        (["calculator", "--arg", "a=1", "--arg", "a=2"], "'a' is given twice"),
        (["notes.add", "--action", "list"], "the action is given twice"),
        (["notes.", "--arg", "a=1"], "must be 'name' or 'plugin.action'"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad --arg, --json or TARGET syntax is a usage error: exit 2, message on stderr."""
    code, out, err = _call(capsys, *argv)
    assert code == 2
    assert message in err
    assert out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["call", "calculator", "--timeout", "-1"],
        ["call", "calculator", "--timeout", "soon"],
        ["call", "calculator", "--kind", "widget"],
        ["fly"],
        [],
    ],
)
def test_argparse_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Options argparse refuses exit 2 with its usage message, without raising SystemExit."""
    assert main(argv) == 2
    assert "usage: toolware" in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help prints the commands and exits 0."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "demo" in out
    assert "call" in out


@pytest.mark.parametrize(
    ("argv", "lines"),
    [
        (
            ["calculator", "--arg", "expression=1 / 0"],
            [
                "error: tool_failed: 'calculator' raised ZeroDivisionError: division by zero",
                "hint: the tool reported an error; check its arguments or its service",
            ],
        ),
        (
            ["calculater", "--arg", "expression=1"],
            [
                "error: not_found: no tool named 'calculater' in registry 'demo'",
                "hint: did you mean 'calculator'?",
            ],
        ),
        (
            ["convert_units", "--arg", "value=1", "--arg", "from_unit=kg", "--arg", "to_unit=st"],
            [
                "error: invalid_request: invalid arguments for 'convert_units': to_unit",
                "hint: fix the arguments named in 'fields' and call again",
            ],
        ),
    ],
)
def test_failed_calls_exit_1_with_category_message_and_hint(
    argv: list[str], lines: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A call that fails prints category, message and hint on stderr and exits 1."""
    code, out, err = _call(capsys, *argv)
    assert code == 1
    assert out == ""
    for line in lines:
        assert line in err.splitlines()
    assert not ANSI.search(err)


def test_invalid_request_lists_the_bad_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """Each bad field is shown with what was expected."""
    _, _, err = _call(capsys, "convert_units", "--json", '{"value": "x"}')
    assert "  value: Input should be a valid number" in err
    assert "  from_unit: Field required" in err


def test_timeout_option_bounds_the_call(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--timeout sets the call's deadline; expiry is a timeout error, exit 1."""
    code, _, err = _call(capsys, "hang", "--app", f"{app}:registry", "--timeout", "0.01")
    assert code == 1
    assert "error: timeout: 'hang' did not complete within the allowed timeout of 0.010s" in err


# -- real processes --------------------------------------------------------------------------


def test_demo_runs_in_a_real_process() -> None:
    """`python -m toolware.cli.main demo` exits 0 with the session and stats, plain when piped."""
    result = subprocess.run(
        [sys.executable, "-m", "toolware.cli.main", "demo"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "== Session ==" in out
    assert '  -> call_5 fetch_report {"quarter": "Q3"}' in out
    assert re.search(
        r"  <- timeout +\d+\.\d ms  \{\"role\": \"tool\", \"tool_call_id\": \"call_5\"", out
    )
    assert "  <- not_found" in out
    assert '  ~  call_13 chunk 1  {"title": "Summary", ' in out
    assert '  ~  call_14 chunk 2  {"id": 102, "item": "monitor arm", "quantity": 5}' in out
    assert re.search(r"  <- timeout +\d+\.\d ms  2 chunk\(s\)  .*idle timeout of 0\.200s", out)
    assert "== Statistics from the stats interceptor ==" in out
    assert re.search(r"calculator +tool +3 +tool_failed=2", out)
    assert not ANSI.search(out)
    assert not BOX.search(out)
    assert result.stderr == ""


def test_failed_call_in_a_real_process() -> None:
    """`python -m toolware.cli call` reports a failure on stderr and exits 1."""
    result = subprocess.run(
        [sys.executable, "-m", "toolware.cli", "call", "calculator", "--arg", "expression=1/0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: tool_failed: ")


# -- demo in process -------------------------------------------------------------------------


def test_demo_command_runs_the_demo_on_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`toolware demo` calls run_demo with a plain console when stdout is not a terminal."""
    seen: list[object] = []
    monkeypatch.setattr("toolware.demo.run_demo", lambda console: seen.append(console))
    assert main(["demo"]) == 0
    (console,) = seen
    assert console.is_terminal is False  # type: ignore[attr-defined]


@pytest.mark.parametrize(("exception", "code"), [(KeyboardInterrupt, 130), (BrokenPipeError, 1)])
def test_interrupt_and_broken_pipe_exit_quietly(
    exception: type[BaseException], code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C exits 130 and a closed pipe (`| head`) exits 1, without a traceback."""

    def interrupted(console: object) -> None:
        raise exception

    monkeypatch.setattr("toolware.demo.run_demo", interrupted)
    assert main(["demo"]) == code
