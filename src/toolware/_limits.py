"""Size limits for everything an error carries out of the process, and the helpers that apply them.

Error messages and ``to_dict()`` must not grow with the input: 200,000 unexpected argument names
once made a 1.7 MB message and 18 MB of JSON, and echoed a secret used as a key. Every call error
passes its text through these helpers in its constructor, so each producer is bounded without
thinking about it; the full detail goes to the log records of the code that rejects the call.

The limits are module constants, read at each use, so an application can change them at start-up
(``toolware._limits.MAX_FIELDS = 50``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_CANDIDATES",
    "MAX_FIELDS",
    "MAX_FIELD_TEXT_CHARS",
    "MAX_ID_CHARS",
    "MAX_MESSAGE_CHARS",
    "MAX_NAME_CHARS",
    "bounded",
    "safe_name",
]

MAX_MESSAGE_CHARS = 1_000
"""Longest ``message`` and ``hint`` of a call error; longer text is cut with a marker."""
MAX_FIELDS = 20
"""Most ``FieldError`` s an ``InvalidRequestError`` keeps; ``fields_omitted`` counts the rest."""
MAX_FIELD_TEXT_CHARS = 300
"""Longest ``field``, ``problem`` and ``expected`` text of one ``FieldError``."""
MAX_CANDIDATES = 3
"""Most close matches a ``NotFoundError`` suggests."""
MAX_NAME_CHARS = 32
"""Longest caller-supplied name (an unexpected argument name) echoed into an error."""
MAX_ID_CHARS = 200
"""Longest ``request_id`` and ``target`` in ``to_dict()``."""


_MARKER = "... [{} more characters]"


def bounded(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters (a limit shorter than the marker gives just
    the marker), ending with a marker saying how much was cut."""
    if len(text) <= limit:
        return text
    # Sized for the largest count it can show, so the result never exceeds the limit.
    keep = max(limit - len(_MARKER.format(len(text))), 0)
    return text[:keep] + _MARKER.format(len(text) - keep)


def safe_name(name: Any, limit: int | None = None) -> str:
    """A caller-supplied name in a form safe to echo: at most ``limit`` characters (default
    :data:`MAX_NAME_CHARS`), control characters escaped, and a marker when it was cut.

    Only the first ``limit`` characters are looked at, so a 16 MB name costs no more than a short
    one. Anything that is not a ``str`` is named by its type: its ``str()`` could be huge or run
    the caller's code.
    """
    if limit is None:
        limit = MAX_NAME_CHARS
    if type(name) is not str:
        if isinstance(name, int) and not isinstance(name, bool) and -(10**18) < name < 10**18:
            return str(int(name))  # list indexes in a location
        return f"<{type(name).__name__}>"
    head = name[:limit]
    if not head.isprintable():
        head = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in head)
    return head + "..." if len(name) > limit else head
