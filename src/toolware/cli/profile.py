"""``toolware profile``: per-stage self time of a pipeline over N calls, as a table.

    toolware profile --target NAME [--app module:pipeline] [--calls N] [--kind K]
                     [--arg k=v ...] [--json]

``--app`` names a built pipeline, a function returning one, or a registry (then the default
pipeline, as ``toolware call`` uses); see :func:`toolware.cli.inputs.load_pipeline`. The calls
run one after another through a profiled copy (:func:`toolware.profiler.profile`); ``--json``
prints the report as JSON. Exit status: 0, or 1 when every call failed (the figures are still
printed: they show where the failure was decided), 2 usage errors.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from rich.console import Console
from rich.text import Text

from toolware.cli.inputs import DEFAULT_APP, load_pipeline, merge_arguments
from toolware.cli.render import write_json
from toolware.context import Kind
from toolware.error_codes import EXIT_CALL_FAILED, EXIT_OK
from toolware.pipeline import Pipeline
from toolware.profiler import ProfileReport, profile

__all__ = ["register", "run"]


def _calls(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, e.g. 1000; got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def register(commands: Any) -> None:
    """Add the ``profile`` subcommand to ``commands`` (argparse subparsers)."""
    parser = commands.add_parser("profile", help="per-interceptor self time over N calls")
    parser.add_argument("--target", required=True, help="an entry name, or plugin.action")
    parser.add_argument(
        "--app",
        default=DEFAULT_APP,
        help=f"a pipeline (or a registry) as module:attribute (default: {DEFAULT_APP})",
    )
    parser.add_argument("--calls", type=_calls, default=100, metavar="N", help="default: 100")
    parser.add_argument("--kind", choices=[k.value for k in Kind], default=Kind.TOOL.value)
    parser.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an argument; VALUE is parsed as JSON when it is valid JSON, else taken as text",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Profile the calls and print the report."""
    pipeline = load_pipeline(args.app)
    arguments = merge_arguments(args.arg, None)
    report = asyncio.run(_profile(pipeline, args.target, arguments, args.calls, Kind(args.kind)))
    if args.json:
        write_json(out, report.to_dict())
    else:
        out.print(Text(report.table()), soft_wrap=True)
    if report.failures == report.calls:
        err.print(
            Text(
                f"toolware profile: all {report.calls} calls to {args.target!r} failed; "
                f"see `toolware call {args.target}` for the error"
            ),
            soft_wrap=True,
        )
        return EXIT_CALL_FAILED
    return EXIT_OK


async def _profile(
    pipeline: Pipeline, target: str, arguments: dict[str, Any], calls: int, kind: Kind
) -> ProfileReport:
    try:
        return await profile(pipeline, target, arguments, calls=calls, kind=kind)
    finally:
        await pipeline.aclose()
