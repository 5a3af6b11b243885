"""Tests for toolware.cli.render: rich on a terminal, plain text when piped."""

from __future__ import annotations

import io
import json
import re

from toolware import EntryDescription, FieldError, InvalidRequestError, Kind
from toolware.cli.render import (
    chunk_label,
    heading,
    make_console,
    render_entries,
    render_error,
    schema_lines,
    write_chunk,
    write_json,
    write_json_line,
)
from toolware.demo import build_registry

ANSI = re.compile(r"\x1b\[")
BOX = re.compile(r"[\u2500-\u257f]")


def test_schema_lines_summarise_parameters() -> None:
    """Required, optional with default, enum, array, union and $ref parameters read well."""
    schema = {
        "properties": {
            "q": {"type": "string"},
            "k": {"type": "integer", "default": 3},
            "unit": {"enum": ["m", "km"]},
            "tags": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
            "point": {"$ref": "#/$defs/Point"},
            "anything": {},
        },
        "required": ["q", "unit", "point"],
        "additionalProperties": False,
    }
    assert schema_lines(schema) == [
        "q: string",
        "k?: integer = 3",
        'unit: "m"|"km"',
        "tags?: array[string] | null",
        "point: Point",
        "anything?: any",
    ]
    assert schema_lines({"additionalProperties": True}) == ["**extra: any"]


def test_plain_entries_are_tab_separated_without_escapes() -> None:
    """Piped output: one tab-separated line per entry, no ANSI, no box drawing."""
    buffer = io.StringIO()
    render_entries(make_console(buffer, terminal=False), build_registry().list())
    text = buffer.getvalue()
    assert len(text.splitlines()) == 14
    assert "tool\tcalculator\t" in text
    assert not ANSI.search(text)
    assert not BOX.search(text)


def test_terminal_entries_are_a_rich_table() -> None:
    """On a terminal the entries are a coloured table with a box."""
    buffer = io.StringIO()
    render_entries(make_console(buffer, terminal=True), build_registry().list())
    text = buffer.getvalue()
    assert ANSI.search(text)
    assert BOX.search(text)
    assert "notes.search" in text


def test_markup_in_values_is_not_interpreted() -> None:
    """Square brackets in descriptions and types are printed, not treated as rich markup."""
    buffer = io.StringIO()
    console = make_console(buffer, terminal=True)
    render_entries(console, build_registry().list())
    assert "array[string]" in buffer.getvalue()


def test_write_json_plain_is_exact_json() -> None:
    """Piped JSON is indented JSON, nothing else."""
    buffer = io.StringIO()
    write_json(make_console(buffer, terminal=False), {"a": [1, {"b": None}], "s": {"x"}})
    assert json.loads(buffer.getvalue()) == {"a": [1, {"b": None}], "s": ["x"]}
    assert buffer.getvalue().endswith("}\n")


def test_write_json_terminal_is_highlighted() -> None:
    """On a terminal JSON is pretty printed with colours."""
    buffer = io.StringIO()
    write_json(make_console(buffer, terminal=True), {"a": 1})
    assert ANSI.search(buffer.getvalue())


def test_render_error_shows_fields_and_hint() -> None:
    """Category, message, each bad field with what was expected, then the hint."""
    buffer = io.StringIO()
    error = InvalidRequestError(
        "invalid arguments for 'f': x", fields=(FieldError("x", "too small", "integer >= 1"),)
    )
    render_error(make_console(buffer, terminal=False), error)
    assert buffer.getvalue().splitlines() == [
        "error: invalid_request: invalid arguments for 'f': x",
        "  x: too small (expected integer >= 1)",
        "hint: fix the arguments named in 'fields' and call again",
    ]


def test_heading_is_a_rule_only_on_a_terminal() -> None:
    """Plain headings are '== text =='; terminal headings are rules."""
    plain, rich = io.StringIO(), io.StringIO()
    heading(make_console(plain, terminal=False), "Stats")
    heading(make_console(rich, terminal=True), "Stats")
    assert plain.getvalue() == "== Stats ==\n"
    assert BOX.search(rich.getvalue())


class _Flushes(io.StringIO):
    """A file that records what it held at each flush."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []

    def flush(self) -> None:
        self.flushed.append(self.getvalue())


def test_write_chunk_plain_is_one_flushed_json_line() -> None:
    """Piped, each chunk is one compact JSON line, flushed as soon as it is written."""
    buffer = _Flushes()
    console = make_console(buffer, terminal=False)
    write_chunk(console, {"a": [1, 2], "s": {"x"}})
    write_chunk(console, "two")
    assert buffer.getvalue() == '{"a": [1, 2], "s": ["x"]}\n"two"\n'
    assert buffer.flushed[0] == '{"a": [1, 2], "s": ["x"]}\n'


def test_write_chunk_terminal_is_one_highlighted_line() -> None:
    """On a terminal a chunk is highlighted, still on one line, and flushed."""
    buffer = _Flushes()
    write_chunk(make_console(buffer, terminal=True), {"a": 1, "b": [True]})
    text = buffer.getvalue()
    assert ANSI.search(text)
    assert re.sub(r"\x1b\[[0-9;]*m", "", text) == '{"a": 1, "b": [true]}\n'
    assert buffer.flushed[-1] == text


def test_write_json_line_is_never_highlighted() -> None:
    """JSON Lines stay plain on a terminal too, flushed per line."""
    buffer = _Flushes()
    write_json_line(make_console(buffer, terminal=True), {"a": None})
    assert buffer.getvalue() == '{"a": null}\n'
    assert buffer.flushed == ['{"a": null}\n']


def _description(**fields: object) -> EntryDescription:
    return EntryDescription(name="f", kind=Kind.TOOL, **fields)  # type: ignore[arg-type]


def test_chunk_label_names_what_an_entry_streams() -> None:
    """The chunk type's title for an object, its JSON type otherwise, '-' when not streaming."""
    section = {"title": "Section", "type": "object", "properties": {}}
    assert chunk_label(_description(streaming=True, chunk_schema=section)) == "Section"
    assert chunk_label(_description(streaming=True, chunk_schema={"type": "integer"})) == "integer"
    titled_int = {"title": "Count", "type": "integer"}
    assert chunk_label(_description(streaming=True, chunk_schema=titled_int)) == "integer"
    assert chunk_label(_description(streaming=True)) == "any"
    assert chunk_label(_description(chunk_schema={"type": "integer"})) == "-"


def test_terminal_entries_show_the_streams_column() -> None:
    """The rich table has a streams column with the chunk type."""
    buffer = io.StringIO()
    render_entries(make_console(buffer, terminal=True), build_registry().list())
    text = buffer.getvalue()
    assert "streams" in text
    assert "Section" in text
