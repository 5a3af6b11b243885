"""``toolware migrate`` over a small realistic V1 project, whose own tests pass before and after.

The project (v1_project/, a weather bot) is copied to a temporary folder, its tests run in a
subprocess, the copy is migrated with the command line, and its tests run again.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from toolware.cli.migrate import register
from toolware.cli.render import make_console

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "v1_project"
ROOT = HERE.parent.parent
SNAPSHOTS = HERE / "snapshots"


def _migrate(*argv: str, cwd: Path) -> tuple[int, str, str]:
    """Run ``toolware migrate`` in ``cwd``: (exit status, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="toolware")
    register(parser.add_subparsers())
    args = parser.parse_args(["migrate", *argv])
    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        status = args.handler(
            args, make_console(out, terminal=False), make_console(err, terminal=False)
        )
    finally:
        os.chdir(previous)
    return status, out.getvalue(), err.getvalue()


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "v1_project"
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _run_python(project: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    paths = [project, ROOT / "src", ROOT / "compat" / "langswarm-compat" / "src"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(map(str, paths)),
        "PYTHONDONTWRITEBYTECODE": "1",
        # The project needs no pytest plugin; loading the dev environment's dozen costs seconds.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    return subprocess.run(
        [sys.executable, *argv], cwd=project, env=env, capture_output=True, text=True, timeout=50
    )


def _project_tests(project: Path) -> dict[str, str]:
    """The outcome of each of the project's own tests: {test id: PASSED | FAILED | ERROR}."""
    done = _run_python(project, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA")
    outcomes = dict(
        (test, outcome)
        for outcome, test in re.findall(r"^(PASSED|FAILED|ERROR) (\S+)", done.stdout, re.M)
    )
    assert outcomes, done.stdout + done.stderr
    return outcomes


def test_the_projects_tests_give_the_same_results_before_and_after(tmp_path: Path) -> None:
    """Nine passing tests before; --write; the same nine passing after, on toolware.compat.v1."""
    project = _copy(tmp_path)
    before = _project_tests(project)
    assert len(before) == 9
    assert set(before.values()) == {"PASSED"}
    status, out, _ = _migrate("--write", "v1_project", cwd=tmp_path)
    assert status == 0
    assert out.splitlines() == [
        "rewrote: v1_project/weatherbot/agent.py",
        "rewrote: v1_project/weatherbot/registries.py",
    ]
    text = "".join(p.read_text() for p in project.rglob("*.py"))
    assert "langswarm" not in text
    assert _project_tests(project) == before


def test_the_diff_matches_the_snapshot_and_nothing_is_written() -> None:
    """The default run prints the diff of the legacy imports only, and leaves files alone."""
    before = {p: p.read_bytes() for p in PROJECT.rglob("*.py")}
    status, out, err = _migrate("v1_project", cwd=HERE)
    assert status == 0
    assert out == (SNAPSHOTS / "imports.diff").read_text()
    assert err == "5 files, 2 changed, 0 left to do by hand, 0 not parsed\n"
    assert {p: p.read_bytes() for p in PROJECT.rglob("*.py")} == before


def test_the_native_diff_and_what_is_left_by_hand() -> None:
    """--native-all: plugin registrations, the async call site; the rest listed file:line."""
    status, out, err = _migrate("v1_project/weatherbot", "--native-all", cwd=HERE)
    assert status == 0
    assert out == (SNAPSHOTS / "native.diff").read_text()
    assert err == textwrap.dedent(
        """\
        could not rewrite (3):
        v1_project/weatherbot/agent.py:25: to_middleware input is not one literal action ({"<id>": {"method": "<m>", "params": ...}})
            suggested: one await self.pipeline.invoke("<id>.<method>", <params>) per action
        v1_project/weatherbot/agent.py:29: to_middleware call in a synchronous function (pipeline.invoke is async)
            suggested: make the function async, then: response = await self.pipeline.invoke("notes.add", {"text": text}); status 201 when response.ok, else http_status(response.error)
        v1_project/weatherbot/handlers.py:67: class DocsRAG: its constructor needs arguments
            suggested: after the class: native_registry.plugin(DocsRAG(...), name="docs", include=["query"], description="Searches the help pages")
        4 files, 3 changed, 3 left to do by hand, 0 not parsed
        """  # noqa: E501
    )


def test_native_migration_runs_side_by_side_with_v1(tmp_path: Path) -> None:
    """After --native-all --write the V1 tests still pass, and the native path answers too."""
    project = _copy(tmp_path)
    assert _migrate("--write", "--native-all", "v1_project/weatherbot", cwd=tmp_path)[0] == 0
    # The migrated forecast() invokes self.pipeline: the one V1 test of it now needs one.
    failed = [test for test, outcome in _project_tests(project).items() if outcome != "PASSED"]
    assert failed == ["tests/test_agent.py::test_the_async_front_end_gets_data"]
    script = textwrap.dedent(
        """\
        import asyncio
        from toolware import default_pipeline
        from weatherbot.agent import WeatherAgent
        from weatherbot.handlers import native_registry

        async def main():
            agent = WeatherAgent()
            async with default_pipeline(native_registry) as agent.pipeline:
                print(await agent.forecast("Lisbon"))
                answer = await agent.pipeline.invoke("weather.current", {"city": "Oslo"})
                print(answer.unwrap())
                print(agent.use_tool("weather", "current", {"city": "Oslo"})[0])

        asyncio.run(main())
        """
    )
    done = _run_python(project, "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[20, 21, 18]",
        "{'city': 'Oslo', 'temperature': 4, 'sky': 'cloudy'}",
        "201",
    ]


def test_a_second_run_changes_nothing_and_check_says_so(tmp_path: Path) -> None:
    """Idempotent: after --write, --check finds nothing (exit 0); before, it fails (exit 1)."""
    _copy(tmp_path)
    status, out, _ = _migrate("--check", "--native-all", "v1_project", cwd=tmp_path)
    assert status == 1
    assert out.splitlines() == [
        "would change: v1_project/weatherbot/agent.py",
        "would change: v1_project/weatherbot/handlers.py",
        "would change: v1_project/weatherbot/registries.py",
    ]
    assert _migrate("--write", "--native-all", "v1_project", cwd=tmp_path)[0] == 0
    written = {p: p.read_bytes() for p in tmp_path.rglob("*.py")}
    status, out, _ = _migrate("--check", "--native-all", "v1_project", cwd=tmp_path)
    assert (status, out) == (0, "")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.py")} == written


def test_an_unparsable_file_is_reported_and_the_others_migrated(tmp_path: Path) -> None:
    """A broken module: exit 1, named on stderr; the rest of the project is still rewritten."""
    project = _copy(tmp_path)
    (project / "weatherbot" / "broken.py").write_text("def oops(:\n")
    status, out, err = _migrate("--write", "v1_project", cwd=tmp_path)
    assert status == 1
    assert len(out.splitlines()) == 2
    assert err.splitlines()[0].startswith(
        "v1_project/weatherbot/broken.py: not migrated: cannot parse line"
    )
    assert err.splitlines()[-1] == "6 files, 2 changed, 0 left to do by hand, 1 not parsed"
