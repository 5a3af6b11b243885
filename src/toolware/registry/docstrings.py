"""What a handler's docstring says: its summary, and each parameter's description.

Three common styles are read::

    Google                     NumPy                        Sphinx
    Args:                      Parameters                   :param text: the text
        text (str): the text   ----------                   :param int k: how many
        k: how many            text : str
                                   the text

The summary (the entry's description) is the first paragraph, stopping at a section header
even without a blank line before it, so an ``Args:`` block never leaks into a description.
Parsing is forgiving: anything it does not recognise is ignored, never an error.
"""

from __future__ import annotations

import inspect
import re

__all__ = ["parameter_docs", "summary"]

_GOOGLE_HEADER = re.compile(
    r"(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Kwargs|Other Parameters)"
    r"\s*:\s*"
)
_GOOGLE_ITEM = re.compile(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")
_NUMPY_HEADERS = frozenset({"Parameters", "Other Parameters", "Keyword Arguments"})
_NUMPY_ITEM = re.compile(r"(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?")
_SPHINX_ITEM = re.compile(r":param\s+(?:[^:]*?\s)?\*{0,2}(\w+)\s*:\s*(.*)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_numpy_header(lines: list[str], i: int) -> bool:
    following = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return bool(lines[i].strip()) and len(following) >= 3 and set(following) == {"-"}


def _starts_section(lines: list[str], i: int) -> bool:
    stripped = lines[i].strip()
    return (
        bool(_GOOGLE_HEADER.fullmatch(stripped))
        or stripped.startswith(":")
        or _is_numpy_header(lines, i)
    )


def summary(doc: str | None) -> str:
    """The first paragraph of ``doc`` on one line, without any section that follows it."""
    if not doc:
        return ""
    lines = inspect.cleandoc(doc).splitlines()
    kept: list[str] = []
    for i, line in enumerate(lines):
        if not line.strip() or _starts_section(lines, i):
            break
        kept.append(line.strip())
    return " ".join(" ".join(kept).split())


def parameter_docs(doc: str | None) -> dict[str, str]:
    """Each documented parameter's description, from Google, NumPy or Sphinx sections."""
    if not doc:
        return {}
    lines = inspect.cleandoc(doc).splitlines()
    found: dict[str, str] = {}
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if _GOOGLE_HEADER.fullmatch(stripped):
            i = _google(lines, i, found)
        elif stripped in _NUMPY_HEADERS and _is_numpy_header(lines, i):
            i = _numpy(lines, i, found)
        elif match := _SPHINX_ITEM.match(stripped):
            i = _sphinx(lines, i, match, found)
        else:
            i += 1
    return {name: " ".join(text.split()) for name, text in found.items() if text.strip()}


def _google(lines: list[str], i: int, found: dict[str, str]) -> int:
    header = _indent(lines[i])
    item_indent: int | None = None
    current: str | None = None
    i += 1
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        indent = _indent(line)
        if indent <= header:
            break  # the next section (or text) at the header's level
        if item_indent is None:
            item_indent = indent
        match = _GOOGLE_ITEM.fullmatch(line.strip()) if indent == item_indent else None
        if match:
            current = match.group(1)
            found.setdefault(current, match.group(2))
        elif current is not None and indent > item_indent:
            found[current] = f"{found[current]} {line.strip()}"
        i += 1
    return i


def _numpy(lines: list[str], i: int, found: dict[str, str]) -> int:
    header = _indent(lines[i])
    names: list[str] = []
    i += 2  # the header and its underline
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if _is_numpy_header(lines, i):
            break
        indent = _indent(line)
        match = _NUMPY_ITEM.fullmatch(line.strip()) if indent <= header else None
        if match:
            names = [name.strip().lstrip("*") for name in match.group(1).split(",")]
            for name in names:
                found.setdefault(name, "")
        elif indent > header:
            for name in names:
                found[name] = f"{found[name]} {line.strip()}"
        else:
            break
        i += 1
    return i


def _sphinx(lines: list[str], i: int, match: re.Match[str], found: dict[str, str]) -> int:
    name, text = match.group(1), match.group(2)
    indent = _indent(lines[i])
    i += 1
    while i < len(lines) and lines[i].strip() and _indent(lines[i]) > indent:
        text = f"{text} {lines[i].strip()}"
        i += 1
    found.setdefault(name, text)
    return i
