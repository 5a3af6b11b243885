"""Terminal output: rich tables and colours on a terminal, plain text when piped.

Plain output has no ANSI escapes and no box drawing: tables are space aligned, JSON is written
as is, so ``toolware list | grep`` and ``toolware call ... | jq`` work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.json import JSON
from rich.table import Table
from rich.text import Text

from toolware.encoding import to_json
from toolware.errors import ToolwareError
from toolware.registry.base import EntryDescription

__all__ = [
    "PLAIN_WIDTH",
    "category_style",
    "chunk_label",
    "heading",
    "make_console",
    "new_table",
    "render_entries",
    "render_error",
    "schema_lines",
    "write_chunk",
    "write_json",
    "write_json_line",
]

PLAIN_WIDTH = 120

_STYLES = {
    "ok": "green",
    "invalid_request": "yellow",
    "not_found": "yellow",
    "timeout": "magenta",
    "tool_failed": "red",
    "internal": "bold red",
}


def make_console(file: IO[str], *, terminal: bool) -> Console:
    """A console for ``file``: rich when ``terminal``, otherwise plain and ``PLAIN_WIDTH`` wide."""
    if terminal:
        return Console(file=file, force_terminal=True, highlight=False, emoji=False)
    return Console(
        file=file,
        force_terminal=False,
        color_system=None,
        no_color=True,
        highlight=False,
        emoji=False,
        width=PLAIN_WIDTH,
        soft_wrap=True,
    )


def category_style(category: str | None) -> str:
    """The colour for an outcome: ``None`` is success."""
    return _STYLES.get(category or "ok", "red")


def new_table(console: Console, *headers: str, title: str | None = None) -> Table:
    """A table with a box on a terminal and none (space aligned, no edges) in plain output."""
    if console.is_terminal:
        return Table(*headers, title=title, box=box.ROUNDED, header_style="bold cyan")
    return Table(*headers, title=title, box=None, pad_edge=False, header_style="")


def heading(console: Console, text: str) -> None:
    """A section heading: a rule on a terminal, ``== text ==`` in plain output."""
    if console.is_terminal:
        console.rule(Text(text, style="bold"))
    else:
        console.print(Text(f"== {text} =="))


def write_json(console: Console, value: Any) -> None:
    """``value`` as indented JSON: highlighted on a terminal, verbatim otherwise."""
    text = to_json(value, indent=2)
    if console.is_terminal:
        console.print_json(text)
    else:
        console.file.write(text + "\n")
        console.file.flush()


def write_chunk(console: Console, chunk: Any) -> None:
    """One chunk of a stream as one line of compact JSON: highlighted on a terminal, verbatim
    (so a JSON Lines document) otherwise; written and flushed at once, as it arrives."""
    text = to_json(chunk)
    if console.is_terminal:
        console.print(JSON(text, indent=None), soft_wrap=True)
        console.file.flush()
    else:
        write_json_line(console, chunk)


def write_json_line(console: Console, value: Any) -> None:
    """``value`` as one line of compact JSON, never highlighted, flushed (JSON Lines)."""
    console.file.write(to_json(value) + "\n")
    console.file.flush()


def render_error(console: Console, error: ToolwareError, *, hint: str | None = None) -> None:
    """Category, message, hint (``hint`` replaces the error's own), and the bad fields."""
    data = error.to_dict()
    style = category_style(error.category.value)
    line = Text()
    line.append("error: ", style="bold red")
    line.append(error.category.value, style=style)
    line.append(f": {error.message}")
    console.print(line)
    for field in data.get("fields") or ():
        expected = f" (expected {field['expected']})" if field.get("expected") else ""
        console.print(Text(f"  {field['field']}: {field['problem']}{expected}"))
    hint = hint or error.hint
    if hint:
        console.print(Text(f"hint: {hint}", style="dim"))


def schema_lines(schema: Mapping[str, Any]) -> list[str]:
    """One ``name: type = default`` line per parameter; optional ones end in ``?``."""
    required = set(schema.get("required", ()))
    lines = []
    for name, spec in (schema.get("properties") or {}).items():
        marker = "" if name in required else "?"
        default = f" = {to_json(spec['default'])}" if "default" in spec else ""
        lines.append(f"{name}{marker}: {_type_text(spec)}{default}")
    if schema.get("additionalProperties") not in (False, None):
        lines.append("**extra: any")
    return lines


def _type_text(spec: Mapping[str, Any]) -> str:
    if "enum" in spec:
        return "|".join(to_json(value) for value in spec["enum"])
    if "anyOf" in spec:
        return " | ".join(_type_text(option) for option in spec["anyOf"])
    if "$ref" in spec:
        return str(spec["$ref"]).rpartition("/")[2]
    kind = str(spec.get("type", "any"))
    if kind == "array":
        return f"array[{_type_text(spec.get('items') or {})}]"
    return kind


def chunk_label(description: EntryDescription) -> str:
    """What a streaming entry streams: its chunk type's title (``Section``) or JSON type
    (``integer``), ``any`` when undeclared; ``-`` for an entry that does not stream."""
    if not description.streaming:
        return "-"
    schema = description.chunk_schema
    if not schema:
        return "any"
    title = schema.get("title")
    return str(title) if title and schema.get("type") == "object" else _type_text(schema)


def render_entries(console: Console, descriptions: Iterable[EntryDescription]) -> None:
    """The entries of a registry: kind, name(.action), description, arguments, and what it
    streams (the chunk type; ``-`` for an entry answering with one value).

    Plain output is one tab-separated line per entry, after a header line, for ``cut``/``grep``.
    """
    rows = [
        (
            d.kind.value,
            d.qualified_name,
            d.description or "-",
            schema_lines(d.args_schema),
            chunk_label(d),
        )
        for d in descriptions
    ]
    if not console.is_terminal:
        lines = ["kind\tname\tdescription\targuments\tstreams"]
        lines.extend(
            "\t".join((kind, name, description, "; ".join(arguments) or "-", streams))
            for kind, name, description, arguments, streams in rows
        )
        console.file.write("\n".join(lines) + "\n")
        console.file.flush()
        return
    table = new_table(console, "kind", "name", "description", "arguments", "streams")
    for kind, name, description, arguments, streams in rows:
        table.add_row(
            Text(kind),
            Text(name, style="bold"),
            Text(description),
            Text("\n".join(arguments)),
            Text(streams, style="dim" if streams == "-" else "cyan"),
        )
    console.print(table)
