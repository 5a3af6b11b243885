"""The runner: files found, diffs, writes, unparsable files, findings on the user's lines."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from toolware.migrate import Finding, MigrateOptions, migrate_paths, migrate_source
from toolware.migrate.runner import WriteFailedError, python_files

LEGACY = "from langswarm.synapse.registry.tools import ToolRegistry\n"


def test_a_diff_names_both_sides_and_only_changed_lines() -> None:
    """A unified diff with a/ and b/ paths; an unchanged file has an empty diff."""
    outcome = migrate_source("import os\n" + LEGACY, "pkg/m.py")
    assert outcome.changed
    assert outcome.diff() == (
        "--- a/pkg/m.py\n+++ b/pkg/m.py\n@@ -1,2 +1,2 @@\n import os\n"
        "-from langswarm.synapse.registry.tools import ToolRegistry\n"
        "+from toolware.compat.v1 import ToolRegistry\n"
    )
    same = migrate_source("import os\n", "pkg/n.py")
    assert (same.changed, same.diff(), same.findings) == (False, "", ())


def test_an_unparsable_file_is_reported_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """The error names the line; the text is kept as it was; a log record says so."""
    with caplog.at_level(logging.WARNING, logger="toolware.migrate"):
        outcome = migrate_source("import os\nx = = 1\n", "bad.py")
    assert outcome.error is not None
    assert outcome.error.startswith("cannot parse line 2, column 1: parser error: error at 2:6")
    assert (outcome.changed, outcome.after) == (False, "import os\nx = = 1\n")
    assert caplog.messages == ["migrate.unparsable path=bad.py line=2"]


def test_findings_of_later_rewrites_name_the_original_lines() -> None:
    """The handler rewrite inserts lines above; the call site finding keeps its own line."""
    source = (
        "class Notes:\n"
        '    identifier = "notes"\n'
        "    def run(self, payload):\n"
        '        return getattr(self, payload["method"])(**payload["params"])\n'
        "    def add(self, text):\n"
        "        return 1\n"
        "def use(agent):\n"
        '    return agent.to_middleware({"notes": {"method": "add"}})\n'
    )
    outcome = migrate_source(source, "m.py", MigrateOptions(native_all=True))
    assert "@native_registry.plugin(" in outcome.after
    assert [(f.path, f.line) for f in outcome.findings] == [("m.py", 8)]
    assert (
        outcome.findings[0]
        .format()
        .startswith(
            "m.py:8: to_middleware call in a synchronous function (pipeline.invoke is async)\n"
            "    suggested: make the function async"
        )
    )


def test_files_are_found_in_order_skipping_hidden_and_build_folders(tmp_path: Path) -> None:
    """Each folder's files first, sorted; .venv, __pycache__ and build are skipped."""
    for name in ("b.py", "a/z.py", "a/y.txt", ".venv/x.py", "__pycache__/c.py", "build/d.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    listed = python_files([tmp_path, tmp_path / "b.py", tmp_path / "a" / ".." / "a" / "z.py"])
    assert [p.relative_to(tmp_path).as_posix() for p in listed] == ["b.py", "a/z.py"]
    with pytest.raises(FileNotFoundError, match=r"no such file or folder: .*nope"):
        python_files([tmp_path / "nope"])


def test_write_saves_changed_files_and_keeps_line_ends(tmp_path: Path) -> None:
    """Only changed files are written; CRLF stays CRLF; unreadable files are reported."""
    crlf = tmp_path / "crlf.py"
    crlf.write_bytes(b"import os\r\n" + LEGACY.encode().replace(b"\n", b"\r\n"))
    untouched = tmp_path / "plain.py"
    untouched.write_text("import os\n")
    (tmp_path / "latin.py").write_bytes(b"x = '\xe9'\n")
    run = migrate_paths([tmp_path], write=True)
    assert crlf.read_bytes() == b"import os\r\nfrom toolware.compat.v1 import ToolRegistry\r\n"
    assert [f.path for f in run.changed] == [crlf.as_posix()]
    assert [f.path for f in run.failed] == [(tmp_path / "latin.py").as_posix()]
    assert run.failed[0].error is not None
    assert run.failed[0].error.startswith("cannot read: 'utf-8' codec can't decode")
    assert run.findings == ()
    again = migrate_paths([tmp_path])
    assert again.changed == ()


def test_the_run_collects_findings_file_by_file(tmp_path: Path) -> None:
    """``MigrationRun.findings`` lists each file's findings in path order."""
    (tmp_path / "a.py").write_text("from langswarm.core import x\n")
    (tmp_path / "b.py").write_text("\n\nimport langswarm\n")
    run = migrate_paths([tmp_path], MigrateOptions())
    assert [(Path(f.path).name, f.line) for f in run.findings] == [("a.py", 1), ("b.py", 3)]
    assert all(isinstance(f, Finding) for f in run.findings)


def test_a_last_line_without_newline_is_marked_in_the_diff() -> None:
    """The diff applies with ``patch``/``git apply``: the no-newline marker follows the line."""
    outcome = migrate_source(LEGACY.rstrip("\n"), "m.py")
    assert outcome.diff() == (
        "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n"
        "-from langswarm.synapse.registry.tools import ToolRegistry\n"
        "\\ No newline at end of file\n"
        "+from toolware.compat.v1 import ToolRegistry\n"
        "\\ No newline at end of file\n"
    )


def test_native_names_no_file_defines_are_listed(tmp_path: Path) -> None:
    """``unmatched`` names the ``native`` classes found in no file, sorted."""
    (tmp_path / "a.py").write_text("class Agent:\n    class Inner:\n        pass\n")
    options = MigrateOptions(native=frozenset({"Agent", "Inner", "Ghost", "Agnet"}))
    run = migrate_paths([tmp_path], options)
    assert run.files[0].classes == frozenset({"Agent", "Inner"})
    assert run.unmatched(options) == ["Agnet", "Ghost"]


def test_a_byte_order_mark_is_kept() -> None:
    """libcst drops a BOM; the runner puts it back, so such a file is not a change."""
    assert migrate_source("\ufeffx = 1\n", "m.py").changed is False
    outcome = migrate_source("\ufeff" + LEGACY, "m.py")
    assert outcome.after == "\ufefffrom toolware.compat.v1 import ToolRegistry\n"


def test_a_file_that_cannot_be_written_does_not_stop_the_others(tmp_path: Path) -> None:
    """Every other changed file is saved; then one error names each file not written."""
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text(LEGACY)
    second.write_text(LEGACY)
    run = migrate_paths([tmp_path])
    first.unlink()
    first.mkdir()  # the path can no longer be opened for writing
    with pytest.raises(WriteFailedError) as caught:
        run.write()
    assert second.read_text() == "from toolware.compat.v1 import ToolRegistry\n"
    assert [path for path, _ in caught.value.failures] == [first.as_posix()]
    assert caught.value.failures[0][1].startswith("[Errno 21] Is a directory")
    assert str(caught.value) == f"could not write {first.as_posix()}: {caught.value.failures[0][1]}"


def test_write_logs_each_saved_file_by_its_event(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One ``migrate.wrote`` record per changed file, the path as an argument and in ``extra``."""
    (tmp_path / "a.py").write_text(LEGACY)
    (tmp_path / "b.py").write_text("import os\n")
    with caplog.at_level(logging.INFO, logger="toolware.migrate"):
        migrate_paths([tmp_path], write=True)
    written = (tmp_path / "a.py").as_posix()
    assert [(r.msg, r.args, r.getMessage()) for r in caplog.records] == [
        ("migrate.wrote path=%s", (written,), f"migrate.wrote path={written}")
    ]
    assert caplog.records[0].__dict__["path"] == written


def test_files_are_read_and_written_as_utf8_whatever_the_locale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a machine whose locale encoding is ASCII (a C locale, or cp1252 on Windows), a
    non-ASCII file still round-trips: ``Path.open`` resolves a missing encoding through
    ``io.text_encoding``, which here stands for that machine's locale."""
    module = tmp_path / "m.py"
    module.write_bytes(("# café\n" + LEGACY).encode())
    real = io.text_encoding

    def ascii_locale(encoding: str | None, stacklevel: int = 2) -> str:
        return "ascii" if encoding is None else real(encoding, stacklevel)

    monkeypatch.setattr(io, "text_encoding", ascii_locale)
    run = migrate_paths([module], write=True)
    monkeypatch.undo()
    assert run.failed == ()
    assert module.read_bytes() == "# café\nfrom toolware.compat.v1 import ToolRegistry\n".encode()


def test_findings_of_every_rewrite_are_listed_by_line() -> None:
    """A handler finding above an import finding comes first, though it was found later."""
    source = (
        "class Notes:\n"
        '    identifier = "my notes"\n'
        "    def run(self, payload):\n"
        '        return getattr(self, payload["method"])(**payload["params"])\n'
        "from langswarm.core import helper\n"
    )
    outcome = migrate_source(source, "m.py", MigrateOptions(native_all=True))
    assert [(f.line, f.message.split(":")[0]) for f in outcome.findings] == [
        (1, "class Notes"),
        (5, "import from langswarm.core, which has no counterpart in toolware.compat.v1"),
    ]


def test_an_unreadable_file_does_not_stop_the_files_after_it(tmp_path: Path) -> None:
    """The run goes on past a file it cannot decode: the next file is still migrated."""
    (tmp_path / "a_latin.py").write_bytes(b"x = '\xe9'\n")
    (tmp_path / "b.py").write_text(LEGACY)
    run = migrate_paths([tmp_path])
    assert [(Path(f.path).name, f.error is None, f.changed) for f in run.files] == [
        ("a_latin.py", False, False),
        ("b.py", True, True),
    ]
    assert (run.files[0].before, run.files[0].after) == ("", "")
