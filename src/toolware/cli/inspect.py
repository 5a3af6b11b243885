"""``toolware inspect``: print a built pipeline as a tree, a Mermaid flowchart or Graphviz DOT.

    toolware inspect [--app module:pipeline] [--format text|mermaid|dot]

``--app`` names a pipeline, a function of no arguments returning one, or a registry (then the
default pipeline over it), as :func:`toolware.cli.inputs.load_pipeline` loads them. The output
is plain text, never highlighted, so it can be pasted into docs or piped to ``dot -Tsvg``.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.text import Text

from toolware.cli.inputs import DEFAULT_APP, load_pipeline
from toolware.error_codes import EXIT_OK
from toolware.inspection import describe_pipeline, to_dot, to_mermaid, to_text

__all__ = ["FORMATS", "register"]

FORMATS = {"text": to_text, "mermaid": to_mermaid, "dot": to_dot}


def register(commands: Any) -> None:
    """Add the ``inspect`` subcommand to ``commands`` (argparse subparsers)."""
    parser = commands.add_parser(
        "inspect", help="print a pipeline's stages, terminal and entries (tree, Mermaid, DOT)"
    )
    parser.add_argument(
        "--app",
        default=DEFAULT_APP,
        help="the pipeline, as module:attribute: a Pipeline, a function of no arguments "
        f"returning one, or a registry for its default pipeline (default: {DEFAULT_APP})",
    )
    parser.add_argument("--format", choices=sorted(FORMATS), default="text", help="default: text")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Print the pipeline ``--app`` names in ``--format``."""
    pipeline = load_pipeline(args.app)
    try:
        text = FORMATS[args.format](describe_pipeline(pipeline))
    finally:
        pipeline.close()  # its worker pool, if any: this command never calls it
    out.print(Text(text.rstrip("\n")), soft_wrap=True, highlight=False, markup=False)
    return EXIT_OK
