"""Tests for toolware.cli.report: ``toolware report`` from a recorder or a history file."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest

from toolware.cli import main as cli_main
from toolware.cli.main import main
from toolware.testing import FakeClock
from toolware.trends import TrendRecorder

APP = """
from toolware.testing import FakeClock
from toolware.trends import TrendRecorder

clock = FakeClock(start=0.0)
recorder = TrendRecorder(clock=clock)
for calls in (1, 2, 3):
    for _ in range(calls):
        recorder.record("search", 0.001 * calls)
    clock.advance_now(1.0)


def make():
    return recorder


def broken():
    raise RuntimeError("no")


number = 3
"""


@pytest.fixture(autouse=True)
def _report_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the report command, as the integrator will in COMMAND_MODULES."""
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("toolware.cli.report",))


@pytest.fixture
def trends_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module holding a recorder with three seconds of calls; its name."""
    (tmp_path / "trends_app.py").write_text(textwrap.dedent(APP))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "trends_app", raising=False)
    return "trends_app"


def test_json_report_from_a_recorder(trends_app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the report: peak 3/s, objective 5 ms missed at 5 calls/s."""
    code = main(["report", "--app", f"{trends_app}:recorder", "--objective", "0.005", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    (target,) = report["targets"]
    assert (target["target"], target["peak_rate"], target["calls"]) == ("search", 3.0, 6)
    assert target["objective_rate"] == pytest.approx(5.0)
    assert report["percentile"] == 0.99


def test_table_report_from_a_factory_with_limits(
    trends_app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table shows the target, in flight against its limit, and states the methods."""
    code = main(
        ["report", "--app", f"{trends_app}:make", "--objective", "0.005", "--limit", "search=4"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "capacity (objective p99 <= 0.005s)" in out
    assert "search" in out
    assert "0/4" in out
    assert "search: latency = 0 s + 0.001 s per call/s" in out
    assert "trend: least-squares slope of per-minute p99" in out
    assert "objective rate: least-squares line of per-second p99" in out


def test_report_from_a_history_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--from reads msgspec JSON of recorder.history()."""
    clock = FakeClock(start=0.0)
    recorder = TrendRecorder(clock=clock)
    recorder.record("a", 0.1)
    path = tmp_path / "history.json"
    path.write_bytes(msgspec.json.encode(recorder.history()))
    assert main(["report", "--from", str(path), "--objective", "1", "--percentile", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "capacity (objective p50 <= 1s)" in out
    assert "a: too little data: 1 seconds with calls, 3 needed" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--app", "trends_app:number"], "'trends_app:number' is a int: expected a TrendRecorder"),
        (["--app", "trends_app:broken"], "calling it raised RuntimeError"),
        (["--app", "trends_app:missing"], "cannot load it: AttributeError"),
        (["--app", "trends_app:recorder", "--limit", "search"], "--limit takes TARGET=N"),
        (["--app", "trends_app:recorder", "--limit", "=3"], "--limit takes TARGET=N"),
        (["--app", "trends_app:recorder", "--limit", "s=0"], "--limit takes TARGET=N"),
        (["--from", "/nonexistent/h.json"], "cannot read it"),
    ],
)
def test_usage_errors_exit_2(
    trends_app: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad sources and options are usage errors with the reason."""
    assert main(["report", *argv, "--objective", "1"]) == 2
    assert message in capsys.readouterr().err


def test_bad_files_and_objectives_exit_2(
    tmp_path: Path, trends_app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not JSON, or not a history, and a bad objective are usage errors."""
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["report", "--from", str(bad), "--objective", "1"]) == 2
    assert "is not JSON" in capsys.readouterr().err
    bad.write_text('{"at": 1}')
    assert main(["report", "--from", str(bad), "--objective", "1"]) == 2
    assert "is not a trend history" in capsys.readouterr().err
    assert main(["report", "--app", f"{trends_app}:recorder", "--objective", "0"]) == 2
    assert "latency_objective must be a positive" in capsys.readouterr().err
    assert main(["report", "--objective", "1"]) == 2  # --app or --from is required
