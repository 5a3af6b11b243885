"""``toolware report``: the capacity summary of a recorded trend history.

    toolware report --app module:recorder --objective S [--percentile P] [--limit T=N] [--json]
    toolware report --from FILE --objective S [...]

``--app`` names a :class:`~toolware.trends.TrendRecorder` (or a function of no arguments
returning one); ``--from`` a JSON file of ``TrendHistory`` (``msgspec.json.encode(
recorder.history())``). Prints :func:`~toolware.trends.capacity_report` as a table, or as JSON
with ``--json``; the methods behind the trend and the objective rate are printed with it.
Exit status 0, or 2 for usage errors (a bad file, an object that is not a recorder).
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.text import Text

from toolware.cli.inputs import UsageError
from toolware.cli.render import new_table, write_json
from toolware.error_codes import EXIT_OK
from toolware.registry._options import import_object
from toolware.trends import CapacityReport, TrendHistory, TrendRecorder, capacity_report

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``report`` subcommand to ``commands`` (argparse subparsers)."""
    parser = commands.add_parser("report", help="print a capacity summary from trend history")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--app", help="a TrendRecorder as module:attribute, or a factory of one")
    source.add_argument("--from", dest="path", metavar="FILE", help="a TrendHistory JSON file")
    parser.add_argument(
        "--objective", type=float, required=True, metavar="S", help="latency objective, seconds"
    )
    parser.add_argument(
        "--percentile", type=float, default=0.99, choices=(0.5, 0.95, 0.99), help="default 0.99"
    )
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="TARGET=N",
        help="a target's concurrency limit, to compare the peak in flight with",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    history = _history(args.app, args.path)
    limits = {}
    for pair in args.limit:
        name, _, count = pair.partition("=")
        if not name or not count.isdigit() or int(count) < 1:
            raise UsageError(f"--limit takes TARGET=N with N a positive integer, got {pair!r}")
        limits[name] = int(count)
    try:
        report = capacity_report(
            history, latency_objective=args.objective, percentile=args.percentile, limits=limits
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        write_json(out, msgspec.to_builtins(report))
    else:
        _render(out, report)
    return EXIT_OK


def _history(app: str | None, path: str | None) -> TrendHistory:
    if path is not None:
        try:
            return msgspec.json.decode(Path(path).read_bytes(), type=TrendHistory)
        except OSError as exc:
            raise UsageError(f"--from {path!r}: cannot read it: {exc.strerror}") from None
        except msgspec.ValidationError as exc:
            raise UsageError(f"--from {path!r} is not a trend history: {exc}") from None
        except msgspec.DecodeError as exc:
            raise UsageError(f"--from {path!r} is not JSON: {exc}") from None
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj = import_object(str(app))
    except Exception as exc:
        raise UsageError(f"--app {app!r}: cannot load it: {type(exc).__name__}: {exc}") from None
    if not isinstance(obj, TrendRecorder) and callable(obj) and not inspect.isclass(obj):
        try:
            obj = obj()
        except Exception as exc:
            raise UsageError(f"--app {app!r}: calling it raised {type(exc).__name__}") from None
    if not isinstance(obj, TrendRecorder):
        raise UsageError(
            f"--app {app!r} is a {type(obj).__name__}: expected a TrendRecorder or a function "
            "of no arguments returning one"
        )
    return obj.history()


def _number(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.4g}{unit}"


def _render(out: Console, report: CapacityReport) -> None:
    p = f"p{round(report.percentile * 100)}"
    table = new_table(
        out,
        "target",
        "calls",
        "peak/s",
        "peak at",
        "mean/s",
        "errors",
        f"{p} trend s/min",
        "in flight",
        "refused",
        "objective missed at /s",
        title=f"capacity (objective {p} <= {report.latency_objective:g}s)",
    )
    for t in report.targets:
        flight = str(t.peak_in_flight)
        if t.in_flight_limit is not None:
            flight += f"/{t.in_flight_limit}"
        table.add_row(
            t.target,
            str(t.calls),
            _number(t.peak_rate),
            _number(t.peak_at),
            _number(t.mean_rate),
            f"{t.error_rate:.1%}",
            _number(t.latency_trend),
            flight,
            f"{t.refused_rate:.1%}",
            _number(t.objective_rate),
        )
    out.print(table)
    for t in report.targets:
        out.print(Text(f"{t.target}: {t.objective_note}"), soft_wrap=True)
    out.print(Text(f"trend: {report.trend_method}"), soft_wrap=True)
    out.print(Text(f"objective rate: {report.objective_method}"), soft_wrap=True)
