"""``toolware migrate`` on the command line: options, modes and exit statuses."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import pytest

from toolware.cli.migrate import EXIT_CHANGES, register, run
from toolware.cli.render import make_console

LEGACY = "from langswarm.core.wrappers.middleware import MiddlewareMixin\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toolware")
    register(parser.add_subparsers())
    return parser


def _run(*argv: str) -> tuple[int, str, str]:
    args = _parser().parse_args(["migrate", *argv])
    out, err = io.StringIO(), io.StringIO()
    status = args.handler(
        args, make_console(out, terminal=False), make_console(err, terminal=False)
    )
    return status, out.getvalue(), err.getvalue()


def test_the_modes_print_a_diff_write_or_check(tmp_path: Path) -> None:
    """Diff by default (nothing written), --check exits 1 and names the file, --write saves."""
    module = tmp_path / "agent.py"
    module.write_text(LEGACY)
    status, out, err = _run(str(module))
    assert status == 0
    assert out.endswith(
        "-from langswarm.core.wrappers.middleware import MiddlewareMixin\n"
        "+from toolware.compat.v1 import MiddlewareMixin\n"
    )
    assert err == "1 files, 1 changed, 0 left to do by hand, 0 not parsed\n"
    assert module.read_text() == LEGACY
    assert _run("--check", str(module))[:2] == (EXIT_CHANGES, f"would change: {module}\n")
    assert _run("--write", str(module))[:2] == (0, f"rewrote: {module}\n")
    assert module.read_text() == "from toolware.compat.v1 import MiddlewareMixin\n"
    assert _run("--check", str(module))[:2] == (0, "")


def test_findings_are_listed_but_do_not_fail_a_check(tmp_path: Path) -> None:
    """What is left by hand goes to stderr; --check still exits 0 when nothing would change."""
    (tmp_path / "old.py").write_text("import json\nfrom langswarm.core.utils import helper\n")
    status, out, err = _run("--check", str(tmp_path))
    assert (status, out) == (0, "")
    assert err.splitlines() == [
        "could not rewrite (1):",
        f"{(tmp_path / 'old.py').as_posix()}:2: import from langswarm.core.utils, which has no "
        "counterpart in toolware.compat.v1",
        "    suggested: import MiddlewareMixin, ToolRegistry, RAGRegistry or PluginRegistry "
        "from toolware.compat.v1",
        "1 files, 0 changed, 1 left to do by hand, 0 not parsed",
    ]


def test_native_options_reach_the_rewrite(tmp_path: Path) -> None:
    """--native CLASS, --registry-name and --pipeline shape the rewritten code."""
    (tmp_path / "bot.py").write_text(
        "class Bot:\n"
        "    async def ask(self):\n"
        '        return self.to_middleware({"a": {"method": "b"}})\n'
        "class Other:\n"
        "    async def ask(self):\n"
        '        return self.to_middleware({"a": {"method": "b"}})\n'
    )
    status, out, _ = _run("--native", "Bot", "--pipeline", "self.pipe", str(tmp_path))
    assert status == 0
    assert out.count('await self.pipe.invoke("a.b", {})') == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing_folder"], "toolware migrate: no such file or folder: missing_folder"),
        (["--native", "not-a-class", "."], "toolware migrate: native must be a Python identifier"),
        (["--registry-name", "1x", "."], "toolware migrate: registry_name must be a Python"),
        (["--pipeline", "self.", "."], "toolware migrate: pipeline must be a Python expression"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    """A path that does not exist or a bad option: exit 2 and one line saying which."""
    monkeypatch.chdir(tmp_path)
    status, out, err = _run(*argv)
    assert (status, out) == (2, "")
    assert err.startswith(message)


def test_a_native_class_found_nowhere_is_refused_before_writing(tmp_path: Path) -> None:
    """A typo in --native: exit 2 naming it, and nothing written even with --write."""
    module = tmp_path / "agent.py"
    module.write_text(LEGACY + "class Agent(MiddlewareMixin):\n    pass\n")
    status, out, err = _run("--write", "--native", "Agnet", "--native", "Agent", str(tmp_path))
    assert (status, out) == (2, "")
    assert err == (
        "toolware migrate: --native Agnet: no class of that name in the files given; check the "
        "spelling, or use --native-all\n"
    )
    assert module.read_text().startswith(LEGACY)


def test_write_and_check_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """The two modes exclude each other: argparse exits 2 saying so."""
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["migrate", "--write", "--check", "."])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_registered_in_the_main_parser_it_runs_through_main(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the integrator registers it in COMMAND_MODULES: `toolware migrate --check` works."""
    from toolware.cli import main as cli_main

    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("toolware.cli.migrate",))
    (tmp_path / "agent.py").write_text(LEGACY)
    assert cli_main.main(["migrate", "--check", str(tmp_path)]) == EXIT_CHANGES
    assert capsys.readouterr().out == f"would change: {(tmp_path / 'agent.py').as_posix()}\n"


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=50, check=False
    )


def test_registering_the_command_does_not_import_libcst() -> None:
    """Every `toolware` run registers the command; only running it needs the migrate extra."""
    done = _python(
        "import sys, argparse\n"
        "from toolware.cli.migrate import register\n"
        "register(argparse.ArgumentParser().add_subparsers())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'libcst'"
        " or m.startswith('toolware.migrate')))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


def test_without_libcst_the_command_names_the_extra() -> None:
    """libcst missing: exit 1 and the pip command, no traceback."""
    done = _python(
        "import sys\n"
        "sys.modules['libcst'] = None  # as if libcst were not installed\n"
        "from toolware.cli import main as cli_main\n"
        "cli_main.COMMAND_MODULES = ('toolware.cli.migrate',)\n"
        "sys.exit(cli_main.main(['migrate', '.']))"
    )
    assert done.returncode == 1
    assert done.stderr == (
        "toolware migrate: toolware.migrate needs libcst: pip install 'toolware[migrate]'\n"
    )


def test_files_that_cannot_be_written_are_named_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The others are written and listed; each unwritten file is named with its reason.
    (The failing write is the runner's own WriteFailedError: a file system that refuses root's
    writes is not portable to set up in a test.)"""
    from toolware.migrate.runner import MigrationRun, WriteFailedError

    good, bad = tmp_path / "a.py", tmp_path / "b.py"
    good.write_text(LEGACY)
    bad.write_text(LEGACY)
    real_write = MigrationRun.write

    def write_all_but_b(self: MigrationRun) -> None:
        real_write(MigrationRun(files=tuple(f for f in self.files if f.path != bad.as_posix())))
        raise WriteFailedError(((bad.as_posix(), "[Errno 30] Read-only file system"),))

    monkeypatch.setattr(MigrationRun, "write", write_all_but_b)
    status, out, err = _run("--write", str(tmp_path))
    assert (status, out) == (EXIT_CHANGES, f"rewrote: {good.as_posix()}\n")
    assert err.splitlines() == [
        f"{bad.as_posix()}: not written: [Errno 30] Read-only file system",
        "2 files, 2 changed, 0 left to do by hand, 0 not parsed",
    ]
    assert good.read_text() == "from toolware.compat.v1 import MiddlewareMixin\n"
    assert bad.read_text() == LEGACY


def _run_on_terminal(*argv: str, width: int = 30) -> tuple[int, str, str]:
    """As ``_run`` on rich terminal consoles ``width`` columns wide (they wrap by default)."""
    args = _parser().parse_args(["migrate", *argv])
    out, err = io.StringIO(), io.StringIO()
    consoles = make_console(out, terminal=True), make_console(err, terminal=True)
    for console in consoles:
        console.width = width
    status = args.handler(args, *consoles)
    return status, out.getvalue(), err.getvalue()


def test_on_a_narrow_terminal_no_line_is_wrapped(tmp_path: Path) -> None:
    """Paths, diff lines and findings stay one line each, so they can be copied and applied."""
    module = tmp_path / "agent.py"
    module.write_text(LEGACY + "from langswarm.core.utils import helper\n")
    (tmp_path / "broken.py").write_text("def oops(:\n")
    broken, name = (tmp_path / "broken.py").as_posix(), module.as_posix()
    report = [
        f"{broken}: not migrated: cannot parse line 1, column 1: parser error: error at 2:0: "
        "expected one of ), *, **, NAME",
        "could not rewrite (1):",
        f"{name}:2: import from langswarm.core.utils, which has no counterpart in "
        "toolware.compat.v1",
        "    suggested: import MiddlewareMixin, ToolRegistry, RAGRegistry or PluginRegistry "
        "from toolware.compat.v1",
        "2 files, 1 changed, 1 left to do by hand, 1 not parsed",
    ]
    status, out, err = _run_on_terminal(str(tmp_path), width=20)
    assert status == EXIT_CHANGES
    assert out == (
        f"--- a/{name}\n+++ b/{name}\n@@ -1,2 +1,2 @@\n"
        "-from langswarm.core.wrappers.middleware import MiddlewareMixin\n"
        "+from toolware.compat.v1 import MiddlewareMixin\n"
        " from langswarm.core.utils import helper\n"
    )
    assert err.splitlines() == report
    assert _run_on_terminal("--check", str(tmp_path))[1] == f"would change: {name}\n"
    assert _run_on_terminal("--write", str(tmp_path))[1] == f"rewrote: {name}\n"


def test_on_a_narrow_terminal_usage_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused option and a --native name found nowhere: one line each on stderr."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("class Agent:\n    pass\n")
    assert _run_on_terminal("--registry-name", "1x", ".") == (
        2,
        "",
        "toolware migrate: registry_name must be a Python identifier, e.g. Notes; got '1x'\n",
    )
    assert _run_on_terminal("--native", "Ghost", "--native", "Agnet", ".") == (
        2,
        "",
        "toolware migrate: --native Agnet, Ghost: no class of that name in the files given; "
        "check the spelling, or use --native-all\n",
    )


def test_libcst_missing_in_process_the_command_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libcst missing (as in a plain install): exit 1 and one line naming the extra."""
    for module in [m for m in sys.modules if m.startswith("toolware.migrate")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "libcst", None)
    assert _run_on_terminal(".", width=20) == (
        1,
        "",
        "toolware migrate: toolware.migrate needs libcst: pip install 'toolware[migrate]'\n",
    )


def test_several_paths_are_migrated_in_the_order_given(tmp_path: Path) -> None:
    """PATH is repeatable: each file named is migrated, in that order."""
    first, second = tmp_path / "b.py", tmp_path / "a.py"
    first.write_text(LEGACY)
    second.write_text(LEGACY)
    assert _run("--check", str(first), str(second))[:2] == (
        EXIT_CHANGES,
        f"would change: {first.as_posix()}\nwould change: {second.as_posix()}\n",
    )


def test_the_help_lists_every_option_with_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """``toolware migrate --help``: the modes, the native options, their metavars and defaults."""
    monkeypatch.setenv("COLUMNS", "200")
    parser = argparse.ArgumentParser(prog="toolware")
    commands = parser.add_subparsers()
    register(commands)
    assert "    migrate   rewrite legacy V1 (langswarm) code for toolware; prints a diff\n" in (
        parser.format_help()
    )
    assert commands.choices["migrate"].format_help() == (
        "usage: toolware migrate [-h] [--write | --check] [--native CLASS] [--native-all] "
        "[--registry-name NAME] [--pipeline EXPR] PATH [PATH ...]\n"
        "\n"
        "positional arguments:\n"
        "  PATH                  files or folders\n"
        "\n"
        "options:\n"
        "  -h, --help            show this help message and exit\n"
        "  --write               save the rewritten files\n"
        "  --check               exit 1 when a file would change (for CI)\n"
        "  --native CLASS        move this class to the native API (handler: plugin "
        "registration; agent: to_middleware calls in async methods to pipeline.invoke); "
        "repeatable\n"
        "  --native-all          as --native for every class that qualifies\n"
        "  --registry-name NAME  the module-level LocalRegistry the plugins register on "
        "(default: native_registry)\n"
        "  --pipeline EXPR       the pipeline the rewritten call sites invoke (default: "
        "self.pipeline)\n"
    )


def test_the_defaults_reach_the_options() -> None:
    """No option given: no class chosen, the default registry name and pipeline."""
    args = _parser().parse_args(["migrate", "."])
    assert (args.paths, args.write, args.check, args.native, args.native_all) == (
        [Path(".")],
        False,
        False,
        [],
        False,
    )
    assert (args.registry_name, args.pipeline, args.handler) == (
        "native_registry",
        "self.pipeline",
        run,
    )
