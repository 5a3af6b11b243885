"""``toolware migrate``: rewrite legacy V1 code for toolware (see :mod:`toolware.migrate`).

    toolware migrate PATH... [--write | --check] [--native CLASS ...] [--native-all]
                     [--registry-name NAME] [--pipeline EXPR]

By default prints a unified diff of what would change and writes nothing. ``--write`` saves
the changed files; ``--check`` prints the files that would change (for CI). Always rewritten:
the legacy ``langswarm`` imports. ``--native CLASS`` (repeatable) or ``--native-all`` also
moves classes to the native API: V1 handler classes get a plugin registration on a module
level ``LocalRegistry`` (``--registry-name``, default ``native_registry``), and the
``to_middleware`` calls in their ``async`` methods become ``await <pipeline>.invoke(...)``
(``--pipeline``, default ``self.pipeline``). What could not be rewritten is listed on stderr
as ``path:line: reason`` with the suggested replacement; it does not change the exit status.

Needs libcst (``pip install 'toolware[migrate]'``); without it the command says so and exits 1.
A ``--native`` name that no file defines is refused (exit 2) before anything is written.

Exit status: 0 done (nothing to change, or the diff printed, or the files written); 1 with
``--check`` when a file would change, and in every mode when a file could not be read,
parsed or written (the others are still migrated); 2 usage errors (a path that does not exist, a bad
option, a ``--native`` class found nowhere).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from toolware.error_codes import EXIT_CALL_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from toolware.migrate import MigrationRun

__all__ = ["EXIT_CHANGES", "register", "run"]

EXIT_CHANGES = EXIT_CALL_FAILED
"""``--check`` found a file to change, or a file could not be read or parsed."""


def register(commands: Any) -> None:
    """Add the ``migrate`` subcommand to ``commands`` (argparse subparsers)."""
    parser = commands.add_parser(
        "migrate", help="rewrite legacy V1 (langswarm) code for toolware; prints a diff"
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", type=Path, help="files or folders")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="save the rewritten files")
    mode.add_argument(
        "--check", action="store_true", help="exit 1 when a file would change (for CI)"
    )
    parser.add_argument(
        "--native",
        action="append",
        default=[],
        metavar="CLASS",
        help="move this class to the native API (handler: plugin registration; agent: "
        "to_middleware calls in async methods to pipeline.invoke); repeatable",
    )
    parser.add_argument(
        "--native-all", action="store_true", help="as --native for every class that qualifies"
    )
    parser.add_argument(
        "--registry-name",
        default="native_registry",
        metavar="NAME",
        help="the module-level LocalRegistry the plugins register on (default: native_registry)",
    )
    parser.add_argument(
        "--pipeline",
        default="self.pipeline",
        metavar="EXPR",
        help="the pipeline the rewritten call sites invoke (default: self.pipeline)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Migrate the paths; print the diff, the written files or the check, then the findings."""
    try:
        # Imported here: the command is registered in every `toolware` run, libcst is needed
        # only by this one (the `migrate` extra).
        from toolware.migrate import MigrateOptions, migrate_paths
        from toolware.migrate.runner import WriteFailedError
    except ImportError as exc:  # pragma: no cover - run in a subprocess by the tests
        err.print(Text(f"toolware migrate: {exc}"), soft_wrap=True)
        return EXIT_CALL_FAILED
    try:
        options = MigrateOptions(
            native=frozenset(args.native),
            native_all=args.native_all,
            registry_name=args.registry_name,
            pipeline=args.pipeline,
        )
        result = migrate_paths(args.paths, options)
    except (ValueError, FileNotFoundError) as exc:
        err.print(Text(f"toolware migrate: {exc}"), soft_wrap=True)
        return EXIT_USAGE
    unmatched = result.unmatched(options)
    if unmatched:  # refused before anything is written: a typo would migrate nothing
        err.print(
            Text(
                f"toolware migrate: --native {', '.join(unmatched)}: no class of that name in "
                "the files given; check the spelling, or use --native-all"
            ),
            soft_wrap=True,
        )
        return EXIT_USAGE
    unwritten: dict[str, str] = {}
    if args.write:
        try:
            result.write()
        except WriteFailedError as exc:  # the other files were written
            unwritten = dict(exc.failures)
    for outcome in result.changed:
        if args.check:
            out.print(Text(f"would change: {outcome.path}"), soft_wrap=True)
        elif args.write and outcome.path not in unwritten:
            out.print(Text(f"rewrote: {outcome.path}"), soft_wrap=True)
        elif not args.write:
            out.print(Text(outcome.diff()), end="", soft_wrap=True)
    for path, reason in unwritten.items():
        err.print(Text(f"{path}: not written: {reason}"), soft_wrap=True)
    _report(result, err)
    if result.failed or unwritten or (args.check and result.changed):
        return EXIT_CHANGES
    return EXIT_OK


def _report(result: MigrationRun, err: Console) -> None:
    for outcome in result.failed:
        err.print(Text(f"{outcome.path}: not migrated: {outcome.error}"), soft_wrap=True)
    if result.findings:
        err.print(Text(f"could not rewrite ({len(result.findings)}):"), soft_wrap=True)
        for finding in result.findings:
            err.print(Text(finding.format()), soft_wrap=True)
    err.print(
        Text(
            f"{len(result.files)} files, {len(result.changed)} changed, "
            f"{len(result.findings)} left to do by hand, {len(result.failed)} not parsed"
        ),
        soft_wrap=True,
    )
