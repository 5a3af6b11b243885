"""Commands in modules of their own (COMMAND_MODULES), and load_pipeline for them."""

from __future__ import annotations

import argparse
import sys
import types
from typing import Any

import pytest

from toolware import Pipeline
from toolware.cli import main as cli_main
from toolware.cli.inputs import UsageError, load_pipeline


def test_a_registered_command_runs_through_its_handler(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """register(commands) adds the parser; main() calls its handler and returns its status."""
    module = types.ModuleType("toolware_cli_echo_command")
    seen: list[str] = []

    def handler(args: argparse.Namespace, out: Any, err: Any) -> int:
        seen.append(args.word)
        out.print(f"echo {args.word}")
        return 7

    def register(commands: Any) -> None:
        parser = commands.add_parser("echo", help="say a word back")
        parser.add_argument("word")
        parser.set_defaults(handler=handler)

    module.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", (module.__name__,))
    assert cli_main.main(["echo", "hi"]) == 7
    assert seen == ["hi"]
    assert capsys.readouterr().out == "echo hi\n"
    assert cli_main.main(["list", "--json"]) == 0  # the built-in commands keep working


def test_a_handler_that_raises_a_usage_error_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A UsageError from a command's handler is reported like the built-in commands' ones."""
    module = types.ModuleType("toolware_cli_bad_command")

    def handler(args: argparse.Namespace, out: Any, err: Any) -> int:
        raise UsageError("--app is not a pipeline")

    def register(commands: Any) -> None:
        commands.add_parser("bad").set_defaults(handler=handler)

    module.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", (module.__name__,))
    assert cli_main.main(["bad"]) == 2
    assert "toolware bad: error: --app is not a pipeline" in capsys.readouterr().err


@pytest.mark.parametrize("attribute", ["pipeline", "registry", "make_registry"])
def test_load_pipeline_takes_a_pipeline_a_registry_or_a_factory(app: str, attribute: str) -> None:
    """A Pipeline as it is; a registry or a factory's registry through default_pipeline."""
    pipeline = load_pipeline(f"{app}:{attribute}")
    assert isinstance(pipeline, Pipeline)
    assert pipeline.describe()[:3] == ("stats", "timeout", "validation")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{app}:number", "is of type int; expected a Pipeline"),
        ("{app}:missing", "has no attribute 'missing'"),
        ("nowhere_at_all:x", "cannot import 'nowhere_at_all'"),
        ("no-colon", "must look like 'package.module:attribute'"),
    ],
)
def test_load_pipeline_explains_what_is_wrong(app: str, spec: str, message: str) -> None:
    """Each way of getting --app wrong names the problem."""
    with pytest.raises(UsageError, match=message):
        load_pipeline(spec.format(app=app))


def test_load_pipeline_reports_a_factory_that_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """A factory that raises is a usage error naming the exception, not a traceback."""
    module = types.ModuleType("toolware_cli_factories")

    def broken() -> Pipeline:
        raise RuntimeError("no database")

    module.broken = broken  # type: ignore[attr-defined]
    module.cls = Pipeline  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with pytest.raises(UsageError, match="it raised RuntimeError: no database"):
        load_pipeline(f"{module.__name__}:broken")
    with pytest.raises(UsageError, match="is of type type"):
        load_pipeline(f"{module.__name__}:cls")


def test_load_pipeline_reports_a_module_that_fails_to_import(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import that raises is a usage error naming the exception."""
    (tmp_path / "toolware_cli_broken_module.py").write_text("raise ValueError('half written')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError, match="importing it raised ValueError: half written"):
        load_pipeline("toolware_cli_broken_module:anything")
