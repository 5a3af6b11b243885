"""Tests for streamed calls in toolware.cli.main: chunks as they arrive, failures, --jsonl."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from toolware.cli import main as cli_main
from toolware.cli.main import main


def _call(capsys: pytest.CaptureFixture[str], app: str, *argv: str) -> tuple[int, str, str]:
    code = main(["call", *argv, "--app", f"{app}:registry"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _events(app: str) -> list[str]:
    events: list[str] = importlib.import_module(app).events
    return events


def test_each_chunk_is_one_line_of_json(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A streaming entry prints one compact JSON line per chunk and exits 0."""
    code, out, err = _call(capsys, app, "count", "--arg", "n=3")
    assert (code, err) == (0, "")
    assert out == '{"i": 1}\n{"i": 2}\n{"i": 3}\n'


def test_a_sync_generator_streams_too(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A sync generator tool's chunks are printed the same way."""
    assert _call(capsys, app, "lines") == (0, '"line 0"\n"line 1"\n', "")


def test_chunks_are_printed_as_they_arrive(
    app: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk is printed before the producer is asked for the next one, then it is closed."""
    printed = cli_main.write_chunk

    def record(console: Any, chunk: Any) -> None:
        _events(app).append(f"print {chunk['i']}")
        printed(console, chunk)

    monkeypatch.setattr(cli_main, "write_chunk", record)
    code, _, _ = _call(capsys, app, "count", "--arg", "n=2")
    assert code == 0
    assert _events(app) == ["produce 1", "print 1", "produce 2", "print 2", "closed"]


def test_a_stream_failing_midway_keeps_its_chunks_then_the_error(
    app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The chunks already received stay on stdout; the error follows on stderr; exit 1."""
    code, out, err = _call(capsys, app, "break_after", "--arg", "n=2")
    assert code == 1
    assert out == "0\n1\n"
    assert err.splitlines() == [
        "error: tool_failed: 'break_after' raised RuntimeError: feed lost after 2 chunk(s)",
        "hint: the tool reported an error; check its arguments or its service",
    ]


def test_an_idle_timeout_midway_is_a_timeout_error(
    app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A producer that goes quiet is cut by its idle timeout: its chunk, then the error."""
    code, out, err = _call(capsys, app, "stall")
    assert (code, out) == (1, "1\n")
    assert err.splitlines()[0] == (
        "error: timeout: 'stall' produced no chunk within its idle timeout of 0.010s "
        "(after 1 chunk(s))"
    )
    assert _events(app) == ["stall closed"]


def test_a_failure_before_the_first_chunk_prints_no_chunk(
    app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stream that fails before its first chunk is an ordinary failed call."""
    code, out, err = _call(capsys, app, "fail_first")
    assert (code, out) == (1, "")
    assert err.startswith(
        "error: tool_failed: 'fail_first' raised ValueError: no data before its first chunk\n"
    )


def test_a_failed_stream_uses_the_exit_status_table(
    app: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exit status of a stream that failed comes from error_codes.exit_status."""
    seen: list[str] = []

    def status(error: Any) -> int:
        seen.append(error.category.value)
        return 7

    monkeypatch.setattr(cli_main, "exit_status", status)
    code, out, _ = _call(capsys, app, "stall")
    assert (code, out, seen) == (7, "1\n", ["timeout"])


def test_jsonl_prints_one_parseable_document_per_line(
    app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--jsonl: every line of a streamed result is a JSON document, one per chunk."""
    code, out, _ = _call(capsys, app, "count", "--arg", "n=3", "--jsonl")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [{"i": 1}, {"i": 2}, {"i": 3}]


def test_jsonl_prints_a_plain_value_on_one_line(
    app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--jsonl prints a plain result compact, on one line, where the default indents it."""
    code, out, _ = _call(capsys, app, "echo", "--kind", "tool", "--arg", "a=[1, 2]", "--jsonl")
    assert (code, out) == (0, '{"a": [1, 2]}\n')
    code, out, _ = _call(capsys, app, "echo", "--kind", "tool", "--arg", "a=[1, 2]")
    assert (code, json.loads(out)) == (0, {"a": [1, 2]})
    assert len(out.splitlines()) > 1


def test_jsonl_failing_midway_keeps_the_chunks(
    app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--jsonl does not change how a failure is reported: lines so far, error on stderr."""
    code, out, err = _call(capsys, app, "break_after", "--arg", "n=1", "--jsonl")
    assert (code, out) == (1, "0\n")
    assert err.startswith("error: tool_failed: 'break_after' raised RuntimeError: feed lost")


def test_interrupt_midway_closes_the_stream_and_exits_130(
    app: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while chunks print: the stream is closed (its finally runs), exit 130."""

    def interrupted(console: Any, chunk: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "write_chunk", interrupted)
    code, out, err = _call(capsys, app, "count", "--arg", "n=5")
    assert (code, out, err) == (130, "", "")
    assert _events(app) == ["produce 1", "closed"]


SIGINT_APP = '''
import asyncio
from collections.abc import AsyncIterator

import toolware

registry = toolware.LocalRegistry("sigint")


@registry.tool
async def endless() -> AsyncIterator[int]:
    """One chunk, then wait for Ctrl-C."""
    try:
        yield 1
        await asyncio.sleep(60)
        yield 2
    finally:
        print("closed", flush=True)
'''


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_ctrl_c_in_a_real_process(tmp_path: Path) -> None:
    """The first chunk is flushed while the stream is open; SIGINT closes it and exits 130."""
    (tmp_path / "cli_sigint_app.py").write_text(textwrap.dedent(SIGINT_APP))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    command = [sys.executable, "-m", "toolware.cli", "call", "endless"]
    with subprocess.Popen(
        [*command, "--app", "cli_sigint_app:registry"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "1\n"  # printed before the stream ended
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert (process.returncode, out, err) == (130, "closed\n", "")


# -- list ------------------------------------------------------------------------------------


def test_list_marks_streaming_entries(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The streams column names the chunk type; '-' for an entry answering with one value."""
    assert main(["list", "--app", f"{app}:registry"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "kind\tname\tdescription\targuments\tstreams"
    assert "tool\tcount\tCount to n, one chunk per number.\tn?: integer = 3\tobject" in lines
    assert "tool\tlines\tA sync generator: n lines.\tn?: integer = 2\tstring" in lines
    assert "tool\tshout\tRepeat the text in capitals.\ttext: string; times?: integer = 1\t-" in (
        lines
    )


def test_list_demo_streams_its_chunk_types(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's streaming tools show their chunk type's title."""
    assert main(["list"]) == 0
    rows = {
        line.split("\t")[1]: line.split("\t")[-1] for line in capsys.readouterr().out.splitlines()
    }
    assert (rows["write_report"], rows["follow_orders"], rows["calculator"]) == (
        "Section",
        "Order",
        "-",
    )


def test_list_json_has_the_streaming_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """--json carries streaming, chunk_schema and the stream timeouts."""
    assert main(["list", "--json"]) == 0
    by_name = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    orders = by_name["follow_orders"]
    assert (orders["streaming"], orders["idle_timeout"], orders["first_chunk_timeout"]) == (
        True,
        0.2,
        None,
    )
    assert orders["chunk_schema"]["required"] == ["id", "item", "quantity"]
    assert by_name["write_report"]["result_schema"]["items"]["title"] == "Section"
    assert (by_name["calculator"]["streaming"], by_name["calculator"]["chunk_schema"]) == (
        False,
        {},
    )
