"""Tests for the `toolware profile` command."""

import json

import pytest

from toolware.cli import main as cli_main
from toolware.cli.main import main


@pytest.fixture(autouse=True)
def _command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("toolware.cli.profile",))


def test_profile_prints_a_row_per_stage(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The table has the default pipeline's stages, the router, and the call count."""
    code = main(
        [
            "profile",
            "--app",
            f"{app}:registry",
            "--target",
            "shout",
            "--calls",
            "3",
            "--arg",
            "text=hi",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["stage", "calls", "self", "µs", "mean", "µs", "share"]
    assert [line.split()[:2] for line in lines[1:-1]] == [
        ["stats", "3"],
        ["timeout", "3"],
        ["validation", "3"],
        ["router", "3"],
    ]
    assert lines[-1].startswith("3 calls, ")


def test_profile_json(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the report as data."""
    code = main(
        [
            "profile",
            "--app",
            f"{app}:registry",
            "--target",
            "shout",
            "--calls",
            "2",
            "--arg",
            "text=hi",
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (report["calls"], report["failures"]) == (2, 0)
    assert [row["calls"] for row in report["rows"]] == [2, 2, 2, 2]


def test_all_calls_failing_exits_1(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every call failing still prints the figures, says so, and exits 1."""
    code = main(["profile", "--app", f"{app}:registry", "--target", "missing", "--calls", "2"])
    captured = capsys.readouterr()
    assert code == 1
    assert "all 2 calls to 'missing' failed" in captured.err
    assert captured.out.splitlines()[-1].startswith("2 calls, ")


@pytest.mark.parametrize(("calls", "words"), [("0", "must be >= 1"), ("x", "whole number")])
def test_bad_calls_is_a_usage_error(
    app: str, calls: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--calls takes a whole number >= 1."""
    code = main(["profile", "--app", f"{app}:registry", "--target", "shout", "--calls", calls])
    assert code == 2
    assert words in capsys.readouterr().err


def test_bad_app_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An --app that cannot be imported exits 2 with the reason."""
    assert main(["profile", "--app", "no_such_module_x:p", "--target", "t"]) == 2
    assert "cannot import" in capsys.readouterr().err
