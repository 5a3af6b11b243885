"""``toolware debug``: step through one call, stopping before and after each stage.

    toolware debug TARGET [--app module:pipeline] [--kind K] [--action A]
                   [--arg k=v ...] [--json '{...}']

Each stop prints the request a stage receives, or the response it returns, then reads one
command from stdin (``debug> ``): ``s``/``step``/an empty line to go on to the next stop,
``c``/``continue`` to run to the end, ``q``/``quit`` to abort the call (it is cancelled and the
command exits 130), ``p``/``print`` to show the stop again. The end of stdin means continue, so
``toolware debug search --arg q=x < /dev/null`` shows the first stop and runs the call.

The answer is printed as ``toolware call`` prints it (a stream chunk by chunk); a failed call
exits 1 with its error on stderr. See :mod:`toolware.stepper` for the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

from toolware.cli.inputs import (
    DEFAULT_APP,
    Target,
    load_pipeline,
    merge_arguments,
    parse_target,
    text_parameters,
)
from toolware.cli.render import render_error, write_chunk, write_json
from toolware.context import Kind
from toolware.error_codes import EXIT_INTERRUPTED, EXIT_OK, exit_status
from toolware.errors import ToolwareError
from toolware.pipeline import Pipeline
from toolware.router import Router
from toolware.stepper import HELP, Stepper, StepResult

__all__ = ["register"]

PROMPT = "debug> "


def register(commands: Any) -> None:
    """Add the ``debug`` subcommand to ``commands`` (argparse subparsers)."""
    parser = commands.add_parser(
        "debug", help="step through one call: stop before and after each stage"
    )
    parser.add_argument("target", metavar="TARGET", help="an entry name, or plugin.action")
    parser.add_argument(
        "--app",
        default=DEFAULT_APP,
        help="the pipeline, as module:attribute: a Pipeline, a function of no arguments "
        f"returning one, or a registry for its default pipeline (default: {DEFAULT_APP})",
    )
    parser.add_argument("--kind", choices=[k.value for k in Kind], help="default: inferred")
    parser.add_argument("--action", help="the plugin action (or write TARGET as plugin.action)")
    parser.add_argument(
        "--arg", action="append", default=[], metavar="KEY=VALUE", help="an argument"
    )
    parser.add_argument("--json", dest="json_arguments", metavar="OBJECT", help="arguments as JSON")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Step through the call ``args`` describe; the exit status."""
    pipeline = load_pipeline(args.app)
    try:
        return asyncio.run(_debug(pipeline, args, out, err))
    finally:
        pipeline.close()


def _target(pipeline: Pipeline, args: argparse.Namespace) -> tuple[Target, frozenset[str]]:
    terminal = pipeline.terminal
    if isinstance(terminal, Router):
        registry = terminal.registry
        target = parse_target(args.target, kind=args.kind, action=args.action, registry=registry)
        return target, text_parameters(registry, target)
    kind = Kind(args.kind) if args.kind is not None else Kind.TOOL
    return Target(args.target, kind, args.action), frozenset()


async def _debug(pipeline: Pipeline, args: argparse.Namespace, out: Console, err: Console) -> int:
    target, text_keys = _target(pipeline, args)
    arguments = merge_arguments(args.arg, args.json_arguments, text_keys=text_keys)

    def show(text: str) -> None:
        out.print(Text(text), soft_wrap=True, highlight=False, markup=False)

    async def prompt() -> str | None:
        out.print(Text(PROMPT), end="", soft_wrap=True, highlight=False, markup=False)
        out.file.flush()
        # A thread, so the event loop keeps running (timers, other tasks) while a person types.
        line: str = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            out.print()  # end the prompt's line
            return None
        line = line.rstrip("\n")
        if not sys.stdin.isatty():  # a script: echo it, so the transcript reads as typed
            out.print(Text(line), soft_wrap=True, highlight=False, markup=False)
        return line

    show(HELP)
    stepper = Stepper(pipeline, prompt=prompt, show=show)
    result = await stepper.invoke(target.name, arguments, kind=target.kind, action=target.action)
    return await _answer(result, out, err)


async def _answer(result: StepResult, out: Console, err: Console) -> int:
    """Print the call's answer (or that it was quit); the exit status."""
    if result.quit_at is not None or result.response is None:
        stop = result.quit_at
        where = "" if stop is None else f" at stop {stop.number} ({stop.moment} {stop.stage})"
        err.print(Text(f"toolware debug: the call was cancelled{where}"), soft_wrap=True)
        return EXIT_INTERRUPTED
    response = result.response
    if response.error is None and response.stream is not None:
        try:
            async with response.stream as chunks:
                async for chunk in chunks:
                    write_chunk(out, chunk)
        except ToolwareError as error:
            response = response.with_error(error)
        else:
            return EXIT_OK
    if response.error is not None:
        render_error(err, response.error)
        return exit_status(response.error)
    write_json(out, response.value)
    return EXIT_OK
