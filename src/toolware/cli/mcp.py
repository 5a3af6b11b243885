"""``toolware mcp serve``: a registry, through a pipeline, served as an MCP server.

    toolware mcp serve [--app module:attr] [--transport stdio|http] [--host H] [--port P]
                       [--path /mcp] [--name N] [--tool-names canonical|function]
                       [--rag-prefix P]

``--app`` names a registry (served through ``default_pipeline(registry)``), a built pipeline
that routes to a registry, or a function of no arguments returning either (see
:func:`toolware.cli.inputs.load_pipeline`). On stdio, stdout is the protocol: nothing but
MCP messages is written there, and logs go to stderr. On HTTP the endpoint is
``http://HOST:PORT/mcp`` (streamable HTTP); the address is logged to stderr once bound.
Ends on end of input (stdio) or Ctrl-C; exit status 0, 2 for usage errors, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from toolware.cli.inputs import DEFAULT_APP, UsageError, load_pipeline
from toolware.error_codes import EXIT_OK

if TYPE_CHECKING:
    from toolware.integrations.mcp.server import McpServer

__all__ = ["build_server", "register", "run"]


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a port number, e.g. 8000; got {text!r}"
        ) from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {text!r}")
    return value


def register(commands: Any) -> None:
    """Add the ``mcp`` command, with its ``serve`` subcommand, to ``commands``."""
    parser = commands.add_parser("mcp", help="serve a registry over MCP (Model Context Protocol)")
    actions = parser.add_subparsers(dest="mcp_command", required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help="serve the registry's entries as MCP tools")
    serve.add_argument(
        "--app",
        default=DEFAULT_APP,
        help="a registry or a pipeline routing to one, as module:attribute, or a function of no "
        f"arguments returning one (default: {DEFAULT_APP})",
    )
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP: where to listen")
    serve.add_argument("--port", type=_port, default=8000, help="HTTP: default 8000")
    serve.add_argument("--path", default="/mcp", help="HTTP: the endpoint's path")
    serve.add_argument("--name", default="toolware", help="the server's name in serverInfo")
    serve.add_argument(
        "--tool-names",
        choices=["canonical", "function"],
        default="canonical",
        help="plugin actions as notes.add (canonical) or notes__add (function)",
    )
    serve.add_argument(
        "--rag-prefix", default="", help="a prefix for retrievers' tool names, e.g. rag_"
    )
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Serve until the client leaves (stdio) or the process is interrupted (HTTP)."""
    server = build_server(args)
    _log_to_stderr()
    err.print(
        Text(f"toolware mcp: {len(server.tool_names)} tools over {args.transport}"),
        soft_wrap=True,
    )
    asyncio.run(_serve(server, args))
    return EXIT_OK


def build_server(args: argparse.Namespace) -> McpServer:
    """The server the options describe; :class:`UsageError` for an ``--app`` it cannot serve."""
    try:
        from toolware.integrations.mcp.server import McpServer, ToolNameCollisionError
    except ImportError as exc:  # pragma: no cover - the extra is installed for the tests
        raise UsageError(str(exc)) from None
    if args.transport == "http" and not args.path.startswith("/"):
        raise UsageError(f"--path must start with '/', e.g. /mcp; got {args.path!r}")
    pipeline = load_pipeline(args.app)
    try:
        return McpServer(
            pipeline, name=args.name, tool_names=args.tool_names, rag_prefix=args.rag_prefix
        )
    except (TypeError, ToolNameCollisionError) as exc:
        pipeline.close()
        raise UsageError(f"--app {args.app!r}: {exc}") from None


async def _serve(server: McpServer, args: argparse.Namespace) -> None:
    try:
        if args.transport == "stdio":
            await server.run_stdio()
        else:
            try:
                await server.run_http(args.host, args.port, path=args.path)
            except OSError as exc:  # the address is taken or cannot be bound: change --port
                raise UsageError(str(exc)) from None
    finally:
        await server.pipeline.aclose()


def _log_to_stderr() -> None:
    """toolware's and the SDK's records to stderr (never stdout: on stdio it is the protocol),
    unless the application configured logging already."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
