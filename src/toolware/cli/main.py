"""``toolware``: run the demo, list a registry's entries, call one through the default pipeline.

    toolware demo
    toolware list [--app module:attr] [--json]
    toolware call TARGET [--app module:attr] [--kind tool|plugin|rag] [--action A]
                  [--arg k=v ...] [--json '{...}'] [--timeout S] [--strict] [--jsonl]
    toolware profile --target NAME [--app module:pipeline] [--calls N] [--arg k=v ...] [--json]
    toolware inspect [--app module:pipeline] [--format text|mermaid|dot]
    toolware debug TARGET [--app module:pipeline] [--arg k=v ...] [--json '{...}']
    toolware report --app module:recorder [--objective S] [--json]
    toolware migrate PATH... [--write | --check] [--native CLASS ...] [--native-all]
    toolware mcp serve [--app module:attr] [--transport stdio|http] [--host H] [--port P]

A call to a streaming entry prints each chunk as it arrives, one line per chunk; when the
stream fails part way, the chunks already printed stay and the error follows on stderr, as for
any failed call. ``--jsonl`` prints JSON Lines (one compact document per line, never
highlighted) for a streamed or a plain result alike.

Exit status: 0 success, 1 the call failed (category, message and hint on stderr), 2 usage
errors (bad options, --arg syntax, an --app that is not a registry), 130 interrupted (an open
stream is closed first).

This module needs ``rich`` (the ``cli`` extra); the console script is :func:`toolware.cli.run`,
which checks for it first.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from toolware import __version__
from toolware.cli.inputs import (
    DEFAULT_APP,
    Target,
    UsageError,
    load_registry,
    merge_arguments,
    parse_target,
    text_parameters,
)
from toolware.cli.render import (
    make_console,
    render_entries,
    render_error,
    write_chunk,
    write_json,
    write_json_line,
)
from toolware.context import Kind, ResponseContext
from toolware.defaults import default_pipeline
from toolware.error_codes import (
    EXIT_CALL_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    exit_status,
)
from toolware.errors import ErrorCategory, ToolwareError
from toolware.registry.base import Registry

__all__ = ["build_parser", "cli_hint", "main"]


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, e.g. 2.5; got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toolware",
        description="Composable async interceptor pipelines for agent tool, plugin and RAG calls.",
    )
    parser.add_argument("--version", action="version", version=f"toolware {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="run a scripted agent session through the default pipeline")
    app_help = (
        "the registry, as module:attribute, or a function of no arguments returning one "
        f"(default: {DEFAULT_APP})"
    )

    listing = commands.add_parser("list", help="list a registry's entries and their arguments")
    listing.add_argument("--app", default=DEFAULT_APP, help=app_help)
    listing.add_argument("--json", action="store_true", help="print the descriptions as JSON")

    call = commands.add_parser("call", help="call one entry through default_pipeline(registry)")
    call.add_argument("target", metavar="TARGET", help="an entry name, or plugin.action")
    call.add_argument("--app", default=DEFAULT_APP, help=app_help)
    call.add_argument("--kind", choices=[k.value for k in Kind], help="default: inferred")
    call.add_argument("--action", help="the plugin action (or write TARGET as plugin.action)")
    call.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an argument; VALUE is kept as text for a string parameter, otherwise parsed as "
        "JSON when it is valid JSON, else taken as text",
    )
    call.add_argument("--json", dest="json_arguments", metavar="OBJECT", help="arguments as JSON")
    call.add_argument("--timeout", type=_positive_seconds, metavar="S", help="deadline in seconds")
    call.add_argument(
        "--strict",
        action="store_true",
        help='strict validation: no conversions such as "3" to 3 for an integer parameter',
    )
    call.add_argument(
        "--jsonl",
        action="store_true",
        help="print the result as JSON Lines: one compact JSON document per line, and one per "
        "chunk, flushed as it arrives, for a streaming entry",
    )
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


COMMAND_MODULES: tuple[str, ...] = (
    "toolware.cli.profile",
    "toolware.cli.inspect",
    "toolware.cli.debug",
    "toolware.cli.report",
    "toolware.cli.migrate",
    "toolware.cli.mcp",
)
"""Commands in modules of their own. Each has ``register(commands)``, which adds its parser to
the subparsers and sets ``handler`` as a default: ``handler(args, out, err) -> exit status``."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    out = make_console(sys.stdout, terminal=sys.stdout.isatty())
    err = make_console(sys.stderr, terminal=sys.stderr.isatty())
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help already
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        handler = getattr(args, "handler", None)
        if handler is not None:
            status: int = handler(args, out, err)
            return status
        if args.command == "demo":
            return _demo(out)
        if args.command == "list":
            return _list(out, load_registry(args.app), as_json=args.json)
        return _call(out, err, args)
    except UsageError as exc:
        err.print(Text(f"toolware {args.command}: error: {exc}"), soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `toolware demo | head`: stop quietly
        _silence_stdout()
        return EXIT_CALL_FAILED


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):  # not a real file (captured in tests): nothing to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def _demo(out: Console) -> int:
    from toolware.demo import run_demo  # imported on demand: it builds the demo registry

    run_demo(out)
    return EXIT_OK


def _list(out: Console, registry: Registry, *, as_json: bool) -> int:
    descriptions = registry.list()
    if as_json:
        write_json(out, [d.to_dict() for d in descriptions])
    else:
        render_entries(out, descriptions)
    return EXIT_OK


def _call(out: Console, err: Console, args: argparse.Namespace) -> int:
    registry = load_registry(args.app)
    target = parse_target(args.target, kind=args.kind, action=args.action, registry=registry)
    arguments = merge_arguments(
        args.arg, args.json_arguments, text_keys=text_parameters(registry, target)
    )

    def show(chunk: Any) -> None:
        if args.jsonl:
            write_json_line(out, chunk)
        else:
            write_chunk(out, chunk)

    response = asyncio.run(
        _invoke(registry, target, arguments, args.timeout, args.strict, on_chunk=show)
    )
    if response.error is not None:
        render_error(err, response.error, hint=cli_hint(registry, target, response.error))
        return exit_status(response.error)
    if response.stream is None:  # a streamed result was printed as it arrived
        if args.jsonl:
            write_json_line(out, response.value)
        else:
            write_json(out, response.value)
    return EXIT_OK


def cli_hint(registry: Registry, target: Target, error: ToolwareError) -> str | None:
    """A hint for a miss in the command line's terms (``--kind rag``, ``notes.add``), when the
    entry exists under another kind or is a plugin called without an action; else ``None``."""
    if error.category is not ErrorCategory.NOT_FOUND:
        return None
    entries = registry.list()
    whole = target.name if target.action is None else f"{target.name}.{target.action}"
    if target.kind is Kind.PLUGIN and target.action is None:
        actions = sorted(
            d.qualified_name for d in entries if d.kind is Kind.PLUGIN and d.name == whole
        )
        if actions:
            return f"name one of its actions as TARGET, e.g. toolware call {actions[0]}"
    others = sorted(
        {
            d.kind.value
            for d in entries
            if d.kind is not target.kind and whole in (d.name, d.qualified_name)
        }
    )
    if not others:
        return None
    if others == [Kind.PLUGIN.value] and target.action is None:
        # A plugin is called by action: point at one rather than at a --kind that still fails.
        actions = sorted(d.qualified_name for d in entries if d.name == whole and d.action)
        if actions:
            return (
                f"{whole!r} is a plugin: call one of its actions, e.g. toolware call {actions[0]}"
            )
    kinds = " or ".join(f"--kind {kind}" for kind in others)
    return f"{whole!r} exists as {', '.join(others)}: call it with {kinds}, or leave --kind out"


async def _invoke(
    registry: Registry,
    target: Target,
    arguments: dict[str, Any],
    seconds: float | None,
    strict: bool,
    *,
    on_chunk: Callable[[Any], None],
) -> ResponseContext:
    """Call the target; a stream is read to its end inside the pipeline (a sync generator steps
    in the pipeline's worker threads), each chunk handed to ``on_chunk`` as it arrives.

    A stream that fails part way answers with its error (the chunks are out already); one read
    to the end answers with the stream itself, ended, so the caller knows not to print a value.
    ``async with`` closes the stream however the reading ends: on Ctrl-C, ``asyncio.run``
    cancels this task, and the handler's generator is closed before the process exits 130.
    """
    async with default_pipeline(registry, strict=strict) as pipeline:
        response = await pipeline.invoke(
            target.name, arguments, kind=target.kind, action=target.action, timeout=seconds
        )
        if response.stream is None:
            return response
        try:
            async with response.stream as chunks:
                async for chunk in chunks:
                    on_chunk(chunk)
        except ToolwareError as error:
            return response.with_error(error)
        return response


if __name__ == "__main__":
    from toolware.cli import run

    sys.exit(run())
