"""Run the rewrites over files: a unified diff, the rewritten files, or a check for CI.

Each file is parsed once with libcst and passed through the rewrites in order (imports, then
handler classes, then call sites); formatting and comments are kept because libcst prints
what it does not change byte for byte. A file that cannot be read or parsed is reported and
skipped, never fatal to the run.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import libcst as cst
import msgspec

from toolware.migrate import call_sites, handlers, imports
from toolware.migrate._lines import line_map
from toolware.migrate.findings import Finding
from toolware.migrate.options import MigrateOptions

__all__ = [
    "FileOutcome",
    "MigrationRun",
    "WriteFailedError",
    "migrate_paths",
    "migrate_source",
    "python_files",
]

logger = logging.getLogger("toolware.migrate")

Rewrite = Callable[[cst.Module, str, MigrateOptions], tuple[cst.Module, list[Finding]]]
Wanted = Callable[[str, MigrateOptions], bool]
# In order; each with a cheap test on the text that skips a tree walk with nothing to do.
REWRITES: tuple[tuple[Wanted, Rewrite], ...] = (
    (imports.wanted, imports.rewrite),
    (handlers.wanted, handlers.rewrite),
    (call_sites.wanted, call_sites.rewrite),
)


class _ClassNames(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.names.add(node.name.value)


_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "build", "dist"})


class FileOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One file: its text before and after, what was left, or why it was not migrated."""

    path: str
    before: str
    after: str
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    classes: frozenset[str] = frozenset()
    """The names of the classes the file defines (for ``--native`` names that match none)."""

    @property
    def changed(self) -> bool:
        """Whether the rewrites changed the text."""
        return self.after != self.before

    def diff(self) -> str:
        """The unified diff from ``before`` to ``after`` (empty when unchanged)."""
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"a/{self.path}",
            tofile=f"b/{self.path}",
        )
        # A last line without a newline gets the marker `patch` and `git apply` expect.
        return "".join(
            line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n"
            for line in lines
        )


class MigrationRun(msgspec.Struct, frozen=True, kw_only=True):
    """Every file of one run, in path order."""

    files: tuple[FileOutcome, ...]

    @property
    def changed(self) -> tuple[FileOutcome, ...]:
        """The files the rewrites change."""
        return tuple(f for f in self.files if f.changed)

    @property
    def failed(self) -> tuple[FileOutcome, ...]:
        """The files that could not be read or parsed."""
        return tuple(f for f in self.files if f.error is not None)

    @property
    def findings(self) -> tuple[Finding, ...]:
        """What no rewrite could do, file by file, line by line."""
        return tuple(finding for f in self.files for finding in f.findings)

    def unmatched(self, options: MigrateOptions) -> list[str]:
        """The ``native`` class names that no file defines (a typo, or the wrong path)."""
        defined = set().union(*(f.classes for f in self.files))
        return sorted(options.native - defined)

    def write(self) -> None:
        """Save every changed file; :class:`WriteFailedError` after trying them all when
        some could not be saved (a read-only file must not stop the others)."""
        failures = []
        for outcome in self.changed:
            try:
                # newline="": the text keeps the line ends it was read with.
                with Path(outcome.path).open("w", encoding="utf-8", newline="") as file:
                    file.write(outcome.after)
            except OSError as exc:
                logger.error(
                    "migrate.write_failed path=%s error=%s",
                    outcome.path,
                    exc,
                    extra={"path": outcome.path},
                )
                failures.append((outcome.path, str(exc)))
                continue
            logger.info("migrate.wrote path=%s", outcome.path, extra={"path": outcome.path})
        if failures:
            raise WriteFailedError(tuple(failures))


class WriteFailedError(OSError):
    """Changed files that could not be saved, as ``(path, reason)`` pairs (the other changed
    files were saved)."""

    def __init__(self, failures: tuple[tuple[str, str], ...]) -> None:
        self.failures = failures
        super().__init__(
            "could not write " + "; ".join(f"{path}: {reason}" for path, reason in failures)
        )


def migrate_source(source: str, path: str, options: MigrateOptions | None = None) -> FileOutcome:
    """Rewrite one module's text; ``path`` names it in findings and diffs."""
    options = options if options is not None else MigrateOptions()
    # libcst drops a byte order mark: keep it aside, or every such file would "change".
    bom = "\ufeff" if source.startswith("\ufeff") else ""
    text = source.removeprefix(bom)
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        logger.warning("migrate.unparsable path=%s line=%s", path, exc.editor_line)
        return FileOutcome(
            path=path,
            before=source,
            after=source,
            error=f"cannot parse line {exc.editor_line}, column {exc.editor_column}: {exc.message}",
        )
    classes = _ClassNames()
    if options.native:  # only to tell a --native name that matches nothing
        module.visit(classes)
    findings: list[Finding] = []
    current = text
    for wanted, rewrite in REWRITES:
        if not wanted(current, options):
            continue
        module, found = rewrite(module, path, options)
        if found:
            # Each rewrite reports lines of its own input; map them back to the user's file.
            to_original = line_map(text, current)
            findings.extend(msgspec.structs.replace(f, line=to_original(f.line)) for f in found)
        current = module.code
    findings.sort(key=lambda f: f.line)
    return FileOutcome(
        path=path,
        before=source,
        after=bom + current,
        findings=tuple(findings),
        classes=frozenset(classes.names),
    )


def python_files(paths: Iterable[Path]) -> list[Path]:
    """The ``.py`` files named or found under ``paths`` (hidden and build folders skipped).

    Raises ``FileNotFoundError`` naming a path that does not exist.
    """
    found: dict[Path, Path] = {}  # resolved path -> the path as the user spelled it
    for path in paths:
        if path.is_file():
            found.setdefault(path.resolve(), path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(
                    d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS
                )
                for name in sorted(files):
                    if name.endswith(".py"):
                        file = Path(root) / name
                        found.setdefault(file.resolve(), file)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}; pass a .py file or a folder")
    return list(found.values())


def migrate_paths(
    paths: Sequence[Path], options: MigrateOptions | None = None, *, write: bool = False
) -> MigrationRun:
    """Migrate every Python file under ``paths``; with ``write``, save the changed ones."""
    outcomes = []
    for path in python_files(paths):
        name = path.as_posix()
        try:
            # newline="" keeps \r\n line ends as they are: libcst preserves them too.
            with path.open(encoding="utf-8", newline="") as file:
                source = file.read()
        except (OSError, UnicodeDecodeError) as exc:
            outcomes.append(
                FileOutcome(path=name, before="", after="", error=f"cannot read: {exc}")
            )
            continue
        outcomes.append(migrate_source(source, name, options))
    run = MigrationRun(files=tuple(outcomes))
    if write:
        run.write()
    return run
