"""The CLI and the demo behind the ``cli`` extra: the core never imports rich or the demo."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

from toolware.cli import MISSING_EXTRA

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_import_toolware_loads_neither_rich_nor_the_cli_nor_the_demo() -> None:
    """After `import toolware` (and the encoder), sys.modules has no rich, cli or demo module."""
    result = _python(
        "import sys, toolware, toolware.encoding\n"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'rich'"
        " or m.startswith(('toolware.cli', 'toolware.demo'))]\n"
        "print(','.join(sorted(bad)))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_rich_is_only_in_the_cli_extra() -> None:
    """rich is not a core dependency; the `cli` extra brings it."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert not any(d.startswith("rich") for d in project["dependencies"])
    assert project["optional-dependencies"]["cli"] == ["rich>=13.7"]


def test_console_script_is_the_guarded_entry_point() -> None:
    """The `toolware` script runs toolware.cli:run, which checks for the extra first."""
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="toolware")
    assert script.value == "toolware.cli:run"


def test_without_rich_the_cli_says_how_to_install_the_extra() -> None:
    """With rich missing, `toolware list` exits 1 with the pip command and no traceback."""
    result = _python(
        "import sys\n"
        "sys.modules['rich'] = None  # as if rich were not installed\n"
        "from toolware.cli import run\n"
        "sys.exit(run(['list']))"
    )
    assert result.returncode == 1
    assert result.stderr == MISSING_EXTRA
    assert "pip install 'toolware[cli]'" in result.stderr
    assert result.stdout == ""


def test_other_missing_modules_are_not_blamed_on_the_extra() -> None:
    """Only a missing rich gets the install message; another ImportError propagates."""
    result = _python(
        "import sys\n"
        "sys.modules['toolware.cli.inputs'] = None\n"
        "from toolware.cli import run\n"
        "run(['list'])"
    )
    assert result.returncode == 1
    assert "ModuleNotFoundError" in result.stderr
    assert "toolware[cli]" not in result.stderr
